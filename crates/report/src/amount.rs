//! Exact decimal quantities: parsed from strings, held as fixed-point integers, never floats.
//!
//! An [`Amount`] counts units of 10^-[`SCALE`] in a `u128`, so it cannot be negative and every
//! sum is exact; addition is checked and an overflow is a refusal, never a wrap.
//!
//! Two grammars (ASCII, no sign, no exponent, no whitespace):
//!
//! - a **leaf quantity** ([`Amount::parse_quantity`]): `int ["." frac]` where `int` is `0` or
//!   1–[`MAX_QUANTITY_INT_DIGITS`] digits without a leading zero and `frac` is 1–[`SCALE`]
//!   digits (trailing zeros allowed: `"400.000"` is how the registry writes 400 kg to the gram);
//! - a **sum** ([`Amount::parse_sum`]): the canonical form written by [`Amount`]'s `Display`:
//!   no leading zero, no trailing zero in the fraction, no `.` without a fraction, any value that
//!   fits. A sum has exactly one spelling, so a proof cannot carry two texts for one value.

use std::fmt;

/// Fractional decimal digits kept exactly (nano-units: 10^-9 of the lot's unit).
pub const SCALE: u32 = 9;

/// Most integer digits of a leaf quantity: 10^20 units per lot. With 2^64 lots the sum still
/// fits in a `u128` of nano-units (10^20 · 10^9 · 1.8·10^19 < 3.4·10^38), so a report built
/// from valid leaves can never overflow; the checks remain for what arrives from outside.
pub const MAX_QUANTITY_INT_DIGITS: usize = 20;

const UNIT: u128 = 1_000_000_000;

/// A non-negative exact decimal: `value / 10^SCALE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u128);

/// Why a decimal string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Not `digits ["." digits]` (empty, sign, exponent, space, other characters).
    #[error("not a decimal of the form digits[.digits]")]
    Syntax,
    /// A leading zero before other integer digits (`"07"`).
    #[error("leading zero")]
    LeadingZero,
    /// More than [`SCALE`] fractional digits.
    #[error("more than {SCALE} fractional digits")]
    TooPrecise,
    /// Too many integer digits for a quantity, or a value beyond `u128` nano-units.
    #[error("value too large")]
    TooLarge,
    /// A sum not written in its canonical form (trailing fractional zero).
    #[error("not the canonical form of the value")]
    NotCanonical,
    /// An addition overflowed.
    #[error("sum overflows")]
    Overflow,
}

impl AmountError {
    /// Stable machine-readable code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            AmountError::Syntax => "amount_syntax",
            AmountError::LeadingZero => "amount_leading_zero",
            AmountError::TooPrecise => "amount_too_precise",
            AmountError::TooLarge => "amount_too_large",
            AmountError::NotCanonical => "amount_not_canonical",
            AmountError::Overflow => "amount_overflow",
        }
    }
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// The amount of `nanos` units of 10^-9.
    #[must_use]
    pub const fn from_nanos(nanos: u128) -> Self {
        Amount(nanos)
    }

    /// The value in units of 10^-9.
    #[must_use]
    pub const fn nanos(self) -> u128 {
        self.0
    }

    /// Parses a leaf quantity (grammar in the module documentation).
    ///
    /// # Errors
    /// [`AmountError`] naming the first rule broken.
    pub fn parse_quantity(text: &str) -> Result<Self, AmountError> {
        let (int, frac) = split(text)?;
        if int.len() > MAX_QUANTITY_INT_DIGITS {
            return Err(AmountError::TooLarge);
        }
        assemble(int, frac)
    }

    /// Parses a sum in canonical form (grammar in the module documentation).
    ///
    /// # Errors
    /// [`AmountError`] naming the first rule broken.
    pub fn parse_sum(text: &str) -> Result<Self, AmountError> {
        let (int, frac) = split(text)?;
        if frac.is_some_and(|f| f.ends_with('0')) {
            return Err(AmountError::NotCanonical);
        }
        assemble(int, frac)
    }

    /// `self + other`, or [`AmountError::Overflow`].
    ///
    /// # Errors
    /// [`AmountError::Overflow`] beyond `u128::MAX` nano-units.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// The 16-byte big-endian encoding hashed into sum-tree nodes.
    #[must_use]
    pub const fn to_be_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
}

/// Splits `int[.frac]`, checking characters, emptiness, leading zeros and precision.
fn split(text: &str) -> Result<(&str, Option<&str>), AmountError> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(AmountError::Syntax);
    }
    if int.len() > 1 && int.starts_with('0') {
        return Err(AmountError::LeadingZero);
    }
    if frac.is_some_and(|f| f.len() > SCALE as usize) {
        return Err(AmountError::TooPrecise);
    }
    Ok((int, frac))
}

fn assemble(int: &str, frac: Option<&str>) -> Result<Amount, AmountError> {
    let mut value: u128 = 0;
    for b in int.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or(AmountError::TooLarge)?;
    }
    value = value.checked_mul(UNIT).ok_or(AmountError::TooLarge)?;
    let frac = frac.unwrap_or("");
    let mut scale = UNIT;
    for b in frac.bytes() {
        scale /= 10;
        value = value
            .checked_add(u128::from(b - b'0') * scale)
            .ok_or(AmountError::TooLarge)?;
    }
    Ok(Amount(value))
}

impl fmt::Display for Amount {
    /// The canonical form: `int` or `int.frac` without trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / UNIT;
        let mut frac = self.0 % UNIT;
        if frac == 0 {
            return write!(f, "{int}");
        }
        let mut width = SCALE as usize;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{int}.{frac:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_exactly() {
        assert_eq!(Amount::parse_quantity("0").unwrap(), Amount(0));
        assert_eq!(
            Amount::parse_quantity("400.000").unwrap(),
            Amount(400 * UNIT)
        );
        assert_eq!(Amount::parse_quantity("0.000000001").unwrap(), Amount(1));
        assert_eq!(
            Amount::parse_quantity("99999999999999999999.999999999").unwrap(),
            Amount(100_000_000_000_000_000_000 * UNIT - 1)
        );
    }

    #[test]
    fn quantity_refusals_are_named() {
        for (text, err) in [
            ("", AmountError::Syntax),
            ("-1", AmountError::Syntax),
            ("+1", AmountError::Syntax),
            ("1e3", AmountError::Syntax),
            ("1.", AmountError::Syntax),
            (".5", AmountError::Syntax),
            (" 1", AmountError::Syntax),
            ("1,5", AmountError::Syntax),
            ("١", AmountError::Syntax),
            ("07", AmountError::LeadingZero),
            ("0.0000000001", AmountError::TooPrecise),
            ("100000000000000000000", AmountError::TooLarge),
        ] {
            assert_eq!(Amount::parse_quantity(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn sums_are_canonical_and_round_trip() {
        for nanos in [0, 1, 10, UNIT, UNIT + 5, u128::MAX] {
            let text = Amount(nanos).to_string();
            assert_eq!(Amount::parse_sum(&text).unwrap(), Amount(nanos), "{text}");
        }
        assert_eq!(Amount(1_500_000_000).to_string(), "1.5");
        assert_eq!(Amount::parse_sum("1.50"), Err(AmountError::NotCanonical));
        assert_eq!(
            Amount::parse_sum("340282366920938463463374607431.768211456"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            Amount(u128::MAX).checked_add(Amount(1)),
            Err(AmountError::Overflow)
        );
    }
}
