//! The two byte conversions a PKCS#11 EC key needs: the `CKA_EC_POINT` value (a DER
//! OCTET STRING around the SEC1 point or the Ed25519 public key, per PKCS#11 v2.40 §2.3.3 and
//! v3.0 §2.3.10) to the bare key bytes, and the raw `r‖s` of `CKM_ECDSA` to the ASN.1 DER
//! `ECDSA-Sig-Value` the audit log (P-384) and profile B seals (P-256) carry.

/// Length of one P-384 scalar / coordinate.
pub(crate) const P384_SCALAR_LEN: usize = 48;
/// Length of the uncompressed SEC1 point `04‖x‖y`.
pub(crate) const P384_POINT_LEN: usize = 1 + 2 * P384_SCALAR_LEN;

/// `CKA_EC_PARAMS` of P-384: the DER OID `secp384r1` (1.3.132.0.34).
pub(crate) const P384_EC_PARAMS: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// `CKA_EC_PARAMS` of P-256: the DER OID `prime256v1` (1.2.840.10045.3.1.7).
pub(crate) const P256_EC_PARAMS: [u8; 10] =
    [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `CKA_EC_PARAMS` of Ed25519: the DER OID `id-Ed25519` (1.3.101.112, RFC 8410).
pub(crate) const ED25519_EC_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// Length of one P-256 scalar.
pub(crate) const P256_SCALAR_LEN: usize = 32;
/// Length of the uncompressed P-256 point.
pub(crate) const P256_POINT_LEN: usize = 1 + 2 * P256_SCALAR_LEN;
/// Length of an Ed25519 public key.
pub(crate) const ED25519_KEY_LEN: usize = 32;

/// The uncompressed point inside a `CKA_EC_POINT` value. The standard form is the DER
/// OCTET STRING `04 61 04‖x‖y`; some modules return the bare point, which is accepted too
/// (no ambiguity: the wrapped form is 99 bytes, the bare one 97).
pub(crate) fn unwrap_ec_point(value: &[u8]) -> Option<&[u8]> {
    unwrap_point(value, P384_POINT_LEN)
}

/// The key bytes of `point_len` inside a `CKA_EC_POINT` value: the DER OCTET STRING
/// `04 LEN key`, or, for uncompressed SEC1 points, the bare point (unambiguous: the wrapped
/// form is two bytes longer).
pub(crate) fn unwrap_point(value: &[u8], point_len: usize) -> Option<&[u8]> {
    match value {
        [0x04, len, rest @ ..] if usize::from(*len) == point_len && rest.len() == point_len => {
            Some(rest)
        }
        [0x04, ..] if value.len() == point_len && point_len != ED25519_KEY_LEN => Some(value),
        _ => None,
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from the 96-byte `r‖s` of `CKM_ECDSA` on P-384.
/// `None` for any other length.
pub(crate) fn raw_signature_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    raw_to_der(raw, P384_SCALAR_LEN)
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from `r‖s` with scalars of `scalar_len` (≤ 48)
/// bytes. `None` for any other length.
pub(crate) fn raw_to_der(raw: &[u8], scalar_len: usize) -> Option<Vec<u8>> {
    if raw.len() != 2 * scalar_len || scalar_len > P384_SCALAR_LEN {
        return None;
    }
    let (r, s) = raw.split_at(scalar_len);
    let r = der_unsigned_integer(r);
    let s = der_unsigned_integer(s);
    // At most 2 × (2 + 49) = 102 content bytes: the short length form always fits.
    let content_len = r.len() + s.len();
    let mut out = Vec::with_capacity(2 + content_len);
    out.push(0x30);
    out.push(u8::try_from(content_len).ok()?);
    out.extend_from_slice(&r);
    out.extend_from_slice(&s);
    Some(out)
}

/// A DER INTEGER (tag and length included) holding the unsigned big-endian `bytes`:
/// leading zeros stripped, one zero prepended when the top bit is set. Values of at most
/// 48 bytes, so the short length form suffices.
fn der_unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let first_nonzero = bytes.iter().position(|&b| b != 0);
    let magnitude = first_nonzero.and_then(|i| bytes.get(i..)).unwrap_or(&[0]);
    let pad = magnitude.first().is_some_and(|&b| b & 0x80 != 0);
    let len = magnitude.len() + usize::from(pad);
    let mut out = Vec::with_capacity(2 + len);
    out.push(0x02);
    // len ≤ 49 (checked by the caller's fixed 48-byte halves).
    out.push(u8::try_from(len).unwrap_or(u8::MAX));
    if pad {
        out.push(0x00);
    }
    out.extend_from_slice(magnitude);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_wrapped_and_bare() {
        let mut bare = vec![0x04];
        bare.extend_from_slice(&[7u8; 96]);
        let mut wrapped = vec![0x04, 97];
        wrapped.extend_from_slice(&bare);
        assert_eq!(unwrap_ec_point(&wrapped), Some(bare.as_slice()));
        assert_eq!(unwrap_ec_point(&bare), Some(bare.as_slice()));
        assert_eq!(unwrap_ec_point(&bare[..96]), None);
        assert_eq!(unwrap_ec_point(&[]), None);
        let mut compressed = vec![0x04, 49, 0x02];
        compressed.extend_from_slice(&[1u8; 48]);
        assert_eq!(unwrap_ec_point(&compressed), None);
    }

    #[test]
    fn integers_are_minimal() {
        assert_eq!(der_unsigned_integer(&[0, 0, 1]), vec![0x02, 1, 1]);
        assert_eq!(der_unsigned_integer(&[0, 0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(der_unsigned_integer(&[0, 0]), vec![0x02, 1, 0]);
        assert_eq!(der_unsigned_integer(&[0x7f, 0]), vec![0x02, 2, 0x7f, 0]);
    }

    #[test]
    fn signature_layout() {
        let mut raw = vec![0xffu8; 48];
        raw.extend_from_slice(&[0u8; 47]);
        raw.push(5);
        let der = raw_signature_to_der(&raw).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(usize::from(der[1]), der.len() - 2);
        assert_eq!(&der[2..5], &[0x02, 49, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 5]);
        assert_eq!(raw_signature_to_der(&raw[..95]), None);
    }
}
