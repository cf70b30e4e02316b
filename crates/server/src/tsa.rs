//! The RFC 3161 timestamp authority of the service. The TSA key is used for nothing else
//! (SS-3): it lives inside [`cphar_tsa::TsaSigner`], which only issues tokens.
//!
//! Serial numbers: `(genTime in Unix nanoseconds) << 32 | (epoch sequence number mod 2^32)`.
//! The trusted clock is strictly increasing within a process, so serials are monotonic there;
//! the epoch part keeps server processes sharing one database from ever issuing the same one.
//! genTime comes from the trusted clock; with the clock out of tolerance or the module in its
//! error state the answer is a rejection (timeNotAvailable / systemFailure), never a token.

use crate::node::{Node, write_secret};
use cphar_crypto::Algorithm;
use cphar_tsa::FailureInfo;
use cphar_tsa::{
    DevChainParams, Issued, Oid, TsaConfig, TsaSigner, UnixTime, certs_from_pem, certs_to_pem,
    dev_tsa_chain,
};
use parking_lot::Mutex;
use std::path::Path;
use zeroize::Zeroizing;

/// The default TSA policy OID (an arc under the private enterprise arc, documented here).
pub const DEFAULT_POLICY: &str = "1.3.6.1.4.1.57264.3161.1";

/// TSA key and chain files in the data directory when none are configured.
pub const TSA_KEY_FILE: &str = "tsa-key.pem";
/// TSA chain file (leaf first).
pub const TSA_CHAIN_FILE: &str = "tsa-chain.pem";

/// The service's TSA.
pub struct TsaService {
    signer: TsaSigner,
    chain_pem: String,
    /// Serializes serial allocation, clock reading and signing (monotonic serials).
    issue_lock: Mutex<()>,
    epoch_bits: u128,
}

impl TsaService {
    /// Loads the configured key and chain, or the data directory's dev chain (created on
    /// first start, valid 5 years).
    pub fn load(node: &Node, key: Option<&Path>, chain: Option<&Path>) -> Result<Self, String> {
        let (key_pem, chain_der) = match (key, chain) {
            (Some(k), Some(c)) => {
                let key = std::fs::read_to_string(k)
                    .map(Zeroizing::new)
                    .map_err(|e| format!("cannot read {}: {e}", k.display()))?;
                let chain = std::fs::read_to_string(c)
                    .map_err(|e| format!("cannot read {}: {e}", c.display()))?;
                (key, certs_from_pem(&chain).map_err(|e| e.to_string())?)
            }
            (None, None) => dev_files(node)?,
            _ => return Err("tsa_key and tsa_chain go together".into()),
        };
        let policy = Oid::parse(DEFAULT_POLICY).map_err(|e| e.to_string())?;
        let mut config = TsaConfig::new(chain_der.clone(), policy);
        config.fraction_digits = 3;
        let signer =
            TsaSigner::from_pkcs8_pem(&key_pem, config).map_err(|e| format!("TSA: {e}"))?;
        Ok(TsaService {
            signer,
            chain_pem: certs_to_pem(&chain_der),
            issue_lock: Mutex::new(()),
            epoch_bits: u128::from(node.epoch.unwrap_or(0) & 0xFFFF_FFFF),
        })
    }

    /// The chain, leaf first, as PEM.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// Answers a request at trusted time `now_nanos` (or refuses with `failure`).
    pub fn answer(
        &self,
        request: &[u8],
        now_nanos: Result<i128, FailureInfo>,
    ) -> Result<Issued, Vec<u8>> {
        let _guard = self.issue_lock.lock();
        let nanos = match now_nanos {
            Ok(n) => n,
            Err(failure) => return Err(self.signer.reject(failure)),
        };
        let Ok(unsigned) = u128::try_from(nanos) else {
            return Err(self.signer.reject(FailureInfo::TimeNotAvailable));
        };
        let secs = u64::try_from(unsigned / 1_000_000_000).unwrap_or(u64::MAX);
        let sub = u32::try_from(unsigned % 1_000_000_000).unwrap_or(0);
        let Some(gen_time) = UnixTime::new(secs, sub) else {
            return Err(self.signer.reject(FailureInfo::TimeNotAvailable));
        };
        let serial = (unsigned << 32) | self.epoch_bits;
        Ok(self.signer.respond(request, serial, gen_time))
    }
}

fn dev_files(node: &Node) -> Result<(Zeroizing<String>, Vec<Vec<u8>>), String> {
    let dir = &node.config.data_dir;
    let (key_path, chain_path) = (dir.join(TSA_KEY_FILE), dir.join(TSA_CHAIN_FILE));
    if !key_path.exists() {
        let now = node.clock.now_nanos();
        let secs = u64::try_from(now / 1_000_000_000).unwrap_or(0);
        let (Some(not_before), Some(not_after)) = (
            UnixTime::from_secs(secs.saturating_sub(86_400)),
            UnixTime::from_secs(secs + 5 * 365 * 86_400),
        ) else {
            return Err("the trusted time is out of the certificate range".into());
        };
        let params = DevChainParams {
            algorithm: Algorithm::EcdsaP256Sha256,
            organization: "CPHAR",
            not_before,
            not_after,
        };
        let chain = dev_tsa_chain(&params).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        write_secret(&key_path, chain.key_pem().as_bytes()).map_err(|e| e.to_string())?;
        std::fs::write(&chain_path, certs_to_pem(&chain.chain_der)).map_err(|e| e.to_string())?;
    }
    let key = std::fs::read_to_string(&key_path)
        .map(Zeroizing::new)
        .map_err(|e| format!("cannot read {}: {e}", key_path.display()))?;
    let chain = std::fs::read_to_string(&chain_path)
        .map_err(|e| format!("cannot read {}: {e}", chain_path.display()))?;
    Ok((key, certs_from_pem(&chain).map_err(|e| e.to_string())?))
}
