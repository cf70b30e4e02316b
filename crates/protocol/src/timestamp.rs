//! Protocol timestamps: RFC 3339 in UTC with a literal `Z` (PROTOCOL.md "Encodings").
//!
//! Fractional seconds are accepted on input and kept (nanosecond precision); output is written
//! without a fraction when there is none. Offsets other than `Z` are refused: a message that
//! says "UTC" must not be re-interpreted.

use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// An instant on the UTC time line, as carried in protocol messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// Why a string is not a protocol timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not RFC 3339 date-time syntax.
    #[error("not an RFC 3339 date-time")]
    Syntax,
    /// A valid date-time whose offset is not `Z`.
    #[error("timestamp must be UTC with a 'Z' suffix")]
    NotUtcZ,
}

impl TimestampError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            TimestampError::Syntax => "timestamp_syntax",
            TimestampError::NotUtcZ => "timestamp_not_utc",
        }
    }
}

impl Timestamp {
    /// Parses an RFC 3339 UTC (`…Z`) timestamp.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        // The `time` crate also takes a space between date and time (RFC 3339 §5.6 NOTE);
        // ISO 8601 and the protocol require `T`.
        if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
            return Err(TimestampError::Syntax);
        }
        // RFC 3339 allows a lower-case `z`; the protocol writes `Z` and so do we, but a
        // lower-case one still denotes UTC, so it is accepted.
        if !(s.ends_with('Z') || s.ends_with('z')) {
            return match OffsetDateTime::parse(s, &Rfc3339) {
                Ok(_) => Err(TimestampError::NotUtcZ),
                Err(_) => Err(TimestampError::Syntax),
            };
        }
        OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Timestamp(t.to_offset(UtcOffset::UTC)))
            .map_err(|_| TimestampError::Syntax)
    }

    /// The system clock, read once. Protocol logic never calls this; drivers do.
    pub fn now_utc() -> Self {
        Timestamp(OffsetDateTime::now_utc())
    }

    /// From whole seconds since the Unix epoch.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .map(Timestamp)
    }

    /// From nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(nanos: i128) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(Timestamp)
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// `self − earlier` (negative when `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        self.0 - earlier.0
    }

    /// `self + d`, or `None` outside the representable range.
    pub fn checked_add(self, d: Duration) -> Option<Timestamp> {
        self.0.checked_add(d).map(Timestamp)
    }

    /// `self − d`, or `None` outside the representable range.
    pub fn checked_sub(self, d: Duration) -> Option<Timestamp> {
        self.0.checked_sub(d).map(Timestamp)
    }

    /// The underlying `time` value.
    pub fn as_offset_date_time(self) -> OffsetDateTime {
        self.0
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Timestamp(t.to_offset(UtcOffset::UTC))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rfc3339 formatting of a UTC value always ends in `Z` and only writes a fraction
        // when the value has one. Formatting can fail only for years outside 0..=9999.
        match self.0.format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, TimestampError> {
        Timestamp::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_utc_with_and_without_fraction() {
        let t = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T10:00:00Z");
        let f = Timestamp::parse("2026-11-23T10:00:00.250Z").unwrap();
        assert_eq!(f.since(t), Duration::milliseconds(250));
        assert_eq!(f.to_string(), "2026-11-23T10:00:00.25Z");
    }

    #[test]
    fn refuses_offsets_and_garbage() {
        assert_eq!(
            Timestamp::parse("2026-11-23T10:00:00+01:00"),
            Err(TimestampError::NotUtcZ)
        );
        assert_eq!(
            Timestamp::parse("2026-11-23T10:00:00+00:00"),
            Err(TimestampError::NotUtcZ)
        );
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23 10:00:00Z",
            "2026-13-01T00:00:00Z",
            "Z",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(TimestampError::Syntax), "{bad}");
        }
    }
}
