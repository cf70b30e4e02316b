//! Strict recursive-descent I-JSON parser building a [`serde_json::Value`].
//!
//! Hand-written rather than serde_json's reader because serde_json silently resolves
//! duplicate names (last one wins), accepts lone surrogates only by replacing them, and
//! rounds big integers: all parser differentials that a signed protocol must refuse.

use serde_json::{Map, Number, Value};

use crate::error::{ParseError, ParseErrorKind as K};
use crate::{MAX_DEPTH, MAX_SAFE_INTEGER};

/// Strictly parses one JSON value (RFC 8259) under the I-JSON rules (RFC 7493).
///
/// Objects keep their members in input order (`serde_json`'s `preserve_order`). Any
/// top-level value is accepted, surrounded by optional JSON whitespace.
///
/// # Errors
/// A [`ParseError`] whose [`code`](ParseError::code) names the first rule broken: `bom`,
/// `invalid_utf8`, `syntax`, `unexpected_end`, `trailing_data`, `depth_exceeded`,
/// `duplicate_member`, `lone_surrogate`, `invalid_escape`, `control_character`,
/// `invalid_number`, `integer_out_of_range` or `number_overflow`.
pub fn parse(bytes: &[u8]) -> Result<Value, ParseError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(ParseError::new(K::Bom, 0));
    }
    // Validating UTF-8 once up front lets every string slice below be a plain `&str`.
    let text =
        std::str::from_utf8(bytes).map_err(|e| ParseError::new(K::InvalidUtf8, e.valid_up_to()))?;
    let mut p = Parser {
        text,
        bytes,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.pos < bytes.len() {
        return Err(p.err(K::TrailingData));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, kind: K) -> ParseError {
        ParseError::new(kind, self.pos)
    }

    /// The error for a byte the grammar does not allow here, or for the end of input.
    fn unexpected(&self) -> ParseError {
        if self.pos < self.bytes.len() {
            self.err(K::Syntax)
        } else {
            self.err(K::UnexpectedEnd)
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// `text[start..end]`; both ends sit on ASCII bytes, so this never fails in practice.
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, ParseError> {
        self.text
            .get(start..end)
            .ok_or_else(|| ParseError::new(K::InvalidUtf8, start))
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, ParseError> {
        let end = self.pos.saturating_add(word.len());
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(value)
        } else {
            // Point at the first byte that differs.
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let same = rest.iter().zip(word).take_while(|(a, b)| a == b).count();
            self.pos += same;
            Err(self.unexpected())
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(K::DepthExceeded));
        }
        self.depth += 1;
        self.pos += 1; // the opening bracket
        Ok(())
    }

    fn array(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                items.push(self.value()?);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.unexpected()),
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn object(&mut self) -> Result<Value, ParseError> {
        self.enter()?;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(self.unexpected());
                }
                let name_at = self.pos;
                let name = self.string()?;
                self.skip_ws();
                if self.peek() != Some(b':') {
                    return Err(self.unexpected());
                }
                self.pos += 1;
                self.skip_ws();
                let value = self.value()?;
                // Names are compared after unescaping: "a" and "\u0061" are the same name.
                if map.insert(name, value).is_some() {
                    return Err(ParseError::new(K::DuplicateMember, name_at));
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.unexpected()),
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    /// A string token starting at the opening quote; returns its unescaped contents.
    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1; // opening quote
        let mut run = self.pos;
        // Only allocate an unescaping buffer once an escape shows up.
        let mut buf: Option<String> = None;
        loop {
            match self.peek() {
                None => return Err(self.err(K::UnexpectedEnd)),
                Some(b'"') => {
                    let tail = self.slice(run, self.pos)?;
                    self.pos += 1;
                    return Ok(match buf {
                        None => tail.to_owned(),
                        Some(mut s) => {
                            s.push_str(tail);
                            s
                        }
                    });
                }
                Some(b'\\') => {
                    let chunk = self.slice(run, self.pos)?;
                    let s = buf.get_or_insert_with(String::new);
                    s.push_str(chunk);
                    self.escape(s)?;
                    run = self.pos;
                }
                Some(0..0x20) => return Err(self.err(K::ControlCharacter)),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// One escape sequence starting at the backslash, appended to `out`.
    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1; // backslash
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4()?;
                let c = match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed at once by an escaped low one.
                        if self.bytes.get(self.pos..self.pos.saturating_add(2)) != Some(b"\\u") {
                            return Err(ParseError::new(K::LoneSurrogate, start));
                        }
                        let second = self.pos;
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(ParseError::new(K::LoneSurrogate, second));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(ParseError::new(K::LoneSurrogate, start)),
                    _ => unit,
                };
                out.push(
                    char::from_u32(c).ok_or_else(|| ParseError::new(K::LoneSurrogate, start))?,
                );
                return Ok(());
            }
            None => return Err(self.err(K::UnexpectedEnd)),
            Some(_) => return Err(ParseError::new(K::InvalidEscape, start)),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    /// Four hex digits (either case) as a UTF-16 code unit.
    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                None => return Err(self.err(K::UnexpectedEnd)),
                Some(_) => return Err(self.err(K::InvalidEscape)),
            };
            unit = unit << 4 | u32::from(digit);
            self.pos += 1;
        }
        Ok(unit)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// At least one digit, or an `invalid_number` / `unexpected_end` error.
    fn some_digits(&mut self) -> Result<(), ParseError> {
        if self.digits() == 0 {
            let kind = if self.pos < self.bytes.len() {
                K::InvalidNumber
            } else {
                K::UnexpectedEnd
            };
            return Err(self.err(kind));
        }
        Ok(())
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        if self.peek() == Some(b'0') {
            self.pos += 1;
            if let Some(b'0'..=b'9') = self.peek() {
                return Err(self.err(K::InvalidNumber)); // leading zero
            }
        } else {
            self.some_digits()?;
        }
        let int_end = self.pos;
        let mut is_double = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
            is_double = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
            is_double = true;
        }

        if !is_double {
            let digits = self.bytes.get(int_start..int_end).unwrap_or_default();
            // 2^53 - 1 has 16 digits; the length check also keeps the fold below from overflowing.
            if digits.len() > 16 {
                return Err(ParseError::new(K::IntegerOutOfRange, start));
            }
            let magnitude = digits
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if magnitude > MAX_SAFE_INTEGER {
                return Err(ParseError::new(K::IntegerOutOfRange, start));
            }
            return Ok(match i64::try_from(magnitude) {
                // `-0` becomes 0: the same value, and its canonical form.
                Ok(m) if negative => Number::from(-m),
                _ => Number::from(magnitude),
            });
        }

        // The token matches the JSON grammar, a subset of what `f64::from_str` accepts;
        // std's conversion is correctly rounded.
        let token = self.slice(start, self.pos)?;
        let value: f64 = token
            .parse()
            .map_err(|_| ParseError::new(K::InvalidNumber, start))?;
        Number::from_f64(value).ok_or_else(|| ParseError::new(K::NumberOverflow, start))
    }
}
