//! Error types: why input was refused, with a stable snake_case code and a byte offset.

use std::fmt;

/// Why [`parse`](crate::parse) refused its input. Each kind has a stable [`code`](Self::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input starts with a UTF-8 byte order mark (RFC 8259 §8.1: must not be added).
    Bom,
    /// The input is not well-formed UTF-8.
    InvalidUtf8,
    /// A byte that the JSON grammar does not allow here.
    Syntax,
    /// The input ended inside a value.
    UnexpectedEnd,
    /// Something other than whitespace follows the top-level value.
    TrailingData,
    /// Arrays and objects nest deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    DepthExceeded,
    /// A member name appears twice in one object (compared after unescaping).
    DuplicateMember,
    /// A `\uXXXX` escape of a surrogate that is not part of a high-low pair.
    LoneSurrogate,
    /// An unknown escape, or `\u` not followed by four hex digits.
    InvalidEscape,
    /// An unescaped control character (below U+0020) inside a string.
    ControlCharacter,
    /// A number that breaks the JSON grammar (leading zero, missing digits, …).
    InvalidNumber,
    /// An integer literal outside `[-(2^53 - 1), 2^53 - 1]`.
    IntegerOutOfRange,
    /// A number whose magnitude rounds to infinity as an IEEE-754 double.
    NumberOverflow,
    /// The parsed value could not be canonicalized. Unreachable: kept so that
    /// [`canonicalize_json`](crate::canonicalize_json) needs no panic.
    Canonicalization,
}

impl ParseErrorKind {
    /// Stable snake_case reason code, for logs and result details.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Bom => "bom",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::Syntax => "syntax",
            Self::UnexpectedEnd => "unexpected_end",
            Self::TrailingData => "trailing_data",
            Self::DepthExceeded => "depth_exceeded",
            Self::DuplicateMember => "duplicate_member",
            Self::LoneSurrogate => "lone_surrogate",
            Self::InvalidEscape => "invalid_escape",
            Self::ControlCharacter => "control_character",
            Self::InvalidNumber => "invalid_number",
            Self::IntegerOutOfRange => "integer_out_of_range",
            Self::NumberOverflow => "number_overflow",
            Self::Canonicalization => "canonicalization",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::Bom => "byte order mark at start of input",
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::Syntax => "JSON syntax error",
            Self::UnexpectedEnd => "unexpected end of input",
            Self::TrailingData => "data after the JSON value",
            Self::DepthExceeded => "arrays and objects nested too deep",
            Self::DuplicateMember => "duplicate member name",
            Self::LoneSurrogate => "lone surrogate escape",
            Self::InvalidEscape => "invalid escape sequence",
            Self::ControlCharacter => "unescaped control character in string",
            Self::InvalidNumber => "invalid number",
            Self::IntegerOutOfRange => "integer literal outside ±(2^53 - 1)",
            Self::NumberOverflow => "number overflows an IEEE-754 double",
            Self::Canonicalization => "value cannot be canonicalized",
        }
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Strict parsing failed: what went wrong ([`kind`](Self::kind)) and where
/// ([`offset`](Self::offset), in bytes from the start of the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid I-JSON: {kind} ({code}) at byte {offset}", code = .kind.code())]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
}

impl ParseError {
    pub(crate) const fn new(kind: ParseErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// What went wrong.
    pub const fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// Byte offset in the input where the problem was found (for a duplicate member, the
    /// second occurrence of the name; for invalid UTF-8, the first bad byte).
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Stable snake_case reason code, e.g. `duplicate_member`; see [`ParseErrorKind::code`].
    pub const fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// A [`Value`](serde_json::Value) built in code that has no RFC 8785 form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonError {
    /// An integer beyond ±2^53, which may have no exact IEEE-754 double.
    #[error("integer {0} is outside ±2^53 and cannot be written as an exact double")]
    IntegerOutOfRange(serde_json::Number),
    /// Arrays and objects nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("arrays and objects nested deeper than {}", crate::MAX_DEPTH)]
    DepthExceeded,
}

impl CanonError {
    /// Stable snake_case reason code: `integer_out_of_range` or `depth_exceeded`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::IntegerOutOfRange(_) => "integer_out_of_range",
            Self::DepthExceeded => "depth_exceeded",
        }
    }
}
