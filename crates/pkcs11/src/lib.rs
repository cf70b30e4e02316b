//! Keys held by a PKCS#11 token: the registry's audit key (this module) and a seal's binding
//! key ([`seal`]: generated as non-extractable token objects, destroyed on tamper).
//!
//! Seed 003 §5 requires the audit key (the ECDSA P-384 key that signs every audit log entry)
//! to be created inside the protected boundary and never to leave it: SS-2 ("the private key
//! portion of the audit key pair cannot be extracted") and SS-4 ("private keys cannot be
//! exported or extracted"). The in-memory [`cphar_crypto::SigningKey`] meets the ephemeral
//! half of that model; this crate meets the containment half on hardware (or SoftHSM2 in
//! tests): the key pair is generated **by the module** and this process only ever holds
//! object handles.
//!
//! What the crate owns:
//!
//! * [`Pkcs11Config`] — module path, token label and user PIN (zeroized, never printed);
//! * [`Pkcs11AuditKey`] — opens the module, finds the token by label, logs in, and generates
//!   a P-384 key pair as **session objects** (`CKA_TOKEN=false`: like the seed's ephemeral
//!   audit key it is destroyed when the session, i.e. the process, ends) with
//!   `CKA_SENSITIVE=true`, `CKA_EXTRACTABLE=false`, `CKA_SIGN=true` and no other usage. The
//!   attributes the module reports back are checked, and a pairwise-consistency test (sign,
//!   then verify with `cphar-crypto`) runs before the key is handed out. It implements
//!   [`cphar_audit::AuditKey`], so an epoch can be opened with it like with an in-memory key;
//! * [`Pkcs11SealKey`] — a seal's binding key in a token ([`seal`]);
//! * [`Pkcs11Error`] with stable [`reason codes`](Pkcs11Error::reason_code).
//!
//! Signing uses the raw `CKM_ECDSA` mechanism (the one every module offers, SoftHSM2 among
//! them): SHA-384 is computed here, the module signs the digest and returns `r‖s`, which is
//! converted to the ASN.1 DER signature the audit log carries.
//!
//! There is deliberately no export, wrap or "load existing key" path. The inspection helpers
//! ([`Pkcs11AuditKey::protection`], [`Pkcs11AuditKey::private_value_readable`],
//! [`Pkcs11AuditKey::wrapping_refused`]) exist so tests and self-tests can show that the
//! module refuses to reveal the private key.
//!
//! The PKCS#11 library is loaded and `C_Initialize`d once per module path and process, and
//! never finalized: several keys (and other code in the process) may share a module.

mod encoding;
pub mod seal;

pub use seal::{Pkcs11SealKey, SealKeyAlgorithm};

use cphar_crypto::{Algorithm, CryptoError, VerifyingKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

/// Environment variable naming the PKCS#11 module (shared library) path.
pub const ENV_MODULE: &str = "CPHAR_PKCS11_MODULE";
/// Environment variable naming the token label.
pub const ENV_TOKEN: &str = "CPHAR_PKCS11_TOKEN";
/// Environment variable holding the user PIN.
pub const ENV_PIN: &str = "CPHAR_PKCS11_PIN";

/// The message signed and verified by the pairwise-consistency test.
const PCT_MESSAGE: &[u8] = b"cphar-pkcs11 audit key pairwise consistency test";

/// Where the audit key lives: a module, a token in it, and the user PIN.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 shared library (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// Label of the token (slot ids are not stable; labels are).
    pub token_label: String,
    /// The token's user PIN. Zeroized on drop; never printed.
    pub pin: Zeroizing<String>,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

impl Pkcs11Config {
    /// Reads [`ENV_MODULE`], [`ENV_TOKEN`] and [`ENV_PIN`].
    ///
    /// The PIN is moved into a [`Zeroizing`] string at once; the copy in the process
    /// environment cannot be wiped from safe code, so launchers should prefer passing it
    /// through a file or descriptor read into [`Pkcs11Config::pin`] directly.
    ///
    /// # Errors
    /// [`Pkcs11Error::ConfigMissing`] naming the first unset (or non-UTF-8) variable.
    pub fn from_env() -> Result<Self, Pkcs11Error> {
        Self::from_env_vars(ENV_MODULE, ENV_TOKEN, ENV_PIN)
    }

    /// Reads the module path, token label and PIN from the named environment variables (the
    /// seal agent uses its own: `CPHAR_SEAL_PKCS11_*`).
    ///
    /// # Errors
    /// [`Pkcs11Error::ConfigMissing`] naming the first unset (or non-UTF-8) variable.
    pub fn from_env_vars(
        module_var: &'static str,
        token_var: &'static str,
        pin_var: &'static str,
    ) -> Result<Self, Pkcs11Error> {
        let module = std::env::var_os(module_var)
            .filter(|v| !v.is_empty())
            .ok_or(Pkcs11Error::ConfigMissing(module_var))?;
        let token_label = std::env::var(token_var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or(Pkcs11Error::ConfigMissing(token_var))?;
        let pin = Zeroizing::new(
            std::env::var(pin_var).map_err(|_| Pkcs11Error::ConfigMissing(pin_var))?,
        );
        Ok(Pkcs11Config {
            module: PathBuf::from(module),
            token_label,
            pin,
        })
    }
}

/// Everything that can go wrong. Messages carry PKCS#11 return codes, never the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// A configuration variable is missing.
    #[error("PKCS#11 configuration missing: {0}")]
    ConfigMissing(&'static str),
    /// The module could not be loaded or initialized.
    #[error("PKCS#11 module unavailable: {0}")]
    ModuleUnavailable(String),
    /// No initialized token carries the configured label.
    #[error("PKCS#11 token not found: {0:?}")]
    TokenNotFound(String),
    /// Opening a session or logging in as user failed (wrong PIN, locked PIN, …).
    #[error("PKCS#11 login failed: {0}")]
    LoginFailed(String),
    /// The module could not generate the key pair, lacks the mechanisms, or did not honour
    /// the non-extractable template.
    #[error("PKCS#11 key generation failed: {0}")]
    KeygenFailed(String),
    /// The module refused to sign (or returned a malformed signature).
    #[error("PKCS#11 signing failed: {0}")]
    SignFailed(String),
    /// The fresh key's signature did not verify with its public key.
    #[error("pairwise consistency test failed")]
    PairwiseConsistency,
    /// No key pair with this label is on the token (never generated, or destroyed).
    #[error("no seal key labelled {0:?} on the token")]
    KeyNotFound(String),
    /// A key with this label is already on the token: key generation never replaces one.
    #[error("a key labelled {0:?} is already on the token")]
    KeyExists(String),
    /// The key was destroyed (tamper response): it signs nothing any more.
    #[error("the seal key was destroyed")]
    KeyDestroyed,
}

impl Pkcs11Error {
    /// Stable machine-readable reason code.
    #[must_use]
    pub fn reason_code(&self) -> &'static str {
        match self {
            Pkcs11Error::ConfigMissing(_) => "pkcs11_config_missing",
            Pkcs11Error::ModuleUnavailable(_) => "pkcs11_module_unavailable",
            Pkcs11Error::TokenNotFound(_) => "pkcs11_token_not_found",
            Pkcs11Error::LoginFailed(_) => "pkcs11_login_failed",
            Pkcs11Error::KeygenFailed(_) => "pkcs11_keygen_failed",
            Pkcs11Error::SignFailed(_) => "pkcs11_sign_failed",
            Pkcs11Error::PairwiseConsistency => "pairwise_consistency_failed",
            Pkcs11Error::KeyNotFound(_) => "pkcs11_key_not_found",
            Pkcs11Error::KeyExists(_) => "pkcs11_key_exists",
            Pkcs11Error::KeyDestroyed => "seal_key_destroyed",
        }
    }
}

/// Protection attributes of the private key as the module reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_TOKEN`: whether the key outlives the session (always `false` here).
    pub token: bool,
    /// `CKA_PRIVATE`: usable only after login.
    pub private: bool,
    /// `CKA_SENSITIVE`: the value is never revealed in plaintext.
    pub sensitive: bool,
    /// `CKA_ALWAYS_SENSITIVE`: sensitive since generation.
    pub always_sensitive: bool,
    /// `CKA_EXTRACTABLE`: may be wrapped out.
    pub extractable: bool,
    /// `CKA_NEVER_EXTRACTABLE`: never was extractable.
    pub never_extractable: bool,
}

impl KeyProtection {
    /// Whether the key meets SS-2/SS-4: sensitive and not extractable, now and ever.
    #[must_use]
    pub fn is_contained(&self) -> bool {
        self.sensitive && self.always_sensitive && !self.extractable && self.never_extractable
    }
}

/// The session and the key's handles; only ever used under the mutex.
struct Inner {
    session: Session,
    private_key: ObjectHandle,
    public_key: ObjectHandle,
}

/// An ECDSA P-384 audit key generated inside a PKCS#11 token as a non-extractable session
/// object. Dropping it closes the session, which destroys the key in the module.
pub struct Pkcs11AuditKey {
    inner: Mutex<Inner>,
    verifying_key: VerifyingKey,
    label: String,
    token_label: String,
}

impl fmt::Debug for Pkcs11AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11AuditKey")
            .field("label", &self.label)
            .field("token_label", &self.token_label)
            .finish_non_exhaustive()
    }
}

/// One initialized context per module path, for the life of the process.
pub(crate) fn context(module: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .map_err(|_| Pkcs11Error::ModuleUnavailable("module registry lock poisoned".into()))?;
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let unavailable =
        |e: CkError| Pkcs11Error::ModuleUnavailable(format!("{}: {e}", module.display()));
    let ctx = Pkcs11::new(module).map_err(unavailable)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another user of the module in this process initialized it first: share it.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(unavailable(e)),
    }
    contexts.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// The first slot whose initialized token carries `label` (blank-padded in `CK_TOKEN_INFO`).
pub(crate) fn find_slot(ctx: &Pkcs11, label: &str) -> Result<Slot, Pkcs11Error> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| Pkcs11Error::ModuleUnavailable(format!("listing slots: {e}")))?;
    for slot in slots {
        // A slot whose token cannot be described is skipped, not fatal.
        if let Ok(info) = ctx.get_token_info(slot)
            && info.label().trim_end() == label
        {
            return Ok(slot);
        }
    }
    Err(Pkcs11Error::TokenNotFound(label.to_owned()))
}

fn bool_attr(attrs: &[Attribute], ty: AttributeType) -> Option<bool> {
    attrs.iter().find_map(|a| match (ty, a) {
        (AttributeType::Token, Attribute::Token(v))
        | (AttributeType::Private, Attribute::Private(v))
        | (AttributeType::Sensitive, Attribute::Sensitive(v))
        | (AttributeType::AlwaysSensitive, Attribute::AlwaysSensitive(v))
        | (AttributeType::Extractable, Attribute::Extractable(v))
        | (AttributeType::NeverExtractable, Attribute::NeverExtractable(v)) => Some(*v),
        _ => None,
    })
}

pub(crate) fn read_protection(
    session: &Session,
    key: ObjectHandle,
) -> Result<KeyProtection, CkError> {
    let attrs = session.get_attributes(
        key,
        &[
            AttributeType::Token,
            AttributeType::Private,
            AttributeType::Sensitive,
            AttributeType::AlwaysSensitive,
            AttributeType::Extractable,
            AttributeType::NeverExtractable,
        ],
    )?;
    // An attribute the module does not report is taken in its unsafe sense.
    Ok(KeyProtection {
        token: bool_attr(&attrs, AttributeType::Token).unwrap_or(true),
        private: bool_attr(&attrs, AttributeType::Private).unwrap_or(false),
        sensitive: bool_attr(&attrs, AttributeType::Sensitive).unwrap_or(false),
        always_sensitive: bool_attr(&attrs, AttributeType::AlwaysSensitive).unwrap_or(false),
        extractable: bool_attr(&attrs, AttributeType::Extractable).unwrap_or(true),
        never_extractable: bool_attr(&attrs, AttributeType::NeverExtractable).unwrap_or(false),
    })
}

/// Signs the SHA-384 digest of `msg` with raw `CKM_ECDSA`; returns the DER signature.
fn sign_with(session: &Session, key: ObjectHandle, msg: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
    let digest = cphar_crypto::sha384(msg);
    let raw = session
        .sign(&Mechanism::Ecdsa, key, &digest)
        .map_err(|e| Pkcs11Error::SignFailed(e.to_string()))?;
    encoding::raw_signature_to_der(&raw).ok_or_else(|| {
        Pkcs11Error::SignFailed(format!(
            "module returned a {}-byte signature, expected 96",
            raw.len()
        ))
    })
}

impl Pkcs11AuditKey {
    /// Generates a fresh audit key in the token named by `config` and self-tests it.
    ///
    /// Steps: load and initialize the module; find the slot by token label; open a
    /// read-write session and log in as user; generate an EC P-384 pair (`CKM_EC_KEY_PAIR_GEN`)
    /// as session objects labelled `label`, private half `CKA_PRIVATE`, `CKA_SENSITIVE`,
    /// not `CKA_EXTRACTABLE`, sign-only; check the module honoured that; read `CKA_EC_POINT`;
    /// sign a fixed message and verify it with `cphar-crypto`.
    ///
    /// # Errors
    /// [`Pkcs11Error::ModuleUnavailable`], [`Pkcs11Error::TokenNotFound`],
    /// [`Pkcs11Error::LoginFailed`], [`Pkcs11Error::KeygenFailed`],
    /// [`Pkcs11Error::SignFailed`] or [`Pkcs11Error::PairwiseConsistency`].
    pub fn generate(config: &Pkcs11Config, label: &str) -> Result<Self, Pkcs11Error> {
        let ctx = context(&config.module)?;
        let slot = find_slot(&ctx, &config.token_label)?;

        let mechanisms = ctx
            .get_mechanism_list(slot)
            .map_err(|e| Pkcs11Error::KeygenFailed(format!("listing mechanisms: {e}")))?;
        for needed in [MechanismType::ECC_KEY_PAIR_GEN, MechanismType::ECDSA] {
            if !mechanisms.contains(&needed) {
                return Err(Pkcs11Error::KeygenFailed(format!(
                    "token does not offer {needed}"
                )));
            }
        }

        // Login state is per application and token: another key of this process may have
        // logged in already.
        let session = login(&ctx, slot, config.pin.as_str())?;

        let label_bytes = label.as_bytes().to_vec();
        let public_template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(encoding::P384_EC_PARAMS.to_vec()),
            Attribute::Label(label_bytes.clone()),
        ];
        let private_template = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Label(label_bytes),
        ];
        let (public_key, private_key) = session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(|e| Pkcs11Error::KeygenFailed(e.to_string()))?;

        let protection = read_protection(&session, private_key)
            .map_err(|e| Pkcs11Error::KeygenFailed(format!("reading key attributes: {e}")))?;
        if !protection.is_contained() || protection.token {
            return Err(Pkcs11Error::KeygenFailed(format!(
                "module did not honour the non-extractable session-key template: {protection:?}"
            )));
        }

        let point = session
            .get_attributes(public_key, &[AttributeType::EcPoint])
            .map_err(|e| Pkcs11Error::KeygenFailed(format!("reading CKA_EC_POINT: {e}")))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| Pkcs11Error::KeygenFailed("module returned no CKA_EC_POINT".into()))?;
        let point = encoding::unwrap_ec_point(&point).ok_or_else(|| {
            Pkcs11Error::KeygenFailed(format!(
                "CKA_EC_POINT of {} bytes is not an uncompressed P-384 point",
                point.len()
            ))
        })?;
        let verifying_key = VerifyingKey::from_public_bytes(Algorithm::EcdsaP384Sha384, point)
            .map_err(|e| Pkcs11Error::KeygenFailed(format!("public point rejected: {e}")))?;

        let signature = sign_with(&session, private_key, PCT_MESSAGE)?;
        verifying_key
            .verify(PCT_MESSAGE, &signature)
            .map_err(|_| Pkcs11Error::PairwiseConsistency)?;

        Ok(Pkcs11AuditKey {
            inner: Mutex::new(Inner {
                session,
                private_key,
                public_key,
            }),
            verifying_key,
            label: label.to_owned(),
            token_label: config.token_label.clone(),
        })
    }

    /// The `CKA_LABEL` given at generation.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The label of the token holding the key.
    #[must_use]
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, Pkcs11Error> {
        self.inner
            .lock()
            .map_err(|_| Pkcs11Error::SignFailed("session lock poisoned".into()))
    }

    /// Signs `msg` (SHA-384 here, raw ECDSA in the module) and returns the DER signature.
    ///
    /// # Errors
    /// [`Pkcs11Error::SignFailed`] when the module refuses or the session is unusable.
    pub fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let inner = self.lock()?;
        sign_with(&inner.session, inner.private_key, msg)
    }

    /// The private key's protection attributes, read from the module now.
    ///
    /// # Errors
    /// [`Pkcs11Error::SignFailed`] if the module cannot be queried.
    pub fn protection(&self) -> Result<KeyProtection, Pkcs11Error> {
        let inner = self.lock()?;
        read_protection(&inner.session, inner.private_key)
            .map_err(|e| Pkcs11Error::SignFailed(format!("reading key attributes: {e}")))
    }

    /// `CKA_EXTRACTABLE` of the private key (expected `false`).
    ///
    /// # Errors
    /// As [`Pkcs11AuditKey::protection`].
    pub fn is_extractable(&self) -> Result<bool, Pkcs11Error> {
        Ok(self.protection()?.extractable)
    }

    /// Whether asking the module for the private scalar (`CKA_VALUE`) yields any bytes
    /// (expected `false`). Modules answer a sensitive key with `CKR_ATTRIBUTE_SENSITIVE` or,
    /// through `cryptoki`, with an empty attribute list; both mean "not readable". Any bytes
    /// returned are zeroized before this returns.
    ///
    /// # Errors
    /// [`Pkcs11Error::SignFailed`] if the module fails in another way.
    pub fn private_value_readable(&self) -> Result<bool, Pkcs11Error> {
        let inner = self.lock()?;
        value_readable(&inner.session, inner.private_key)
    }

    /// Tries to export the private key by wrapping it (`CKM_AES_KEY_WRAP_PAD`) under a
    /// throw-away AES-256 session key, and reports whether the module refused with
    /// `CKR_KEY_UNEXTRACTABLE` (expected `true`). The wrapping key is destroyed afterwards;
    /// if the module wrapped anyway, the output is zeroized and `false` returned.
    ///
    /// # Errors
    /// [`Pkcs11Error::SignFailed`] if the wrapping key cannot be made or the module fails
    /// for another reason.
    pub fn wrapping_refused(&self) -> Result<bool, Pkcs11Error> {
        let inner = self.lock()?;
        wrap_refused(&inner.session, inner.private_key)
    }

    /// Destroys the key pair in the module now (it would go with the session anyway).
    /// Later signatures fail.
    ///
    /// # Errors
    /// [`Pkcs11Error::SignFailed`] if the module refuses.
    pub fn destroy(&self) -> Result<(), Pkcs11Error> {
        let inner = self.lock()?;
        inner
            .session
            .destroy_object(inner.private_key)
            .map_err(|e| Pkcs11Error::SignFailed(format!("destroying private key: {e}")))?;
        inner
            .session
            .destroy_object(inner.public_key)
            .map_err(|e| Pkcs11Error::SignFailed(format!("destroying public key: {e}")))
    }
}

/// Whether the module hands out any bytes of `key`'s `CKA_VALUE` (see
/// [`Pkcs11AuditKey::private_value_readable`]); returned bytes are zeroized at once.
pub(crate) fn value_readable(session: &Session, key: ObjectHandle) -> Result<bool, Pkcs11Error> {
    match session.get_attributes(key, &[AttributeType::Value]) {
        Ok(attrs) => Ok(attrs.into_iter().any(|a| match a {
            Attribute::Value(v) => !Zeroizing::new(v).is_empty(),
            _ => false,
        })),
        Err(CkError::Pkcs11(RvError::AttributeSensitive, _)) => Ok(false),
        Err(e) => Err(Pkcs11Error::SignFailed(format!("reading CKA_VALUE: {e}"))),
    }
}

/// Whether wrapping `key` under a throw-away AES key is refused with `CKR_KEY_UNEXTRACTABLE`
/// (see [`Pkcs11AuditKey::wrapping_refused`]).
pub(crate) fn wrap_refused(session: &Session, key: ObjectHandle) -> Result<bool, Pkcs11Error> {
    let wrapping_key = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::ValueLen(Ulong::from(32)),
                Attribute::Wrap(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
            ],
        )
        .map_err(|e| Pkcs11Error::SignFailed(format!("making a wrapping key: {e}")))?;
    let outcome = session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping_key, key);
    // Best effort: the wrapping key is a session object and dies with the session anyway.
    let _ = session.destroy_object(wrapping_key);
    match outcome {
        Ok(wrapped) => {
            drop(Zeroizing::new(wrapped));
            Ok(false)
        }
        Err(CkError::Pkcs11(RvError::KeyUnextractable, _)) => Ok(true),
        Err(e) => Err(Pkcs11Error::SignFailed(format!("wrap attempt: {e}"))),
    }
}

/// Opens a read-write session on `slot` and logs in as user with `pin` (an earlier login of
/// this process on the same token counts).
pub(crate) fn login(ctx: &Pkcs11, slot: Slot, pin: &str) -> Result<Session, Pkcs11Error> {
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| Pkcs11Error::LoginFailed(format!("opening session: {e}")))?;
    let pin = AuthPin::from(pin);
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(Pkcs11Error::LoginFailed(e.to_string())),
    }
}

impl cphar_audit::AuditKey for Pkcs11AuditKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.try_sign(msg).map_err(|_| CryptoError::Signing)
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key.clone()
    }
}
