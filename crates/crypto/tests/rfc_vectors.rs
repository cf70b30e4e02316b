//! Published test vectors: RFC 8037 (Ed25519 JWK, thumbprint, JWS signature), RFC 7517/7638
//! (EC JWK thumbprint), RFC 4493 (AES-CMAC); and JWK rejections.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

mod common;

use common::hex;
use cphar_crypto::{Algorithm, CmacAes128Key, CryptoError, Jwk, SigningKey, VerifyingKey, b64};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const RFC8037_SIG: &str =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

fn rfc7517_a1() -> Value {
    json!({"kty":"EC","crv":"P-256",
        "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        "use":"enc","kid":"1"})
}

#[test]
fn rfc8037_a3_thumbprint() {
    let jwk = Jwk::from_json(&json!({"crv":"Ed25519","kty":"OKP","x":RFC8037_X})).unwrap();
    assert_eq!(
        jwk.thumbprint_b64().unwrap(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert_eq!(
        jwk.thumbprint_urn().unwrap(),
        "urn:ietf:params:oauth:jwk-thumbprint:sha-256:kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    // Optional members do not change an RFC 7638 thumbprint.
    let with_extras = Jwk::from_json(
        &json!({"kty":"OKP","crv":"Ed25519","x":RFC8037_X,"kid":"a","alg":"EdDSA","use":"sig","extra":[1]}),
    )
    .unwrap();
    assert_eq!(with_extras.thumbprint().unwrap(), jwk.thumbprint().unwrap());
}

#[test]
fn rfc8037_a4_a5_ed25519_jws_signature() {
    let jwk = Jwk::from_json(&json!({"kty":"OKP","crv":"Ed25519","x":RFC8037_X})).unwrap();
    let key = VerifyingKey::from_jwk(&jwk).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Ed25519);
    let sig = b64::decode(RFC8037_SIG).unwrap();
    key.verify(RFC8037_INPUT.as_bytes(), &sig).unwrap();
    assert_eq!(
        key.verify(b"eyJhbGciOiJFZERTQSJ9.X", &sig),
        Err(CryptoError::BadSignature)
    );

    // Ed25519 is deterministic: signing with the RFC's private key gives the RFC's bytes.
    let seed: [u8; 32] = b64::decode(RFC8037_D).unwrap().try_into().unwrap();
    let signer = SigningKey::from_ed25519_seed(&seed).unwrap();
    assert_eq!(signer.verifying_key(), key);
    assert_eq!(signer.verifying_key().to_jwk(), jwk);
    assert_eq!(signer.sign(RFC8037_INPUT.as_bytes()).unwrap(), sig);
}

#[test]
fn rfc7517_a1_ec_key_and_thumbprint() {
    let jwk = Jwk::from_json(&rfc7517_a1()).unwrap();
    assert_eq!(jwk.use_.as_deref(), Some("enc"));
    assert_eq!(jwk.kid.as_deref(), Some("1"));
    let key = VerifyingKey::from_jwk(&jwk).unwrap();
    assert_eq!(key.algorithm(), Algorithm::EcdsaP256Sha256);
    assert_eq!(key.public_bytes().len(), 65);

    // RFC 7638 §3: required members only, lexicographic order, no whitespace — by hand.
    let canonical = concat!(
        r#"{"crv":"P-256","kty":"EC","#,
        r#""x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","#,
        r#""y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}"#
    );
    let expected: [u8; 32] = Sha256::digest(canonical.as_bytes()).into();
    assert_eq!(jwk.thumbprint().unwrap(), expected);
    assert_eq!(jwk.thumbprint_b64().unwrap(), b64::encode(&expected));
    // The JWK produced from the key has the same thumbprint (it drops use/kid).
    assert_eq!(key.to_jwk().thumbprint().unwrap(), expected);
}

#[test]
fn jwk_to_json_round_trip() {
    let v = rfc7517_a1();
    let jwk = Jwk::from_json(&v).unwrap();
    assert_eq!(Jwk::from_json(&jwk.to_json()).unwrap(), jwk);
    let okp = VerifyingKey::from_jwk(
        &Jwk::from_json(&json!({"kty":"OKP","crv":"Ed25519","x":RFC8037_X})).unwrap(),
    )
    .unwrap()
    .to_jwk()
    .to_json();
    assert_eq!(
        okp.to_string(),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{RFC8037_X}"}}"#)
    );
}

#[test]
fn rfc4493_aes_cmac() {
    let key = CmacAes128Key::from_slice(&hex("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
    let m = hex(
        "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
         30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
    );
    let cases = [
        (0, "bb1d6929e95937287fa37d129b756746"),
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),
        (40, "dfa66747de9ae63030ca32611497c827"),
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ];
    for (len, tag) in cases {
        let tag = hex(tag);
        assert_eq!(key.mac(&m[..len]).as_slice(), tag.as_slice(), "Mlen {len}");
        key.verify(&m[..len], &tag).unwrap();
        let mut bad = tag.clone();
        bad[15] ^= 1;
        assert_eq!(key.verify(&m[..len], &bad), Err(CryptoError::BadMac));
        assert_eq!(key.verify(&m[..len], &tag[..8]), Err(CryptoError::BadMac));
    }
}

#[test]
fn cmac_key_length_and_debug() {
    for len in [0, 15, 17, 24, 32] {
        assert!(matches!(
            CmacAes128Key::from_slice(&vec![7; len]),
            Err(CryptoError::InvalidKey(_))
        ));
    }
    let key = CmacAes128Key::from_slice(&[0xAB; 16]).unwrap();
    let dbg = format!("{key:?}");
    assert!(
        !dbg.to_lowercase().contains("abab") && !dbg.contains("171"),
        "{dbg}"
    );
    let generated = CmacAes128Key::generate().unwrap();
    assert_ne!(generated.mac(b"m"), key.mac(b"m"));
}

#[test]
fn profile_c_oct_jwk() {
    let jwk = Jwk::from_json(&json!({"kty":"oct","alg":"CMAC-AES128","kid":"seal-c-1"})).unwrap();
    assert_eq!(jwk.kty, "oct");
    assert_eq!(jwk.kid.as_deref(), Some("seal-c-1"));
    assert!(matches!(
        VerifyingKey::from_jwk(&jwk),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(matches!(jwk.thumbprint(), Err(CryptoError::Unsupported(_))));
    assert_eq!(Jwk::from_json(&jwk.to_json()).unwrap(), jwk);
}

fn rejected(v: Value) -> CryptoError {
    match Jwk::from_json(&v) {
        Ok(j) => panic!("accepted {v}: {j:?}"),
        Err(e) => e,
    }
}

#[test]
fn jwk_rejects_private_members() {
    for m in ["d", "k", "p", "q", "dp", "dq", "qi", "oth"] {
        let mut v = json!({"kty":"OKP","crv":"Ed25519","x":RFC8037_X});
        v[m] = json!(RFC8037_D);
        let e = rejected(v);
        assert!(e.to_string().contains(&format!("'{m}'")), "{e}");
        assert!(!e.to_string().contains(RFC8037_D));
    }
    // Profile C with the key itself published.
    rejected(json!({"kty":"oct","alg":"CMAC-AES128","kid":"c","k":"AAAAAAAAAAAAAAAAAAAAAA"}));
    // A private member of any JSON type, even null.
    rejected(json!({"kty":"EC","crv":"P-256","x":"","y":"","d":null}));
}

#[test]
fn jwk_rejects_malformed() {
    let x = RFC8037_X;
    let ec = rfc7517_a1();
    let (ex, ey) = (ec["x"].as_str().unwrap(), ec["y"].as_str().unwrap());
    let cases = [
        json!("not an object"),
        json!([1, 2]),
        json!({"crv":"Ed25519","x":x}),                    // no kty
        json!({"kty":1,"crv":"Ed25519","x":x}),            // kty not a string
        json!({"kty":"OKP","x":x}),                        // no crv
        json!({"kty":"OKP","crv":"Ed25519"}),              // no x
        json!({"kty":"OKP","crv":"Ed25519","x":null}),     // x mistyped
        json!({"kty":"OKP","crv":"Ed25519","x":&x[..42]}), // 31 bytes
        json!({"kty":"OKP","crv":"Ed25519","x":format!("{x}AA")}), // 33 bytes
        json!({"kty":"OKP","crv":"Ed25519","x":format!("{x}=")}), // padded
        json!({"kty":"OKP","crv":"Ed25519","x":x.replace('_', "/")}), // standard alphabet
        json!({"kty":"OKP","crv":"Ed25519","x":format!(" {x}")}), // whitespace
        json!({"kty":"OKP","crv":"Ed25519","x":x,"y":x}),  // y on OKP
        json!({"kty":"OKP","crv":"Ed25519","x":x,"alg":"ES256"}), // inconsistent alg
        json!({"kty":"OKP","crv":"Ed25519","x":x,"kid":7}), // kid mistyped
        json!({"kty":"EC","crv":"P-256","x":ex}),          // no y
        json!({"kty":"EC","x":ex,"y":ey}),                 // no crv
        json!({"kty":"EC","crv":"P-384","x":ex,"y":ey}),   // 32-byte coords for P-384
        json!({"kty":"EC","crv":"P-256","x":ex,"y":ey,"alg":"ES384"}),
        json!({"kty":"EC","crv":"P-256","x":&ex[..42],"y":ey}), // short x (leading zero dropped)
        json!({"kty":"oct","kid":"c"}),                         // oct without alg
        json!({"kty":"oct","alg":"HS256","kid":"c"}),           // another oct alg
        json!({"kty":"oct","alg":"CMAC-AES128"}),               // oct without kid
        json!({"kty":"oct","alg":"CMAC-AES128","kid":""}),      // empty kid
    ];
    for v in cases {
        let e = rejected(v.clone());
        assert!(matches!(e, CryptoError::InvalidJwk(_)), "{v}: {e:?}");
    }
}

#[test]
fn jwk_rejects_unsupported_types_and_curves() {
    let ec = rfc7517_a1();
    for v in [
        json!({"kty":"RSA","n":"AQAB","e":"AQAB"}),
        json!({"kty":"okp","crv":"Ed25519","x":RFC8037_X}), // case matters
        json!({"kty":"OKP","crv":"Ed448","x":RFC8037_X}),
        json!({"kty":"OKP","crv":"X25519","x":RFC8037_X}),
        json!({"kty":"EC","crv":"secp256k1","x":ec["x"],"y":ec["y"]}),
        json!({"kty":"EC","crv":"P-521","x":ec["x"],"y":ec["y"]}),
    ] {
        assert!(
            matches!(rejected(v.clone()), CryptoError::Unsupported(_)),
            "{v}"
        );
    }
}

#[test]
fn jwk_rejects_invalid_points() {
    // Off-curve: y + 1.
    let mut y = b64::decode("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM").unwrap();
    y[31] ^= 1;
    let off = json!({"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":b64::encode(&y)});
    assert!(matches!(rejected(off.clone()), CryptoError::InvalidKey(_)));
    // A hand-built Jwk skips from_json; from_jwk validates again.
    let hand = Jwk {
        y: Some(b64::encode(&y)),
        ..Jwk::from_json(&rfc7517_a1()).unwrap()
    };
    assert!(matches!(
        VerifyingKey::from_jwk(&hand),
        Err(CryptoError::InvalidKey(_))
    ));
    // The point at infinity has no affine encoding; (0, 0) is not on P-256.
    let zero = b64::encode(&[0; 32]);
    assert!(matches!(
        rejected(json!({"kty":"EC","crv":"P-256","x":zero,"y":zero})),
        CryptoError::InvalidKey(_)
    ));
    // Coordinates ≥ p: x = p for P-256.
    let p = hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    assert!(
        VerifyingKey::from_public_bytes(Algorithm::EcdsaP256Sha256, &[&[4u8][..], &p, &p].concat())
            .is_err()
    );

    // Ed25519: the identity (small order) and a non-canonical encoding (y = p) are refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        rejected(json!({"kty":"OKP","crv":"Ed25519","x":b64::encode(&identity)})),
        CryptoError::InvalidKey(_)
    ));
    let mut y_eq_p = [0xffu8; 32];
    y_eq_p[0] = 0xed;
    y_eq_p[31] = 0x7f;
    assert!(VerifyingKey::from_public_bytes(Algorithm::Ed25519, &y_eq_p).is_err());
    // y = p + 1 decodes to the same point as y = 1 in lenient decoders; non-canonical here.
    let mut y_p1 = y_eq_p;
    y_p1[0] = 0xee;
    assert!(VerifyingKey::from_public_bytes(Algorithm::Ed25519, &y_p1).is_err());
}

#[test]
fn from_public_bytes_formats() {
    let key = VerifyingKey::from_jwk(&Jwk::from_json(&rfc7517_a1()).unwrap()).unwrap();
    let point = key.public_bytes();
    assert_eq!(
        VerifyingKey::from_public_bytes(Algorithm::EcdsaP256Sha256, &point).unwrap(),
        key
    );
    // Compressed point, bare coordinates, wrong curve and CMAC are all refused.
    let mut compressed = vec![0x02 | (point[64] & 1)];
    compressed.extend_from_slice(&point[1..33]);
    assert!(VerifyingKey::from_public_bytes(Algorithm::EcdsaP256Sha256, &compressed).is_err());
    assert!(VerifyingKey::from_public_bytes(Algorithm::EcdsaP256Sha256, &point[1..]).is_err());
    assert!(VerifyingKey::from_public_bytes(Algorithm::EcdsaP384Sha384, &point).is_err());
    assert!(matches!(
        VerifyingKey::from_public_bytes(Algorithm::CmacAes128, &[0; 16]),
        Err(CryptoError::Unsupported(_))
    ));
    assert!(VerifyingKey::from_public_bytes(Algorithm::Ed25519, &[0; 31]).is_err());
}
