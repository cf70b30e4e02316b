//! Replay protection: a nonce cache that remembers every nonce for the skew window
//! (seed 002 §3.2 "Replay protection", §8.3) and refuses reuse.
//!
//! Thread-safe (sharded mutexes) and bounded: when a shard is full of unexpired nonces the
//! cache refuses new ones (`cache_full`) rather than forgetting a live nonce, because
//! forgetting would re-open the replay window. Time is an argument, never read here.

use crate::timestamp::Timestamp;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use time::Duration;

const SHARDS: usize = 16;

/// Why a nonce was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// This nonce was already seen within the window.
    #[error("nonce already used")]
    Replayed,
    /// The cache is full of unexpired nonces; refusing is the safe answer.
    #[error("nonce cache full")]
    CacheFull,
}

impl ReplayError {
    /// Stable machine-readable code.
    pub const fn code(self) -> &'static str {
        match self {
            ReplayError::Replayed => "nonce_replayed",
            ReplayError::CacheFull => "nonce_cache_full",
        }
    }
}

#[derive(Default)]
struct Shard {
    expiry_by_nonce: HashMap<[u8; 32], i128>,
    by_expiry: VecDeque<([u8; 32], i128)>,
}

impl Shard {
    fn prune(&mut self, now: i128) {
        while let Some(&(key, expiry)) = self.by_expiry.front() {
            if expiry > now {
                break;
            }
            self.by_expiry.pop_front();
            if self.expiry_by_nonce.get(&key) == Some(&expiry) {
                self.expiry_by_nonce.remove(&key);
            }
        }
    }
}

/// Remembers nonces for a fixed window.
pub struct NonceCache {
    shards: Vec<Mutex<Shard>>,
    window_nanos: i128,
    per_shard_capacity: usize,
}

impl NonceCache {
    /// A cache remembering each nonce for `window` (use the skew tolerance, or twice it when
    /// challenges may be dated up to one window in the future), holding at most `capacity`.
    pub fn new(window: Duration, capacity: usize) -> Self {
        NonceCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            window_nanos: window.whole_nanoseconds(),
            per_shard_capacity: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// Records `nonce` as used at `now`; refuses it if it was already used in the window.
    pub fn check_and_remember(&self, nonce: &[u8], now: Timestamp) -> Result<(), ReplayError> {
        let key = cphar_crypto::sha256(nonce);
        let now = now.unix_nanos();
        let shard_index = usize::from(key[0]) % SHARDS;
        let Some(shard) = self.shards.get(shard_index) else {
            return Err(ReplayError::CacheFull);
        };
        let mut shard = shard.lock();
        shard.prune(now);
        if shard.expiry_by_nonce.contains_key(&key) {
            return Err(ReplayError::Replayed);
        }
        if shard.expiry_by_nonce.len() >= self.per_shard_capacity {
            return Err(ReplayError::CacheFull);
        }
        let expiry = now.saturating_add(self.window_nanos);
        shard.expiry_by_nonce.insert(key, expiry);
        shard.by_expiry.push_back((key, expiry));
        Ok(())
    }

    /// Number of nonces currently remembered (including any not yet pruned).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expiry_by_nonce.len())
            .sum()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn replay_within_window_is_refused_and_allowed_after() {
        let cache = NonceCache::new(Duration::seconds(300), 1000);
        let nonce = [7u8; 32];
        assert_eq!(cache.check_and_remember(&nonce, t(0)), Ok(()));
        assert_eq!(
            cache.check_and_remember(&nonce, t(1)),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            cache.check_and_remember(&nonce, t(299)),
            Err(ReplayError::Replayed)
        );
        assert_eq!(cache.check_and_remember(&[8u8; 32], t(299)), Ok(()));
        // After the window the timestamp check rejects the old challenge; memory is freed.
        assert_eq!(cache.check_and_remember(&nonce, t(300)), Ok(()));
    }

    #[test]
    fn full_cache_fails_closed_and_recovers_after_expiry() {
        let cache = NonceCache::new(Duration::seconds(10), SHARDS);
        let mut refused = 0;
        for i in 0u32..200 {
            match cache.check_and_remember(&i.to_be_bytes(), t(0)) {
                Ok(()) => {}
                Err(ReplayError::CacheFull) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(refused > 0 && cache.len() <= SHARDS);
        assert_eq!(cache.check_and_remember(&0u32.to_be_bytes(), t(11)), Ok(()));
    }

    #[test]
    fn concurrent_use_accepts_each_nonce_exactly_once() {
        let cache = std::sync::Arc::new(NonceCache::new(Duration::seconds(60), 100_000));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cache, accepted) = (cache.clone(), accepted.clone());
                std::thread::spawn(move || {
                    for i in 0u32..2000 {
                        if cache.check_and_remember(&i.to_le_bytes(), t(0)).is_ok() {
                            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 2000);
    }
}
