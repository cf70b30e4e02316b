//! Instants as this crate takes them from callers ([`UnixTime`]) and their DER forms: the
//! TSTInfo `genTime` (GeneralizedTime with optional fractional seconds, RFC 3161 §2.4.2 DER
//! rules) and the CMS `signingTime` (UTCTime up to 2049, GeneralizedTime after, RFC 5652 §11.3).
//!
//! Nothing here reads a clock: the TSA's trusted time and the verifier's "now" are arguments.

use std::fmt;
use std::time::{Duration, SystemTime};

use der::asn1::{GeneralizedTime, UtcTime};
use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::TsaError;

/// 9999-12-31T23:59:59Z: the last second a four-digit GeneralizedTime year can express.
const MAX_SECS: u64 = 253_402_300_799;
/// 2050-01-01T00:00:00Z: from here on `signingTime` must be a GeneralizedTime.
const UTC_TIME_END: u64 = 2_524_608_000;
/// Fractional digits this crate reads in a genTime (nanosecond resolution).
const MAX_FRACTION_DIGITS: usize = 9;

/// A UTC instant at or after the Unix epoch and no later than 9999-12-31T23:59:59.999999999Z.
///
/// The TSA's trusted clock (SecureTSC/NTS in CC-TSA terms) is read by the caller and handed
/// in as a `UnixTime`; so is the verification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime {
    secs: u64,
    nanos: u32,
}

impl UnixTime {
    /// `secs` seconds and `nanos` nanoseconds after 1970-01-01T00:00:00Z; `None` if `nanos` is
    /// not below 10^9 or the instant is past year 9999.
    #[must_use]
    pub const fn new(secs: u64, nanos: u32) -> Option<Self> {
        if nanos >= 1_000_000_000 || secs > MAX_SECS {
            return None;
        }
        Some(UnixTime { secs, nanos })
    }

    /// Whole seconds after the epoch; `None` past year 9999.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Option<Self> {
        Self::new(secs, 0)
    }

    /// Converts a [`SystemTime`]; `None` before the epoch or past year 9999.
    #[must_use]
    pub fn from_system_time(t: SystemTime) -> Option<Self> {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        Self::new(d.as_secs(), d.subsec_nanos())
    }

    /// Whole seconds after the epoch.
    #[must_use]
    pub const fn secs(&self) -> u64 {
        self.secs
    }

    /// The nanoseconds within the second.
    #[must_use]
    pub const fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The instant as a [`Duration`] since the epoch.
    #[must_use]
    pub const fn as_duration(&self) -> Duration {
        Duration::new(self.secs, self.nanos)
    }

    /// This instant with its fraction cut to `digits` decimal digits (0..=9): a genTime never
    /// claims a later instant than the clock reading it came from.
    #[must_use]
    pub fn truncated(&self, digits: u8) -> Self {
        let unit = 10u32.pow(9u32.saturating_sub(u32::from(digits.min(9))));
        UnixTime {
            secs: self.secs,
            nanos: self.nanos - self.nanos % unit,
        }
    }

    fn datetime(&self) -> Option<OffsetDateTime> {
        let secs = i64::try_from(self.secs).ok()?;
        OffsetDateTime::from_unix_timestamp(secs).ok()
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, with the fraction only when it is not zero (trailing zeros removed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(dt) = self.datetime() else {
            return write!(f, "@{}.{:09}", self.secs, self.nanos);
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )?;
        let frac = fraction_text(self.nanos);
        if !frac.is_empty() {
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}

/// The nanoseconds as decimal fraction digits without trailing zeros ("" for zero).
fn fraction_text(nanos: u32) -> String {
    let mut s = format!("{nanos:09}");
    while s.ends_with('0') {
        s.pop();
    }
    s
}

/// A GeneralizedTime as RFC 3161 requires for genTime: `YYYYMMDDhhmmss[.s...]Z`, UTC, with
/// no trailing zeros in the fraction and no decimal point for a zero fraction.
///
/// der 0.7's own `GeneralizedTime` rejects any fraction, so tokens from TSAs that use
/// sub-second precision would not parse with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GenTime(pub(crate) UnixTime);

impl GenTime {
    fn text(&self) -> Result<String, der::Error> {
        let dt = self
            .0
            .datetime()
            .ok_or_else(|| der::Error::from(der::ErrorKind::DateTime))?;
        let mut s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        let frac = fraction_text(self.0.nanos);
        if !frac.is_empty() {
            s.push('.');
            s.push_str(&frac);
        }
        s.push('Z');
        Ok(s)
    }

    /// Parses the strict DER text form.
    fn parse(bytes: &[u8]) -> Option<UnixTime> {
        let (main, rest) = (bytes.get(..14)?, bytes.get(14..)?);
        if !main.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            main.get(range)?
                .iter()
                .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
        };
        let year = i32::try_from(num(0..4)?).ok()?;
        let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
        let day = u8::try_from(num(6..8)?).ok()?;
        let hour = u8::try_from(num(8..10)?).ok()?;
        let minute = u8::try_from(num(10..12)?).ok()?;
        let second = u8::try_from(num(12..14)?).ok()?;
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let time = Time::from_hms(hour, minute, second).ok()?;
        let secs = PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp();
        let secs = u64::try_from(secs).ok()?;

        let (last, frac) = rest.split_last()?;
        if *last != b'Z' {
            return None;
        }
        let nanos = match frac {
            [] => 0,
            [b'.', digits @ ..] => {
                // DER: at least one digit, no trailing zero.
                if digits.is_empty()
                    || digits.len() > MAX_FRACTION_DIGITS
                    || digits.last() == Some(&b'0')
                    || !digits.iter().all(u8::is_ascii_digit)
                {
                    return None;
                }
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                let pad = u32::try_from(MAX_FRACTION_DIGITS - digits.len()).ok()?;
                value * 10u32.pow(pad)
            }
            _ => return None,
        };
        UnixTime::new(secs, nanos)
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        GenTime::parse(&bytes)
            .map(GenTime)
            .ok_or_else(|| Self::TAG.value_error())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.text()?.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.text()?.as_bytes())
    }
}

/// The CMS signingTime attribute value for `t` (whole seconds), as DER.
pub(crate) fn signing_time_der(t: UnixTime) -> Result<Vec<u8>, der::Error> {
    use der::Encode as _;
    let d = Duration::from_secs(t.secs);
    if t.secs < UTC_TIME_END {
        UtcTime::from_unix_duration(d)?.to_der()
    } else {
        GeneralizedTime::from_unix_duration(d)?.to_der()
    }
}

/// Converts to the `time` crate (for certificate validity in rcgen).
pub(crate) fn to_offset_datetime(t: UnixTime) -> Result<OffsetDateTime, TsaError> {
    t.datetime()
        .ok_or_else(|| TsaError::InvalidInput(format!("time {t} out of range")))
}

/// The TSTInfo `accuracy` (RFC 3161 §2.4.2): the time deviation around genTime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Accuracy {
    /// Whole seconds.
    pub seconds: u64,
    /// Milliseconds, 0..=999 (0 is encoded by omission).
    pub millis: u16,
    /// Microseconds, 0..=999 (0 is encoded by omission).
    pub micros: u16,
}

impl Accuracy {
    /// An accuracy of whole seconds.
    #[must_use]
    pub const fn seconds(seconds: u64) -> Self {
        Accuracy {
            seconds,
            millis: 0,
            micros: 0,
        }
    }

    /// Whether every component is zero (the field is then omitted).
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.seconds == 0 && self.millis == 0 && self.micros == 0
    }

    /// Whether millis and micros are within 0..=999.
    #[must_use]
    pub const fn is_valid(&self) -> bool {
        self.millis <= 999 && self.micros <= 999
    }

    pub(crate) fn to_der_struct(self) -> crate::asn1::AccuracyDer {
        crate::asn1::AccuracyDer {
            seconds: (self.seconds != 0).then_some(self.seconds),
            millis: (self.millis != 0).then_some(self.millis),
            micros: (self.micros != 0).then_some(self.micros),
        }
    }

    pub(crate) fn from_der_struct(a: &crate::asn1::AccuracyDer) -> Option<Self> {
        let acc = Accuracy {
            seconds: a.seconds.unwrap_or(0),
            millis: a.millis.unwrap_or(0),
            micros: a.micros.unwrap_or(0),
        };
        // RFC 3161: millis and micros are INTEGER (1..999) when present.
        let in_range = |v: Option<u16>| v.is_none_or(|v| (1..=999).contains(&v));
        (in_range(a.millis) && in_range(a.micros)).then_some(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn gen_time_round_trip() {
        let t = UnixTime::new(1_700_000_000, 120_000_000).unwrap();
        let der = GenTime(t).to_der().unwrap();
        assert_eq!(&der[2..], b"20231114221320.12Z");
        assert_eq!(GenTime::from_der(&der).unwrap().0, t);
        let whole = GenTime(UnixTime::from_secs(0).unwrap()).to_der().unwrap();
        assert_eq!(&whole[2..], b"19700101000000Z");
    }

    #[test]
    fn gen_time_rejects_non_der() {
        for bad in [
            &b"20231114221320.10Z"[..],
            b"20231114221320.Z",
            b"20231114221320",
            b"20231114221320+0100",
            b"2023111422132Z",
            b"20231314221320Z",
            b"20230230221320Z",
            b"20231114221320.1234567891Z",
        ] {
            assert!(
                GenTime::parse(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn display_and_truncation() {
        let t = UnixTime::new(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(t.truncated(3).to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(t.truncated(0).to_string(), "2023-11-14T22:13:20Z");
        assert!(UnixTime::new(MAX_SECS + 1, 0).is_none());
        assert!(UnixTime::new(0, 1_000_000_000).is_none());
    }
}
