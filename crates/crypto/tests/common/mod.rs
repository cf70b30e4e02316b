//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers on fixed test data

/// Decodes lowercase/uppercase hex; panics on bad input (test data only).
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from big-endian unsigned `r` and `s`.
pub fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn integer(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        if v.is_empty() || v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
        out.extend(v);
        out
    }
    let body: Vec<u8> = [integer(r), integer(s)].concat();
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(u8::try_from(body.len()).unwrap());
    out.extend(body);
    out
}

/// Splits a DER ECDSA signature into fixed-width big-endian `r‖s` (P1363), `n` bytes each.
pub fn der_to_raw(der: &[u8], n: usize) -> Vec<u8> {
    fn read_int(buf: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(buf[0], 0x02);
        let len = buf[1] as usize;
        (&buf[2..2 + len], &buf[2 + len..])
    }
    assert_eq!(der[0], 0x30);
    let body = if der[1] == 0x81 { &der[3..] } else { &der[2..] };
    let (r, rest) = read_int(body);
    let (s, _) = read_int(rest);
    let pad = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let mut out = vec![0u8; n - v.len()];
        out.extend(v);
        out
    };
    [pad(r), pad(s)].concat()
}
