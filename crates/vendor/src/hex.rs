//! Lowercase hexadecimal, the one text form this crate uses for digests, serials and keys.

/// Lowercase hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Both nibbles are < 16, so `from_digit` always succeeds; '0' is unreachable.
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
    }
    out
}

/// Decodes lowercase hex only: one spelling per value, so equal digests compare equal as text.
pub(crate) fn decode_lower(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(decode_lower("00abff"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(decode_lower("00ABff"), None);
        assert_eq!(decode_lower("abc"), None);
        assert_eq!(decode_lower("zz"), None);
        assert_eq!(decode_lower(""), Some(vec![]));
    }
}
