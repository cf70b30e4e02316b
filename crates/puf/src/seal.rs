//! The BAL-3 PUF seal (seed 002 §3.3): its binding key is re-derived from a fresh noisy PUF
//! read on **every** challenge and never stored. The derived seed lives in a zeroized buffer,
//! becomes a signing key for one answer, and is dropped (and zeroized) before `respond`
//! returns.
//!
//! The answer itself is the software seal's ([`SoftwareSeal`]), built around the derived key
//! for one call: the response format, the request-member check and the status signature are
//! the same code for every kind of seal.
//!
//! A [`PufDevice`] is what a simulated device is made of: the device seed (its "silicon"),
//! its noise level and its public helper data. **Simulated, development only**: whoever holds
//! the device file can derive the key, exactly as whoever holds a physical PUF chip can.

use crate::extractor::{FuzzyExtractor, HelperData, PufError};
use crate::sram::SimulatedSram;
use cphar_crypto::{CryptoError, SigningKey, VerifyingKey};
use cphar_protocol::seal::{SealError, SealKey, SoftwareSeal};
use cphar_protocol::{Bal, ChallengeRequest, ChallengeResponse, DeviceStatus, Timestamp};
use rand::{CryptoRng, Rng};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// `format` member of a device file.
pub const DEVICE_FORMAT: &str = "cphar-simulated-puf-device/v1";

/// Why a PUF seal could not answer (or a device file could not be used).
#[derive(Debug, thiserror::Error)]
pub enum PufSealError {
    /// The key could not be re-derived.
    #[error("PUF key derivation failed: {0}")]
    Puf(#[from] PufError),
    /// The derived seed did not make a working key.
    #[error("derived key unusable: {0}")]
    Crypto(#[from] CryptoError),
    /// The answer could not be built or signed.
    #[error("{0}")]
    Seal(#[from] SealError),
    /// The device file is not one this version writes.
    #[error("not a simulated PUF device file: {0}")]
    DeviceFile(&'static str),
}

impl PufSealError {
    /// A stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            PufSealError::Puf(e) => e.code(),
            PufSealError::Crypto(_) => "puf_derived_key_unusable",
            PufSealError::Seal(SealError::UnknownRequestMember(_)) => "unknown_request_member",
            PufSealError::Seal(_) => "seal_signing_failed",
            PufSealError::DeviceFile(_) => "puf_device_file_invalid",
        }
    }
}

/// A simulated PUF device: device seed, noise level and helper data.
#[derive(Clone)]
pub struct PufDevice {
    seed: Zeroizing<[u8; 32]>,
    mean_flip: f64,
    helper: HelperData,
}

impl std::fmt::Debug for PufDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PufDevice(mean flip {}, {:?})",
            self.mean_flip, self.helper
        )
    }
}

impl PufDevice {
    /// Manufactures the device of `seed` with noise `mean_flip` and enrolls it: a majority
    /// enrollment read, then the fuzzy extractor. Returns the device and its public key (the
    /// key itself is dropped).
    ///
    /// # Errors
    /// [`PufSealError::Puf`] or [`PufSealError::Crypto`].
    pub fn enroll<R: CryptoRng + ?Sized>(
        seed: [u8; 32],
        mean_flip: f64,
        extractor: &FuzzyExtractor,
        rng: &mut R,
    ) -> Result<(PufDevice, VerifyingKey), PufSealError> {
        let seed = Zeroizing::new(seed);
        let sram = SimulatedSram::new(&seed, mean_flip);
        let reference = sram.enrollment_read(rng);
        let (derived, helper) = extractor.enroll(&reference, rng)?;
        let public = SigningKey::from_ed25519_seed(&derived)?.verifying_key();
        Ok((
            PufDevice {
                seed,
                mean_flip,
                helper,
            },
            public,
        ))
    }

    /// The public helper data.
    pub fn helper_data(&self) -> &HelperData {
        &self.helper
    }

    /// The device with its helper data replaced (tests of tampered helper data).
    pub fn with_helper_data(mut self, helper: HelperData) -> Self {
        self.helper = helper;
        self
    }

    /// The device file: JSON with the seed (base64url), the noise level and the helper data
    /// (base64url). Secret: the seed is the device.
    pub fn to_json(&self) -> Zeroizing<String> {
        Zeroizing::new(
            json!({
                "format": DEVICE_FORMAT,
                "deviceSeed": cphar_crypto::b64::encode(self.seed.as_slice()),
                "meanFlip": self.mean_flip,
                "helperData": cphar_crypto::b64::encode(&self.helper.to_bytes()),
            })
            .to_string(),
        )
    }

    /// Parses a device file.
    ///
    /// # Errors
    /// [`PufSealError::DeviceFile`], or [`PufSealError::Puf`] for bad helper data.
    pub fn from_json(value: &Value) -> Result<Self, PufSealError> {
        if value.get("format").and_then(Value::as_str) != Some(DEVICE_FORMAT) {
            return Err(PufSealError::DeviceFile("format"));
        }
        let seed_text = value
            .get("deviceSeed")
            .and_then(Value::as_str)
            .ok_or(PufSealError::DeviceFile("deviceSeed"))?;
        let seed_bytes = Zeroizing::new(
            cphar_crypto::b64::decode(seed_text)
                .map_err(|_| PufSealError::DeviceFile("deviceSeed"))?,
        );
        let seed: [u8; 32] = seed_bytes
            .as_slice()
            .try_into()
            .map_err(|_| PufSealError::DeviceFile("deviceSeed"))?;
        let mean_flip = value
            .get("meanFlip")
            .and_then(Value::as_f64)
            .filter(|f| (0.0..=0.5).contains(f))
            .ok_or(PufSealError::DeviceFile("meanFlip"))?;
        let helper_text = value
            .get("helperData")
            .and_then(Value::as_str)
            .ok_or(PufSealError::DeviceFile("helperData"))?;
        let helper_bytes = cphar_crypto::b64::decode(helper_text)
            .map_err(|_| PufSealError::DeviceFile("helperData"))?;
        Ok(PufDevice {
            seed: Zeroizing::new(seed),
            mean_flip,
            helper: HelperData::from_bytes(&helper_bytes)?,
        })
    }
}

/// A seal whose key comes from its PUF on every call.
pub struct PufSeal {
    sram: SimulatedSram,
    helper: HelperData,
    extractor: FuzzyExtractor,
    binding_method: String,
    bal: Bal,
    status: DeviceStatus,
}

impl PufSeal {
    /// The seal of `device` for `binding_method` at `bal` (BAL-3 for a PUF seal).
    pub fn new(
        device: &PufDevice,
        extractor: FuzzyExtractor,
        binding_method: String,
        bal: Bal,
    ) -> Self {
        PufSeal {
            sram: SimulatedSram::new(&device.seed, device.mean_flip),
            helper: device.helper.clone(),
            extractor,
            binding_method,
            bal,
            status: DeviceStatus::Operational,
        }
    }

    /// Sets the status this seal reports.
    pub fn set_status(&mut self, status: DeviceStatus) {
        self.status = status;
    }

    /// The key, from one fresh read; the caller drops it as soon as it is used.
    fn derive<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<SigningKey, PufSealError> {
        let read = self.sram.read(rng);
        let seed = self.extractor.reproduce(&read, &self.helper)?;
        Ok(SigningKey::from_ed25519_seed(&seed)?)
    }

    /// The public key, from a fresh read (what the registry binds).
    ///
    /// # Errors
    /// As [`PufSeal::respond`].
    pub fn verifying_key<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<VerifyingKey, PufSealError> {
        Ok(self.derive(rng)?.verifying_key())
    }

    /// Answers `request` at device time `now`: reads the PUF (noise from `rng`), re-derives
    /// the key, signs, and drops the key.
    ///
    /// # Errors
    /// [`PufSealError::Puf`] when the read cannot be corrected or the helper data was
    /// altered (no answer is signed with a wrong key), [`PufSealError::Seal`] as
    /// [`SoftwareSeal::respond`].
    pub fn respond<R: Rng + ?Sized>(
        &self,
        request: &ChallengeRequest,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<ChallengeResponse, PufSealError> {
        let mut seal = SoftwareSeal::new(self.derive(rng)?, self.binding_method.clone(), self.bal);
        seal.set_status(self.status);
        let response = seal.respond(request, now)?;
        // `seal` (and the dalek key inside, zeroized on drop) ends here.
        drop(seal);
        Ok(response)
    }
}

/// A PUF-derived binding key behind the seal's key interface ([`SealKey`]), so that a PUF
/// seal answers through the same seal code as a software or token key: every signature
/// re-derives the key from a fresh noisy read (noise from a generator seeded by the OS CSPRNG)
/// and drops it. Only the public key, derived once when opened, is kept.
pub struct PufKey {
    sram: SimulatedSram,
    helper: HelperData,
    extractor: FuzzyExtractor,
    public: VerifyingKey,
}

impl PufKey {
    /// Opens `device`: one read to learn the public key.
    ///
    /// # Errors
    /// [`PufSealError::Puf`] when the read cannot be corrected or the helper data was altered.
    pub fn open(device: &PufDevice, extractor: FuzzyExtractor) -> Result<Self, PufSealError> {
        let sram = SimulatedSram::new(&device.seed, device.mean_flip);
        let helper = device.helper.clone();
        let public = derive_fresh(&sram, &helper, &extractor)?.verifying_key();
        Ok(PufKey {
            sram,
            helper,
            extractor,
            public,
        })
    }
}

/// The key from one fresh read, read noise from a generator seeded by the OS CSPRNG.
fn derive_fresh(
    sram: &SimulatedSram,
    helper: &HelperData,
    extractor: &FuzzyExtractor,
) -> Result<SigningKey, PufSealError> {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::from_seed(cphar_crypto::random_bytes::<32>()?);
    let read = sram.read(&mut rng);
    let seed = extractor.reproduce(&read, helper)?;
    Ok(SigningKey::from_ed25519_seed(&seed)?)
}

impl SealKey for PufKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // A read the extractor cannot correct signs nothing (never with a wrong key).
        let key = derive_fresh(&self.sram, &self.helper, &self.extractor)
            .map_err(|_| CryptoError::Signing)?;
        key.sign(msg)
    }

    fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }
}
