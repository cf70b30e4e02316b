//! Strict base64url, key generation, signing, PKCS#8, tampering and malformed-input tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

mod common;

use common::{der_signature, der_to_raw};
use cphar_crypto::{Algorithm, CryptoError, SigningKey, VerifyingKey, b64, sha256, sha384};
use proptest::prelude::*;

const SIGNATURE_ALGS: [Algorithm; 3] = [
    Algorithm::Ed25519,
    Algorithm::EcdsaP256Sha256,
    Algorithm::EcdsaP384Sha384,
];

/// Keys live in `Arc`s shared across async tasks; errors cross thread boundaries.
#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<SigningKey>();
    check::<VerifyingKey>();
    check::<cphar_crypto::CmacAes128Key>();
    check::<cphar_crypto::Jwk>();
    check::<CryptoError>();
    check::<Algorithm>();
}

#[test]
fn b64_strict() {
    assert_eq!(b64::encode(b""), "");
    assert_eq!(b64::encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(b64::decode("-_8").unwrap(), [0xfb, 0xff]);
    assert_eq!(b64::decode("").unwrap(), b"");
    for bad in [
        "-_8=",       // padding
        "+/8",        // standard alphabet
        "-_ 8",       // whitespace
        "-_8\n",      // trailing newline
        " -_8",       // leading space
        "-_9",        // non-canonical trailing bits (canonical is "-_8")
        "QQ=",        // padding
        "QR",         // non-canonical trailing bits for 1 byte ("QQ")
        "Q",          // impossible length
        "QUJDR",      // impossible length
        "QUJD\u{e9}", // non-ASCII
        "QU.D",       // foreign character
    ] {
        assert_eq!(b64::decode(bad), Err(CryptoError::Encoding), "{bad:?}");
    }
}

#[test]
fn digests() {
    // FIPS 180-2 "abc".
    assert_eq!(
        b64::encode(&sha256(b"abc")),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
    assert_eq!(
        sha384(b"abc")[..8],
        [0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b]
    );
}

#[test]
fn random_bytes_differ() {
    let a = cphar_crypto::random_bytes::<32>().unwrap();
    let b = cphar_crypto::random_bytes::<32>().unwrap();
    assert_ne!(a, b);
    assert_eq!(cphar_crypto::random_bytes::<0>().unwrap(), [0u8; 0]);
}

#[test]
fn generate_sign_verify_each_algorithm() {
    for alg in SIGNATURE_ALGS {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let public = key.verifying_key();
        assert_eq!(public.algorithm(), alg);
        let msg = b"challenge request";
        let sig = key.sign(msg).unwrap();
        public.verify(msg, &sig).unwrap();
        if alg == Algorithm::Ed25519 {
            assert_eq!(sig.len(), 64);
        } else {
            assert_eq!(sig[0], 0x30, "DER SEQUENCE");
        }

        // Tampered message and signature.
        assert_eq!(
            public.verify(b"challenge requesT", &sig),
            Err(CryptoError::BadSignature)
        );
        for i in [0, sig.len() / 2, sig.len() - 1] {
            let mut bad = sig.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                public.verify(msg, &bad),
                Err(CryptoError::BadSignature),
                "{alg} byte {i}"
            );
        }
        assert_eq!(public.verify(msg, &[]), Err(CryptoError::BadSignature));
        assert_eq!(
            public.verify(msg, &sig[..sig.len() - 1]),
            Err(CryptoError::BadSignature)
        );
        let mut longer = sig.clone();
        longer.push(0);
        assert_eq!(public.verify(msg, &longer), Err(CryptoError::BadSignature));

        // Another key of the same algorithm does not verify it.
        let other = SigningKey::generate(alg).unwrap().verifying_key();
        assert_ne!(other, public);
        assert_eq!(other.verify(msg, &sig), Err(CryptoError::BadSignature));

        // The JWK and raw-bytes forms rebuild the same key.
        let jwk = public.to_jwk();
        let again =
            VerifyingKey::from_jwk(&cphar_crypto::Jwk::from_json(&jwk.to_json()).unwrap()).unwrap();
        assert_eq!(again, public);
        assert_eq!(
            VerifyingKey::from_public_bytes(alg, &public.public_bytes()).unwrap(),
            public
        );
        again.verify(msg, &sig).unwrap();
        assert_eq!(jwk.thumbprint_b64().unwrap().len(), 43);
    }
}

#[test]
fn cmac_is_not_a_signature_algorithm() {
    assert!(matches!(
        SigningKey::generate(Algorithm::CmacAes128),
        Err(CryptoError::Unsupported(_))
    ));
}

#[test]
fn pkcs8_round_trip() {
    for alg in SIGNATURE_ALGS {
        let key = SigningKey::generate(alg).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.algorithm(), alg);
        assert_eq!(back.verifying_key(), key.verifying_key());
        key.verifying_key()
            .verify(b"m", &back.sign(b"m").unwrap())
            .unwrap();
        // Files end with a newline; CRLF armour is also RFC 7468.
        let with_nl = format!("{}\n", pem.trim_end());
        SigningKey::from_pkcs8_pem(&with_nl).unwrap();
        SigningKey::from_pkcs8_pem(&pem.replace('\n', "\r\n")).unwrap();

        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_der(&der).unwrap().verifying_key(),
            key.verifying_key()
        );

        // Debug never shows secret material.
        let dbg = format!("{key:?}");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!dbg.contains(&body[20..40]), "{dbg}");
        assert!(dbg.contains("SigningKey"));
    }
}

#[test]
fn pkcs8_rejections() {
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    for bad in [
        String::new(),
        "garbage".to_owned(),
        pem.replace("PRIVATE KEY", "EC PRIVATE KEY"),
        pem.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
        pem.replace("PRIVATE KEY", "PUBLIC KEY"),
        pem.replace('A', "B"),
        pem[..pem.len() / 2].to_owned(),
    ] {
        assert!(SigningKey::from_pkcs8_pem(&bad).is_err(), "{bad}");
    }
    let der = key.to_pkcs8_der().unwrap();
    assert!(SigningKey::from_pkcs8_der(&der[..der.len() - 1]).is_err());
    assert!(SigningKey::from_pkcs8_der(&[]).is_err());
    // P-256 key material under the P-384 curve OID (06 08 2a8648ce3d030107 → 06 05 2b81040022)
    // must not load: the curve comes from the document and AWS-LC checks it.
    let p256_oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let pos = der
        .windows(p256_oid.len())
        .position(|w| w == p256_oid)
        .unwrap();
    let mut swapped = der[..pos].to_vec();
    swapped.extend_from_slice(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]);
    swapped.extend_from_slice(&der[pos + p256_oid.len()..]);
    // 30 81 LL | 02 01 00 | 30 13 06 07 <ecPublicKey> 06 08 <P-256> | 04 …
    assert_eq!(
        (der[0], der[1], der[3..8].to_vec()),
        (0x30, 0x81, vec![2, 1, 0, 0x30, 0x13])
    );
    swapped[2] -= 3; // outer SEQUENCE length
    swapped[7] -= 3; // AlgorithmIdentifier length
    let err = SigningKey::from_pkcs8_der(&swapped).unwrap_err();
    assert!(
        err.to_string().contains("ECDSA PKCS#8 key rejected"),
        "{err}"
    );
    // An Ed25519 document with the EC OIDs' place taken by an unknown algorithm.
    let ed = SigningKey::generate(Algorithm::Ed25519)
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    let mut unknown = ed.to_vec();
    let oid = [0x06, 0x03, 0x2b, 0x65, 0x70];
    let pos = unknown.windows(5).position(|w| w == oid).unwrap();
    unknown[pos + 4] = 0x71; // id-Ed448
    assert!(matches!(
        SigningKey::from_pkcs8_der(&unknown),
        Err(CryptoError::Unsupported(_))
    ));
}

#[test]
fn ed25519_s_not_reduced_is_rejected() {
    // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let sig = key.sign(b"m").unwrap();
    // s + L (fits: s < L < 2^253) is the same scalar mod L: a lenient verifier accepts it.
    let mut malleated = sig.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(malleated[32 + i]) + u16::from(L[i]) + carry;
        malleated[32 + i] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    assert_eq!(
        key.verifying_key().verify(b"m", &malleated),
        Err(CryptoError::BadSignature)
    );
    // s = L exactly, with the real R.
    let mut s_eq_l = sig.clone();
    s_eq_l[32..].copy_from_slice(&L);
    assert_eq!(
        key.verifying_key().verify(b"m", &s_eq_l),
        Err(CryptoError::BadSignature)
    );
}

/// Scalar arithmetic mod L for building a crafted signature (test-only, not constant time).
mod scalar {
    /// L = 2^252 + 27742317777372353535851937790883648493, little-endian u64 limbs.
    const L: [u64; 4] = [
        0x5812631a5cf5d3ed,
        0x14def9dea2f79cd6,
        0,
        0x1000000000000000,
    ];

    fn geq(a: &[u64; 4], b: &[u64; 4]) -> bool {
        for i in (0..4).rev() {
            if a[i] != b[i] {
                return a[i] > b[i];
            }
        }
        true
    }

    /// (a + b) mod L for a, b < L (no overflow: L < 2^253).
    fn add(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let v = u128::from(a[i]) + u128::from(b[i]) + carry;
            out[i] = v as u64;
            carry = v >> 64;
        }
        if geq(&out, &L) {
            let mut borrow = 0i128;
            for i in 0..4 {
                let v = i128::from(out[i]) - i128::from(L[i]) - borrow;
                out[i] = v as u64;
                borrow = i128::from(v < 0);
            }
        }
        out
    }

    /// `bytes` (little-endian, any length) mod L, by double-and-add from the top bit.
    pub fn reduce(bytes: &[u8]) -> [u64; 4] {
        let mut r = [0u64; 4];
        let one = [1, 0, 0, 0];
        for byte in bytes.iter().rev() {
            for bit in (0..8).rev() {
                r = add(&r, &r);
                if byte >> bit & 1 == 1 {
                    r = add(&r, &one);
                }
            }
        }
        r
    }

    /// (a · b) mod L with `b` given as little-endian bytes.
    pub fn mul(a: &[u64; 4], b: &[u8]) -> [u64; 4] {
        let mut r = [0u64; 4];
        for byte in b.iter().rev() {
            for bit in (0..8).rev() {
                r = add(&r, &r);
                if byte >> bit & 1 == 1 {
                    r = add(&r, a);
                }
            }
        }
        r
    }

    pub fn to_bytes(x: &[u64; 4]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in x.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
        }
        out
    }
}

/// A signature whose `R` is the identity (small order), made with the real secret:
/// S = H(R‖A‖M)·a, so [S]B = R + [k]A holds and the cofactorless *lenient* equation accepts it.
/// `verify_strict` must reject it: such signatures are what let one signature pass for
/// several keys or messages in lenient implementations.
#[test]
fn ed25519_small_order_r_is_rejected() {
    use sha2::{Digest as _, Sha512};
    let seed = [0x42u8; 32];
    let key = SigningKey::from_ed25519_seed(&seed).unwrap();
    let public = key.verifying_key().public_bytes();
    let mut a: [u8; 32] = Sha512::digest(seed)[..32].try_into().unwrap();
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let mut r = [0u8; 32];
    r[0] = 1; // the identity point (0, 1)
    let msg = b"small-order R";
    let k = scalar::reduce(
        &Sha512::new()
            .chain_update(r)
            .chain_update(&public)
            .chain_update(msg)
            .finalize(),
    );
    let s = scalar::to_bytes(&scalar::mul(&k, &a));
    let sig = [r, s].concat();

    // The vector is real: dalek's lenient `verify` accepts it.
    let dalek =
        ed25519_dalek::VerifyingKey::from_bytes(&public.clone().try_into().unwrap()).unwrap();
    let dalek_sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    ed25519_dalek::Verifier::verify(&dalek, msg, &dalek_sig).unwrap();
    // Ours does not.
    assert_eq!(
        key.verifying_key().verify(msg, &sig),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn ecdsa_raw_r_s_is_rejected() {
    for (alg, n) in [
        (Algorithm::EcdsaP256Sha256, 32),
        (Algorithm::EcdsaP384Sha384, 48),
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let der = key.sign(b"m").unwrap();
        let raw = der_to_raw(&der, n);
        assert_eq!(raw.len(), 2 * n);
        assert_eq!(
            key.verifying_key().verify(b"m", &raw),
            Err(CryptoError::BadSignature)
        );
        // Sanity: the same (r, s) re-encoded as DER verifies.
        assert_eq!(der_signature(&raw[..n], &raw[n..]), der);
        key.verifying_key().verify(b"m", &der).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn b64_round_trip(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let text = b64::encode(&data);
        prop_assert_eq!(b64::decode(&text).unwrap(), data);
    }

    /// Whatever decodes re-encodes to the same text: one text per byte string.
    #[test]
    fn b64_canonical(text in "[A-Za-z0-9_=+/ -]{0,24}") {
        if let Ok(bytes) = b64::decode(&text) {
            prop_assert_eq!(b64::encode(&bytes), text);
        }
    }

    #[test]
    fn malformed_inputs_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        text in ".{0,200}",
    ) {
        let _ = b64::decode(&text);
        let _ = SigningKey::from_pkcs8_der(&bytes);
        let _ = SigningKey::from_pkcs8_pem(&text);
        let _ = SigningKey::from_pkcs8_pem(&format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", b64::encode(&bytes)));
        for alg in SIGNATURE_ALGS {
            let _ = VerifyingKey::from_public_bytes(alg, &bytes);
        }
        let _ = cphar_crypto::CmacAes128Key::from_slice(&bytes);
        let v = serde_json::json!({"kty": "EC", "crv": "P-256", "x": text.clone(), "y": b64::encode(&bytes)});
        let _ = cphar_crypto::Jwk::from_json(&v);
    }

    #[test]
    fn random_signatures_are_rejected(sig in proptest::collection::vec(any::<u8>(), 0..120)) {
        for key in fixed_keys() {
            prop_assert!(key.verify(b"m", &sig).is_err());
        }
    }

    /// Our CMAC against AWS-LC's, an independent implementation.
    #[test]
    fn cmac_matches_aws_lc(key in any::<[u8; 16]>(), msg in proptest::collection::vec(any::<u8>(), 0..80)) {
        let ours = cphar_crypto::CmacAes128Key::from_slice(&key).unwrap().mac(&msg);
        let theirs_key = aws_lc_rs::cmac::Key::new(aws_lc_rs::cmac::AES_128, &key).unwrap();
        let theirs = aws_lc_rs::cmac::sign(&theirs_key, &msg).unwrap();
        prop_assert_eq!(ours.as_slice(), theirs.as_ref());
    }
}

fn fixed_keys() -> &'static [VerifyingKey] {
    static KEYS: std::sync::OnceLock<Vec<VerifyingKey>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        SIGNATURE_ALGS
            .iter()
            .map(|a| SigningKey::generate(*a).unwrap().verifying_key())
            .collect()
    })
}
