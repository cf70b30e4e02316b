//! A seal's binding key held by a PKCS#11 token (secure element, HSM; SoftHSM2 in tests).
//!
//! Seed 002 BAL-2: the key pair is generated on the device and the private key never leaves
//! the secure element; on tamper the device zeroizes it. Here:
//!
//! * [`Pkcs11SealKey::generate`] makes the pair **in the token** as token objects
//!   (`CKA_TOKEN=true`, so it outlives the process like a secure element's key) with
//!   `CKA_PRIVATE`, `CKA_SENSITIVE=true`, `CKA_EXTRACTABLE=false`, sign-only, labelled with the
//!   seal's key label. Profile A (Ed25519, `CKM_EC_EDWARDS_KEY_PAIR_GEN` / `CKM_EDDSA`) when the
//!   token offers it, else profile B (ECDSA P-256: SHA-256 here, raw `CKM_ECDSA` in the token,
//!   `r‖s` converted to DER). A label already present is refused: generation never replaces a
//!   key. The module's reported attributes are checked and a pairwise-consistency test runs.
//! * [`Pkcs11SealKey::open`] finds an existing pair by label (the agent after a restart).
//! * [`Pkcs11SealKey::destroy`] is the tamper response: `C_DestroyObject` on both halves;
//!   every later signature fails with [`Pkcs11Error::KeyDestroyed`].
//!
//! It implements [`cphar_protocol::seal::SealKey`], so [`cphar_protocol::seal::Seal`] answers
//! challenges with it exactly as with a software key. There is no export, wrap or import path;
//! [`Pkcs11SealKey::private_value_readable`] and [`Pkcs11SealKey::wrapping_refused`] exist so
//! tests can show the token refuses to reveal the key.

use crate::encoding;
use crate::{
    KeyProtection, Pkcs11Config, Pkcs11Error, context, find_slot, login, read_protection,
    value_readable, wrap_refused,
};
use cphar_crypto::{Algorithm, CryptoError, VerifyingKey};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// The message signed and verified by the pairwise-consistency test.
const PCT_MESSAGE: &[u8] = b"cphar-pkcs11 seal key pairwise consistency test";

/// Longest key label accepted (`CKA_LABEL` is free-form; a seal UID fits).
const MAX_LABEL_LEN: usize = 128;

/// The seal key's algorithm (seed 002 §6 profiles A and B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKeyAlgorithm {
    /// Profile A: Ed25519.
    Ed25519,
    /// Profile B: ECDSA P-256 with SHA-256.
    P256,
}

impl SealKeyAlgorithm {
    /// The `cphar-crypto` algorithm.
    #[must_use]
    pub fn algorithm(self) -> Algorithm {
        match self {
            SealKeyAlgorithm::Ed25519 => Algorithm::Ed25519,
            SealKeyAlgorithm::P256 => Algorithm::EcdsaP256Sha256,
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            SealKeyAlgorithm::Ed25519 => KeyType::EC_EDWARDS,
            SealKeyAlgorithm::P256 => KeyType::EC,
        }
    }

    fn ec_params(self) -> Vec<u8> {
        match self {
            SealKeyAlgorithm::Ed25519 => encoding::ED25519_EC_PARAMS.to_vec(),
            SealKeyAlgorithm::P256 => encoding::P256_EC_PARAMS.to_vec(),
        }
    }

    fn point_len(self) -> usize {
        match self {
            SealKeyAlgorithm::Ed25519 => encoding::ED25519_KEY_LEN,
            SealKeyAlgorithm::P256 => encoding::P256_POINT_LEN,
        }
    }

    fn mechanisms(self) -> [MechanismType; 2] {
        match self {
            SealKeyAlgorithm::Ed25519 => [
                MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
                MechanismType::EDDSA,
            ],
            SealKeyAlgorithm::P256 => [MechanismType::ECC_KEY_PAIR_GEN, MechanismType::ECDSA],
        }
    }
}

/// The session and the pair's handles; `None` once destroyed.
struct Inner {
    session: Session,
    keys: Option<(ObjectHandle, ObjectHandle)>,
}

/// A seal binding key pair held as non-extractable token objects.
pub struct Pkcs11SealKey {
    inner: Mutex<Inner>,
    algorithm: SealKeyAlgorithm,
    verifying_key: VerifyingKey,
    label: String,
}

impl fmt::Debug for Pkcs11SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11SealKey")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn check_label(label: &str) -> Result<(), Pkcs11Error> {
    if label.is_empty() || label.len() > MAX_LABEL_LEN || label.chars().any(char::is_control) {
        return Err(Pkcs11Error::KeygenFailed(format!(
            "key label must be 1–{MAX_LABEL_LEN} printable characters"
        )));
    }
    Ok(())
}

fn find(
    session: &Session,
    class: ObjectClass,
    label: &str,
) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| Pkcs11Error::ModuleUnavailable(format!("searching objects: {e}")))
}

/// Opens a logged-in session on the configured token.
fn session(config: &Pkcs11Config) -> Result<(Session, Vec<MechanismType>), Pkcs11Error> {
    let ctx = context(&config.module)?;
    let slot = find_slot(&ctx, &config.token_label)?;
    let mechanisms = ctx
        .get_mechanism_list(slot)
        .map_err(|e| Pkcs11Error::ModuleUnavailable(format!("listing mechanisms: {e}")))?;
    Ok((login(&ctx, slot, config.pin.as_str())?, mechanisms))
}

/// Signs `msg` with the private key `key` of `algorithm`: the profile's signature bytes.
fn sign_with(
    session: &Session,
    algorithm: SealKeyAlgorithm,
    key: ObjectHandle,
    msg: &[u8],
) -> Result<Vec<u8>, Pkcs11Error> {
    match algorithm {
        SealKeyAlgorithm::Ed25519 => session
            .sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Ed25519)),
                key,
                msg,
            )
            .map_err(|e| Pkcs11Error::SignFailed(e.to_string())),
        SealKeyAlgorithm::P256 => {
            let digest = cphar_crypto::sha256(msg);
            let raw = session
                .sign(&Mechanism::Ecdsa, key, &digest)
                .map_err(|e| Pkcs11Error::SignFailed(e.to_string()))?;
            encoding::raw_to_der(&raw, encoding::P256_SCALAR_LEN).ok_or_else(|| {
                Pkcs11Error::SignFailed(format!(
                    "module returned a {}-byte signature, expected 64",
                    raw.len()
                ))
            })
        }
    }
}

/// The public key of `public` (a `CKA_EC_POINT`) as a verifying key.
fn public_key(
    session: &Session,
    algorithm: SealKeyAlgorithm,
    public: ObjectHandle,
) -> Result<VerifyingKey, Pkcs11Error> {
    let point = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(|e| Pkcs11Error::KeygenFailed(format!("reading CKA_EC_POINT: {e}")))?
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .ok_or_else(|| Pkcs11Error::KeygenFailed("module returned no CKA_EC_POINT".into()))?;
    let bytes = encoding::unwrap_point(&point, algorithm.point_len()).ok_or_else(|| {
        Pkcs11Error::KeygenFailed(format!(
            "CKA_EC_POINT of {} bytes is not a {algorithm:?} public key",
            point.len()
        ))
    })?;
    VerifyingKey::from_public_bytes(algorithm.algorithm(), bytes)
        .map_err(|e| Pkcs11Error::KeygenFailed(format!("public key rejected: {e}")))
}

impl Pkcs11SealKey {
    /// Generates a seal key pair labelled `label` in the configured token: Ed25519 when the
    /// token offers it, else ECDSA P-256 (`prefer` overrides the choice when the token offers
    /// that algorithm).
    ///
    /// # Errors
    /// [`Pkcs11Error::KeyExists`] when a key with this label is on the token; the errors of
    /// [`crate::Pkcs11AuditKey::generate`] otherwise.
    pub fn generate(
        config: &Pkcs11Config,
        label: &str,
        prefer: Option<SealKeyAlgorithm>,
    ) -> Result<Self, Pkcs11Error> {
        check_label(label)?;
        let (session, mechanisms) = session(config)?;
        let offered =
            |alg: SealKeyAlgorithm| alg.mechanisms().iter().all(|m| mechanisms.contains(m));
        let candidates = match prefer {
            Some(alg) => vec![alg],
            None => vec![SealKeyAlgorithm::Ed25519, SealKeyAlgorithm::P256],
        };
        let algorithm = candidates
            .into_iter()
            .find(|alg| offered(*alg))
            .ok_or_else(|| {
                Pkcs11Error::KeygenFailed(
                    "the token offers neither Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA) \
                     nor ECDSA P-256 (CKM_EC_KEY_PAIR_GEN, CKM_ECDSA) as asked"
                        .into(),
                )
            })?;
        if !find(&session, ObjectClass::PRIVATE_KEY, label)?.is_empty()
            || !find(&session, ObjectClass::PUBLIC_KEY, label)?.is_empty()
        {
            return Err(Pkcs11Error::KeyExists(label.to_owned()));
        }

        let label_bytes = label.as_bytes().to_vec();
        let public_template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(algorithm.key_type()),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(algorithm.ec_params()),
            Attribute::Label(label_bytes.clone()),
        ];
        let private_template = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(algorithm.key_type()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Label(label_bytes),
        ];
        let mechanism = match algorithm {
            SealKeyAlgorithm::Ed25519 => Mechanism::EccEdwardsKeyPairGen,
            SealKeyAlgorithm::P256 => Mechanism::EccKeyPairGen,
        };
        let (public, private) = session
            .generate_key_pair(&mechanism, &public_template, &private_template)
            .map_err(|e| Pkcs11Error::KeygenFailed(e.to_string()))?;
        let key = Self::checked(session, algorithm, private, public, label);
        if key.is_err() {
            // A pair the checks refused must not stay on the token under the seal's label.
            // (The session went with the error; a new one cleans up.)
            if let Ok((cleanup, _)) = self::session(config) {
                let _ = cleanup.destroy_object(private);
                let _ = cleanup.destroy_object(public);
            }
        }
        key
    }

    /// Opens the seal key pair labelled `label` already on the configured token.
    ///
    /// # Errors
    /// [`Pkcs11Error::KeyNotFound`] when there is none (never generated, or destroyed) or
    /// more than one; [`Pkcs11Error::KeygenFailed`] when it is not a contained Ed25519 or
    /// P-256 key; the module, token and login errors.
    pub fn open(config: &Pkcs11Config, label: &str) -> Result<Self, Pkcs11Error> {
        check_label(label)?;
        let (session, _) = session(config)?;
        let (private, public) = match (
            find(&session, ObjectClass::PRIVATE_KEY, label)?.as_slice(),
            find(&session, ObjectClass::PUBLIC_KEY, label)?.as_slice(),
        ) {
            ([private], [public]) => (*private, *public),
            _ => return Err(Pkcs11Error::KeyNotFound(label.to_owned())),
        };
        let key_type = session
            .get_attributes(private, &[AttributeType::KeyType])
            .map_err(|e| Pkcs11Error::KeygenFailed(format!("reading CKA_KEY_TYPE: {e}")))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::KeyType(t) => Some(t),
                _ => None,
            });
        let algorithm = match key_type {
            Some(KeyType::EC_EDWARDS) => SealKeyAlgorithm::Ed25519,
            Some(KeyType::EC) => SealKeyAlgorithm::P256,
            other => {
                return Err(Pkcs11Error::KeygenFailed(format!(
                    "key {label:?} has type {other:?}, not an Ed25519 or P-256 seal key"
                )));
            }
        };
        Self::checked(session, algorithm, private, public, label)
    }

    /// Checks the module's attributes, reads the public key and runs the pairwise test.
    fn checked(
        session: Session,
        algorithm: SealKeyAlgorithm,
        private: ObjectHandle,
        public: ObjectHandle,
        label: &str,
    ) -> Result<Self, Pkcs11Error> {
        let protection = read_protection(&session, private)
            .map_err(|e| Pkcs11Error::KeygenFailed(format!("reading key attributes: {e}")))?;
        if !protection.is_contained() || !protection.token || !protection.private {
            return Err(Pkcs11Error::KeygenFailed(format!(
                "the key is not a contained token key: {protection:?}"
            )));
        }
        let verifying_key = public_key(&session, algorithm, public)?;
        let signature = sign_with(&session, algorithm, private, PCT_MESSAGE)?;
        verifying_key
            .verify(PCT_MESSAGE, &signature)
            .map_err(|_| Pkcs11Error::PairwiseConsistency)?;
        Ok(Pkcs11SealKey {
            inner: Mutex::new(Inner {
                session,
                keys: Some((private, public)),
            }),
            algorithm,
            verifying_key,
            label: label.to_owned(),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, Pkcs11Error> {
        self.inner
            .lock()
            .map_err(|_| Pkcs11Error::SignFailed("session lock poisoned".into()))
    }

    fn private_handle(inner: &Inner) -> Result<ObjectHandle, Pkcs11Error> {
        inner
            .keys
            .map(|(private, _)| private)
            .ok_or(Pkcs11Error::KeyDestroyed)
    }

    /// The key's `CKA_LABEL`.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> SealKeyAlgorithm {
        self.algorithm
    }

    /// Signs `msg` in the token: 64 raw bytes (Ed25519) or a DER signature (P-256).
    ///
    /// # Errors
    /// [`Pkcs11Error::KeyDestroyed`] after [`Pkcs11SealKey::destroy`];
    /// [`Pkcs11Error::SignFailed`] when the module refuses (also when another process
    /// destroyed the key).
    pub fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let inner = self.lock()?;
        let private = Self::private_handle(&inner)?;
        sign_with(&inner.session, self.algorithm, private, msg)
    }

    /// The private key's protection attributes, read from the module now.
    ///
    /// # Errors
    /// [`Pkcs11Error::KeyDestroyed`], or [`Pkcs11Error::SignFailed`] if the module cannot be
    /// queried.
    pub fn protection(&self) -> Result<KeyProtection, Pkcs11Error> {
        let inner = self.lock()?;
        let private = Self::private_handle(&inner)?;
        read_protection(&inner.session, private)
            .map_err(|e| Pkcs11Error::SignFailed(format!("reading key attributes: {e}")))
    }

    /// Whether the module hands out any byte of the private key (`CKA_VALUE`); expected
    /// `false`.
    ///
    /// # Errors
    /// As [`Pkcs11SealKey::protection`].
    pub fn private_value_readable(&self) -> Result<bool, Pkcs11Error> {
        let inner = self.lock()?;
        let private = Self::private_handle(&inner)?;
        value_readable(&inner.session, private)
    }

    /// Whether wrapping the private key out under a fresh AES key is refused with
    /// `CKR_KEY_UNEXTRACTABLE`; expected `true`.
    ///
    /// # Errors
    /// As [`Pkcs11SealKey::protection`].
    pub fn wrapping_refused(&self) -> Result<bool, Pkcs11Error> {
        let inner = self.lock()?;
        let private = Self::private_handle(&inner)?;
        wrap_refused(&inner.session, private)
    }

    /// The tamper response: destroys both halves of the pair in the token
    /// (`C_DestroyObject`). Every later signature fails; [`Pkcs11SealKey::open`] finds
    /// nothing. Destroying twice is not an error.
    ///
    /// # Errors
    /// [`Pkcs11Error::SignFailed`] if the module refuses to destroy the private key (the
    /// handles are kept so that the caller can retry).
    pub fn destroy(&self) -> Result<(), Pkcs11Error> {
        let mut inner = self.lock()?;
        let Some((private, public)) = inner.keys else {
            return Ok(());
        };
        inner
            .session
            .destroy_object(private)
            .map_err(|e| Pkcs11Error::SignFailed(format!("destroying the private key: {e}")))?;
        inner.keys = None;
        // The public half reveals nothing; a failure to remove it is not a failed tamper
        // response.
        let _ = inner.session.destroy_object(public);
        Ok(())
    }
}

impl cphar_protocol::seal::SealKey for Pkcs11SealKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.try_sign(msg).map_err(|_| CryptoError::Signing)
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key.clone()
    }
}
