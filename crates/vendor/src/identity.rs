//! The CPHAR device-identity certificate extension: what the vendor's provisioning line
//! asserts about a seal, signed into its device certificate (seed 001 "stable fields in the
//! certificate subject / extensions"; seed 002 §4.2.1: the device certificate asserts the
//! device's public key, BAL and hardware security properties).
//!
//! OID arc: `2.25.256361448467631985424350402292279644325` — the UUID
//! `c0dd6b44-d4c5-437f-ab06-f0c7220f90a5` as an integer under ITU-T X.667's `2.25` arc, which
//! anyone may allocate without registration. The extension is `ARC.1`, non-critical (webpki
//! refuses unknown critical extensions, and a verifier that does not know it loses nothing but
//! the assertions). Format (`docs/device-certificate.md`):
//!
//! ```text
//! CpharDeviceIdentity ::= SEQUENCE {
//!     version               INTEGER (1),
//!     bal                   INTEGER (1..4),
//!     keyOrigin             ENUMERATED { generatedOnDevice (0), imported (1) },
//!     nonExportable         BOOLEAN,
//!     sku                   UTF8String (SIZE (1..128)),
//!     hardwareId            UTF8String (SIZE (1..128)),
//!     batch                 UTF8String (SIZE (1..128)),
//!     provisioningRecordId  UTF8String (SIZE (1..128)) }
//! ```
//!
//! Strict DER both ways: minimal lengths, exactly these members in this order, nothing after.

/// The arc's dotted form.
pub const CPHAR_OID_ARC: &str = "2.25.256361448467631985424350402292279644325";

/// The device-identity extension's OID, dotted.
pub const DEVICE_IDENTITY_OID: &str = "2.25.256361448467631985424350402292279644325.1";

/// The content octets of the extension's OID (`2.25.<uuid>.1`), as they appear after the
/// OBJECT IDENTIFIER tag and length.
pub const DEVICE_IDENTITY_OID_DER: [u8; 21] = [
    0x69, 0x83, 0x81, 0xdd, 0xb5, 0xd1, 0x9a, 0xcc, 0xaa, 0x8d, 0xff, 0xab, 0x83, 0xbc, 0x98, 0xf2,
    0x90, 0xbe, 0xa1, 0x25, 0x01,
];

/// Longest text member.
const MAX_TEXT: usize = 128;

/// Where the device's key was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Inside the device's secure boundary (seed 002 BAL-2 "generated on-device").
    GeneratedOnDevice,
    /// Generated elsewhere and loaded.
    Imported,
}

impl KeyOrigin {
    /// The wire name used in records.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeyOrigin::GeneratedOnDevice => "generated-on-device",
            KeyOrigin::Imported => "imported",
        }
    }
}

/// What the extension asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// The Binding Assurance Level the vendor certifies, 1–4.
    pub bal: u8,
    /// Where the key was generated.
    pub key_origin: KeyOrigin,
    /// Whether the private key is marked non-exportable in the device.
    pub non_exportable: bool,
    /// The product SKU.
    pub sku: String,
    /// The hardware identifier read at intake.
    pub hardware_id: String,
    /// The manufacturing batch.
    pub batch: String,
    /// The vendor's provisioning record id.
    pub provisioning_record_id: String,
}

/// Why an extension value is not a `CpharDeviceIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device identity extension: {0}")]
pub struct IdentityError(pub &'static str);

fn push_len(out: &mut Vec<u8>, len: usize) {
    // Contents here are far below 64 KiB: short form or one/two length octets.
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, u8::try_from(len).unwrap_or(0)]);
    } else {
        let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
        out.extend_from_slice(&[0x82, hi, lo]);
    }
}

fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

fn valid_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_TEXT && !s.chars().any(char::is_control)
}

impl DeviceIdentity {
    /// The extension value (DER).
    ///
    /// # Errors
    /// A BAL outside 1–4 or a text member empty, over 128 bytes or with control characters.
    pub fn to_der(&self) -> Result<Vec<u8>, IdentityError> {
        if !(1..=4).contains(&self.bal) {
            return Err(IdentityError("bal must be 1..4"));
        }
        let mut body = Vec::new();
        tlv(&mut body, 0x02, &[1]);
        tlv(&mut body, 0x02, &[self.bal]);
        let origin = match self.key_origin {
            KeyOrigin::GeneratedOnDevice => 0,
            KeyOrigin::Imported => 1,
        };
        tlv(&mut body, 0x0a, &[origin]);
        tlv(
            &mut body,
            0x01,
            &[if self.non_exportable { 0xff } else { 0 }],
        );
        for text in [
            &self.sku,
            &self.hardware_id,
            &self.batch,
            &self.provisioning_record_id,
        ] {
            if !valid_text(text) {
                return Err(IdentityError(
                    "text member empty, too long or not printable",
                ));
            }
            tlv(&mut body, 0x0c, text.as_bytes());
        }
        let mut out = Vec::with_capacity(body.len() + 4);
        tlv(&mut out, 0x30, &body);
        Ok(out)
    }

    /// Reads an extension value.
    ///
    /// # Errors
    /// [`IdentityError`] for anything but the exact DER above.
    pub fn from_der(der: &[u8]) -> Result<Self, IdentityError> {
        let mut outer = Reader(der);
        let body = outer.expect(0x30)?;
        if !outer.0.is_empty() {
            return Err(IdentityError("bytes after the SEQUENCE"));
        }
        let mut r = Reader(body);
        if r.expect(0x02)? != [1] {
            return Err(IdentityError("unknown version"));
        }
        let bal = match r.expect(0x02)? {
            [b @ 1..=4] => *b,
            _ => return Err(IdentityError("bal must be 1..4")),
        };
        let key_origin = match r.expect(0x0a)? {
            [0] => KeyOrigin::GeneratedOnDevice,
            [1] => KeyOrigin::Imported,
            _ => return Err(IdentityError("unknown keyOrigin")),
        };
        let non_exportable = match r.expect(0x01)? {
            [0xff] => true,
            [0] => false,
            _ => return Err(IdentityError("nonExportable is not a DER BOOLEAN")),
        };
        let mut text = || -> Result<String, IdentityError> {
            let bytes = r.expect(0x0c)?;
            let s = std::str::from_utf8(bytes)
                .map_err(|_| IdentityError("text member is not UTF-8"))?;
            if !valid_text(s) {
                return Err(IdentityError(
                    "text member empty, too long or not printable",
                ));
            }
            Ok(s.to_owned())
        };
        let identity = DeviceIdentity {
            bal,
            key_origin,
            non_exportable,
            sku: text()?,
            hardware_id: text()?,
            batch: text()?,
            provisioning_record_id: text()?,
        };
        if !r.0.is_empty() {
            return Err(IdentityError("unknown members after provisioningRecordId"));
        }
        Ok(identity)
    }
}

/// A strict DER TLV reader over a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The content of the next element, which must have `tag`.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], IdentityError> {
        let (&t, rest) = self.0.split_first().ok_or(IdentityError("truncated"))?;
        if t != tag {
            return Err(IdentityError("unexpected element"));
        }
        let (&first, rest) = rest.split_first().ok_or(IdentityError("truncated"))?;
        let (len, rest) = match first {
            n @ 0..=0x7f => (usize::from(n), rest),
            0x81 => match rest.split_first() {
                Some((&n, rest)) if n >= 0x80 => (usize::from(n), rest),
                _ => return Err(IdentityError("non-minimal length")),
            },
            0x82 => match rest {
                [hi, lo, rest @ ..] if *hi != 0 => {
                    (usize::from(u16::from_be_bytes([*hi, *lo])), rest)
                }
                _ => return Err(IdentityError("non-minimal length")),
            },
            _ => return Err(IdentityError("unsupported length")),
        };
        let (content, rest) = rest
            .split_at_checked(len)
            .ok_or(IdentityError("truncated"))?;
        self.0 = rest;
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sample() -> DeviceIdentity {
        DeviceIdentity {
            bal: 2,
            key_origin: KeyOrigin::GeneratedOnDevice,
            non_exportable: true,
            sku: "AS-100".into(),
            hardware_id: "HW-0001".into(),
            batch: "B-2026-48".into(),
            provisioning_record_id: "PR-1".into(),
        }
    }

    #[test]
    fn round_trip_and_strictness() {
        let der = sample().to_der().unwrap();
        assert_eq!(DeviceIdentity::from_der(&der).unwrap(), sample());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(DeviceIdentity::from_der(&trailing).is_err());
        let mut bad_bool = der.clone();
        // version, bal, keyOrigin are 3 bytes each after the 2-byte SEQUENCE header.
        assert_eq!(bad_bool[11..14], [0x01, 0x01, 0xff]);
        bad_bool[13] = 0x01;
        assert!(DeviceIdentity::from_der(&bad_bool).is_err());
        let mut bal5 = der.clone();
        bal5[7] = 5;
        assert!(DeviceIdentity::from_der(&bal5).is_err());
        assert!(DeviceIdentity::from_der(&der[..der.len() - 1]).is_err());
        let empty_sku = DeviceIdentity {
            sku: String::new(),
            ..sample()
        };
        assert!(empty_sku.to_der().is_err());
    }

    #[test]
    fn oid_bytes_are_the_uuid_arc() {
        // 2.25 → 2 * 40 + 25 = 105; then the UUID's 128-bit integer in base 128; then 1.
        let uuid: u128 = 0xc0dd_6b44_d4c5_437f_ab06_f0c7_220f_90a5;
        assert_eq!(CPHAR_OID_ARC, format!("2.25.{uuid}"));
        let mut arc = Vec::new();
        let mut n = uuid;
        loop {
            arc.insert(0, u8::try_from(n & 0x7f).unwrap());
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        let last = arc.len() - 1;
        for b in &mut arc[..last] {
            *b |= 0x80;
        }
        let mut expected = vec![105];
        expected.extend(arc);
        expected.push(1);
        assert_eq!(expected, DEVICE_IDENTITY_OID_DER);
    }
}
