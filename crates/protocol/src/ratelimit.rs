//! Per-key rate limiting with exponential backoff (seed 002 §4.3.7): by default no more than
//! 10 challenge-response operations per 60-second sliding window per verifier DID.
//!
//! A key over its limit is blocked; every further request while blocked doubles the block
//! (from `base_backoff` up to `max_backoff`), so clients that honour `retry_after` are never
//! punished and clients that hammer are slowed exponentially. Strikes are forgotten after a
//! full quiet window. Memory is bounded: at most `max_tracked` keys; when full, idle keys are
//! dropped first, then the least recently seen.

use crate::timestamp::Timestamp;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use time::Duration;

const SHARDS: usize = 16;

/// Rate limit parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Operations allowed per window.
    pub limit: u32,
    /// Sliding window length.
    pub window: Duration,
    /// First backoff after going over the limit.
    pub base_backoff: Duration,
    /// Backoff ceiling.
    pub max_backoff: Duration,
    /// Most keys tracked at once.
    pub max_tracked: usize,
}

impl Default for RateLimitConfig {
    /// The seed's recommendation: 10 per 60 s, with backoff from 1 s to 15 min.
    fn default() -> Self {
        RateLimitConfig {
            limit: 10,
            window: Duration::seconds(60),
            base_backoff: Duration::seconds(1),
            max_backoff: Duration::minutes(15),
            max_tracked: 100_000,
        }
    }
}

/// A refused operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited; retry after {retry_after}")]
pub struct RateLimited {
    /// How long until a request may succeed.
    pub retry_after: Duration,
    /// Consecutive excesses so far (drives the backoff).
    pub strikes: u32,
}

impl RateLimited {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        "rate_limited"
    }
}

#[derive(Default)]
struct Entry {
    hits: VecDeque<i128>,
    blocked_until: i128,
    strikes: u32,
    last_seen: i128,
}

/// A thread-safe rate limiter keyed by string (verifier DID, credential id, …).
pub struct RateLimiter {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    config: RateLimitConfig,
    per_shard: usize,
}

impl RateLimiter {
    /// A limiter with the given parameters.
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: config.max_tracked.div_ceil(SHARDS).max(1),
            config,
        }
    }

    /// The parameters in force.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    fn backoff(&self, strikes: u32) -> i128 {
        let base = self.config.base_backoff.whole_nanoseconds();
        let max = self.config.max_backoff.whole_nanoseconds();
        let factor = 1i128 << strikes.saturating_sub(1).min(40);
        base.saturating_mul(factor).min(max)
    }

    /// Counts one operation for `key` at `now`, or refuses it.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), RateLimited> {
        let now = now.unix_nanos();
        let window = self.config.window.whole_nanoseconds();
        let shard_index = usize::from(cphar_crypto::sha256(key.as_bytes())[0]) % SHARDS;
        let Some(shard) = self.shards.get(shard_index) else {
            return Err(RateLimited {
                retry_after: self.config.window,
                strikes: 0,
            });
        };
        let mut shard = shard.lock();
        if !shard.contains_key(key) && shard.len() >= self.per_shard {
            make_room(&mut shard, self.per_shard, now, window);
        }
        let entry = shard.entry(key.to_owned()).or_default();
        entry.last_seen = now;
        while entry.hits.front().is_some_and(|&t| t <= now - window) {
            entry.hits.pop_front();
        }
        if entry.strikes > 0 && now >= entry.blocked_until.saturating_add(window) {
            entry.strikes = 0;
        }
        let over_limit = entry.hits.len() >= self.config.limit as usize;
        if now < entry.blocked_until || over_limit {
            entry.strikes = entry.strikes.saturating_add(1);
            let slot_frees = entry.hits.front().map_or(now, |&oldest| oldest + window);
            let blocked_until = (now + self.backoff(entry.strikes)).max(slot_frees);
            entry.blocked_until = entry.blocked_until.max(blocked_until);
            let retry = entry.blocked_until - now;
            return Err(RateLimited {
                retry_after: Duration::nanoseconds(i64::try_from(retry).unwrap_or(i64::MAX)),
                strikes: entry.strikes,
            });
        }
        entry.hits.push_back(now);
        Ok(())
    }
}

/// Drops idle entries; if the shard is still full, the least recently seen one.
fn make_room(shard: &mut HashMap<String, Entry>, capacity: usize, now: i128, window: i128) {
    shard.retain(|_, e| now < e.blocked_until || e.hits.back().is_some_and(|&t| t > now - window));
    if shard.len() < capacity {
        return;
    }
    let oldest = shard
        .iter()
        .min_by_key(|(_, e)| e.last_seen)
        .map(|(k, _)| k.clone());
    if let Some(k) = oldest {
        shard.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_nanos(1_800_000_000_000_000_000 + i128::from(ms) * 1_000_000).unwrap()
    }

    #[test]
    fn ten_per_minute_then_refused_until_a_slot_frees() {
        let rl = RateLimiter::new(RateLimitConfig::default());
        for i in 0..10 {
            assert!(rl.check("did:web:v", t(i * 1000)).is_ok(), "request {i}");
        }
        let err = rl.check("did:web:v", t(10_000)).unwrap_err();
        // The oldest hit (t=0) leaves the window at t=60 s.
        assert_eq!(err.retry_after, Duration::seconds(50));
        assert_eq!(err.strikes, 1);
        // Other verifiers are unaffected.
        assert!(rl.check("did:web:other", t(10_000)).is_ok());
        // A client that waits as told gets through.
        assert!(rl.check("did:web:v", t(60_000)).is_ok());
    }

    #[test]
    fn hammering_while_blocked_backs_off_exponentially() {
        let cfg = RateLimitConfig {
            limit: 1,
            window: Duration::seconds(1),
            ..RateLimitConfig::default()
        };
        let rl = RateLimiter::new(cfg);
        assert!(rl.check("k", t(0)).is_ok());
        let mut last = Duration::ZERO;
        for n in 1..=8 {
            let e = rl.check("k", t(10)).unwrap_err();
            assert_eq!(e.strikes, n);
            assert!(e.retry_after >= last, "backoff never shrinks");
            last = e.retry_after;
        }
        // 2^7 s after eight strikes.
        assert_eq!(last, Duration::seconds(128));
        // Capped.
        for _ in 0..50 {
            let _ = rl.check("k", t(10));
        }
        assert!(rl.check("k", t(10)).unwrap_err().retry_after <= Duration::minutes(15));
    }

    #[test]
    fn memory_is_bounded() {
        let cfg = RateLimitConfig {
            max_tracked: 64,
            ..RateLimitConfig::default()
        };
        let rl = RateLimiter::new(cfg);
        for i in 0..10_000 {
            let _ = rl.check(&format!("did:web:v{i}"), t(i));
        }
        let tracked: usize = rl.shards.iter().map(|s| s.lock().len()).sum();
        assert!(tracked <= 64 + SHARDS, "tracked {tracked}");
    }
}
