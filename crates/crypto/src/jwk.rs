//! Public JSON Web Keys (RFC 7517) for the three profiles, and RFC 7638 / RFC 9278 thumbprints.
//!
//! Accepted shapes (PROTOCOL.md "Keys and signatures"):
//! * `{"kty":"OKP","crv":"Ed25519","x":…}` (RFC 8037), `x` 32 bytes;
//! * `{"kty":"EC","crv":"P-256"|"P-384","x":…,"y":…}` (RFC 7518 §6.2), full-length coordinates;
//! * `{"kty":"oct","alg":"CMAC-AES128","kid":…}` without `k`: profile C, the verifier holds
//!   the key and looks it up by `kid`.
//!
//! Any private member (`d`, `k`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) is rejected outright: a
//! document that publishes a private key is broken, not merely over-informative. Members of
//! the wrong JSON type are rejected; unknown members are ignored (RFC 7517 §4). A JWK from
//! [`Jwk::from_json`] is a usable key: for `OKP`/`EC` the point itself is validated too.

use serde_json::{Map, Value};

use crate::verify::{VerifyingKey, ec_curve};
use crate::{Algorithm, CryptoError, b64, sha256};

/// JWK members that carry private or secret key material (RFC 7518 §6).
pub const PRIVATE_MEMBERS: [&str; 8] = ["d", "k", "p", "q", "dp", "dq", "qi", "oth"];

/// The `alg` value identifying a profile C (AES-128-CMAC) key reference.
pub const CMAC_AES128_JWK_ALG: &str = "CMAC-AES128";

/// RFC 9278 URN prefix for SHA-256 JWK thumbprints.
pub const THUMBPRINT_URN_PREFIX: &str = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:";

/// A public JWK. Fields hold the members as received (base64url text for `x`/`y`).
///
/// Fields are public for reading; a `Jwk` built by hand is re-validated by every operation
/// that depends on it ([`VerifyingKey::from_jwk`], [`Jwk::thumbprint`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kty`: `OKP`, `EC` or `oct`.
    pub kty: String,
    /// `crv`: `Ed25519`, `P-256` or `P-384`.
    pub crv: Option<String>,
    /// `x`: public key (OKP) or x coordinate (EC), base64url.
    pub x: Option<String>,
    /// `y`: y coordinate (EC), base64url.
    pub y: Option<String>,
    /// `alg`: intended algorithm, checked against the key type when present.
    pub alg: Option<String>,
    /// `kid`: key identifier (required for `oct`).
    pub kid: Option<String>,
    /// `use`: intended use (`sig`, `enc`), recorded but not enforced here.
    pub use_: Option<String>,
}

/// What a validated JWK describes.
enum Shape {
    /// A public key and its raw bytes (Ed25519 32 bytes, EC uncompressed point).
    Public(Algorithm, Vec<u8>),
    /// A profile C reference: the key itself is held by the verifier.
    CmacReference,
}

impl Jwk {
    pub(crate) fn new_public(kty: &str, crv: &str, x: String, y: Option<String>) -> Jwk {
        Jwk {
            kty: kty.to_owned(),
            crv: Some(crv.to_owned()),
            x: Some(x),
            y,
            alg: None,
            kid: None,
            use_: None,
        }
    }

    /// Parses and validates a public JWK.
    ///
    /// # Errors
    /// [`CryptoError::InvalidJwk`] (not an object, private member, missing or mistyped
    /// member, wrong length, inconsistent `alg`), [`CryptoError::InvalidKey`] (not a valid
    /// point), [`CryptoError::Unsupported`] (other `kty` or `crv`).
    pub fn from_json(value: &Value) -> Result<Jwk, CryptoError> {
        let obj = value
            .as_object()
            .ok_or_else(|| invalid("a JWK must be a JSON object"))?;
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(invalid(format!(
                "private key member '{member}' is not allowed in a public JWK"
            )));
        }
        let jwk = Jwk {
            kty: opt_str(obj, "kty")?.ok_or_else(|| invalid("missing required member 'kty'"))?,
            crv: opt_str(obj, "crv")?,
            x: opt_str(obj, "x")?,
            y: opt_str(obj, "y")?,
            alg: opt_str(obj, "alg")?,
            kid: opt_str(obj, "kid")?,
            use_: opt_str(obj, "use")?,
        };
        if let Shape::Public(alg, bytes) = jwk.shape()? {
            // Point validation (on-curve, canonical, not small-order) happens here, once.
            VerifyingKey::from_public_bytes(alg, &bytes)?;
        }
        Ok(jwk)
    }

    /// The JWK as a JSON object (members in the order kty, crv, x, y, alg, kid, use).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kty".into(), Value::String(self.kty.clone()));
        let optional = [
            ("crv", &self.crv),
            ("x", &self.x),
            ("y", &self.y),
            ("alg", &self.alg),
            ("kid", &self.kid),
            ("use", &self.use_),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                m.insert(name.into(), Value::String(v.clone()));
            }
        }
        Value::Object(m)
    }

    /// RFC 7638 SHA-256 thumbprint: the hash of the required members only, in lexicographic
    /// order, without whitespace (`crv,kty,x` for OKP; `crv,kty,x,y` for EC).
    ///
    /// # Errors
    /// [`CryptoError::Unsupported`] for `oct` (its thumbprint needs `k`, which profile C JWKs
    /// never carry); the validation errors of [`Jwk::from_json`] for a malformed JWK.
    pub fn thumbprint(&self) -> Result<[u8; 32], CryptoError> {
        let alg = match self.shape()? {
            Shape::Public(alg, _) => alg,
            Shape::CmacReference => {
                return Err(CryptoError::Unsupported(
                    "an oct JWK thumbprint needs 'k', which a profile C JWK does not carry".into(),
                ));
            }
        };
        // `shape` checked that crv is a known name and x/y are base64url: nothing to escape,
        // but serialising through serde_json keeps that an invariant, not an assumption.
        let s = |v: &Option<String>| Value::String(v.clone().unwrap_or_default()).to_string();
        let canonical = if alg == Algorithm::Ed25519 {
            format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                s(&self.crv),
                s(&self.x)
            )
        } else {
            format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                s(&self.crv),
                s(&self.x),
                s(&self.y)
            )
        };
        Ok(sha256(canonical.as_bytes()))
    }

    /// The thumbprint, base64url-encoded.
    ///
    /// # Errors
    /// As [`Jwk::thumbprint`].
    pub fn thumbprint_b64(&self) -> Result<String, CryptoError> {
        Ok(b64::encode(&self.thumbprint()?))
    }

    /// The thumbprint as an RFC 9278 URN
    /// (`urn:ietf:params:oauth:jwk-thumbprint:sha-256:<base64url>`).
    ///
    /// # Errors
    /// As [`Jwk::thumbprint`].
    pub fn thumbprint_urn(&self) -> Result<String, CryptoError> {
        Ok(format!("{THUMBPRINT_URN_PREFIX}{}", self.thumbprint_b64()?))
    }

    /// Structural validation: member presence, values, lengths and `alg` consistency.
    fn shape(&self) -> Result<Shape, CryptoError> {
        match self.kty.as_str() {
            "OKP" => {
                match self.crv.as_deref() {
                    Some("Ed25519") => {}
                    Some(other) => return Err(unsupported_crv("OKP", other)),
                    None => return Err(invalid("OKP key without 'crv'")),
                }
                if self.y.is_some() {
                    return Err(invalid("an OKP key has no 'y' member"));
                }
                // RFC 8037 names the JWS algorithm "EdDSA"; RFC 9864 adds "Ed25519".
                check_alg(self.alg.as_deref(), &["EdDSA", "Ed25519"])?;
                let x = decode_member("x", self.x.as_deref(), 32)?;
                Ok(Shape::Public(Algorithm::Ed25519, x))
            }
            "EC" => {
                let (alg, jose) = match self.crv.as_deref() {
                    Some("P-256") => (Algorithm::EcdsaP256Sha256, "ES256"),
                    Some("P-384") => (Algorithm::EcdsaP384Sha384, "ES384"),
                    Some(other) => return Err(unsupported_crv("EC", other)),
                    None => return Err(invalid("EC key without 'crv'")),
                };
                let len = ec_curve(alg).map_or(0, |c| c.coord_len);
                check_alg(self.alg.as_deref(), &[jose])?;
                let x = decode_member("x", self.x.as_deref(), len)?;
                let y = decode_member("y", self.y.as_deref(), len)?;
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Ok(Shape::Public(alg, point))
            }
            "oct" => {
                check_alg(self.alg.as_deref(), &[CMAC_AES128_JWK_ALG])?;
                if self.alg.is_none() {
                    return Err(invalid("an oct key must have 'alg' \"CMAC-AES128\""));
                }
                if self.kid.as_deref().is_none_or(str::is_empty) {
                    return Err(invalid("an oct key must have a non-empty 'kid'"));
                }
                if self.crv.is_some() || self.x.is_some() || self.y.is_some() {
                    return Err(invalid("an oct key has no 'crv', 'x' or 'y' member"));
                }
                Ok(Shape::CmacReference)
            }
            other => Err(CryptoError::Unsupported(format!("JWK kty '{other}'"))),
        }
    }
}

/// The algorithm and raw public bytes of a public-key JWK.
pub(crate) fn public_key_material(jwk: &Jwk) -> Result<(Algorithm, Vec<u8>), CryptoError> {
    match jwk.shape()? {
        Shape::Public(alg, bytes) => Ok((alg, bytes)),
        Shape::CmacReference => Err(CryptoError::Unsupported(
            "a profile C (oct) JWK carries no public key: the verifier holds the key".into(),
        )),
    }
}

fn invalid(msg: impl Into<String>) -> CryptoError {
    CryptoError::InvalidJwk(msg.into())
}

fn unsupported_crv(kty: &str, crv: &str) -> CryptoError {
    CryptoError::Unsupported(format!("JWK {kty} curve '{crv}'"))
}

fn opt_str(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, CryptoError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("member '{name}' must be a string"))),
    }
}

fn check_alg(alg: Option<&str>, allowed: &[&str]) -> Result<(), CryptoError> {
    match alg {
        Some(a) if !allowed.contains(&a) => Err(invalid(format!(
            "'alg' \"{a}\" does not match the key type"
        ))),
        _ => Ok(()),
    }
}

fn decode_member(name: &str, value: Option<&str>, len: usize) -> Result<Vec<u8>, CryptoError> {
    let text = value.ok_or_else(|| invalid(format!("missing required member '{name}'")))?;
    let bytes = b64::decode(text)
        .map_err(|_| invalid(format!("member '{name}' is not unpadded base64url")))?;
    if bytes.len() != len {
        return Err(invalid(format!(
            "member '{name}' must decode to {len} bytes, got {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}
