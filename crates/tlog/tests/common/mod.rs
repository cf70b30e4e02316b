//! Shared test helpers: hex, an independent naive RFC 9162 reference, and real Ed25519 note
//! signers/verifiers (ed25519-dalek) standing in for the crypto crate.
#![allow(dead_code)]
// each test binary uses a different subset
// Test helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a
// panic here is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cphar_tlog::{KeyId, NoteSigner, NoteVerifier, SIG_TYPE_ED25519, SignerError, key_id};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

pub type H = [u8; 32];

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn h(s: &str) -> H {
    hex(s).try_into().unwrap()
}

// ---- Naive reference, written from the RFC text and sharing no code with the crate. ----

fn sha256(parts: &[&[u8]]) -> H {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

pub fn ref_leaf(data: &[u8]) -> H {
    sha256(&[&[0x00], data])
}

fn ref_node(l: &H, r: &H) -> H {
    sha256(&[&[0x01], l, r])
}

/// Largest power of two strictly below n (n >= 2), by counting.
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]), §2.1.1, over leaf *data*.
pub fn ref_mth(d: &[Vec<u8>]) -> H {
    match d.len() {
        0 => sha256(&[]),
        1 => ref_leaf(&d[0]),
        n => {
            let k = k_of(n);
            ref_node(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]), §2.1.3.1.
pub fn ref_path(m: usize, d: &[Vec<u8>]) -> Vec<H> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), §2.1.4.1.
pub fn ref_proof(m: usize, d: &[Vec<u8>]) -> Vec<H> {
    fn sub(m: usize, d: &[Vec<u8>], b: bool) -> Vec<H> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![ref_mth(d)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = sub(m, &d[..k], b);
            p.push(ref_mth(&d[k..]));
            p
        } else {
            let mut p = sub(m - k, &d[k..], false);
            p.push(ref_mth(&d[..k]));
            p
        }
    }
    if m == 0 || m == d.len() {
        return vec![];
    }
    sub(m, d, true)
}

/// The shape of PATH(m, D[n]): for each proof element, bottom-up, whether the sibling is on
/// the left. Two (m, n) with the same shape make the RFC verifier compute the same thing.
pub fn ref_path_shape(m: usize, n: usize) -> Vec<bool> {
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    let mut s = if m < k {
        ref_path_shape(m, k)
    } else {
        ref_path_shape(m - k, n - k)
    };
    s.push(m >= k);
    s
}

/// Leaf data used by the exhaustive tests.
pub fn leaf_data(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| format!("leaf #{i}").into_bytes())
        .collect()
}

// ---- Real Ed25519 note keys (the crypto crate's job later; here, a test double that is honest). ----

pub struct Ed25519NoteKey {
    pub name: String,
    pub signing: SigningKey,
}

impl Ed25519NoteKey {
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        Self {
            name: name.to_owned(),
            signing: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn verifier(&self) -> Ed25519NoteVerifier {
        Ed25519NoteVerifier::new(&self.name, self.public())
    }
}

impl NoteSigner for Ed25519NoteKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        key_id(&self.name, SIG_TYPE_ED25519, &self.public())
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.signing.sign(msg).to_bytes().to_vec())
    }
}

pub struct Ed25519NoteVerifier {
    pub name: String,
    pub id: KeyId,
    pub key: VerifyingKey,
}

impl Ed25519NoteVerifier {
    pub fn new(name: &str, public: [u8; 32]) -> Self {
        Self {
            name: name.to_owned(),
            id: key_id(name, SIG_TYPE_ED25519, &public),
            key: VerifyingKey::from_bytes(&public).unwrap(),
        }
    }
}

impl NoteVerifier for Ed25519NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        Signature::from_slice(sig).is_ok_and(|s| self.key.verify_strict(msg, &s).is_ok())
    }
}

/// A signer that always fails, as an HSM might.
pub struct FailingSigner;

impl NoteSigner for FailingSigner {
    fn name(&self) -> &str {
        "hsm.example/down"
    }
    fn key_id(&self) -> KeyId {
        [0, 0, 0, 1]
    }
    fn sign(&self, _msg: &[u8]) -> Result<Vec<u8>, SignerError> {
        Err("device unreachable".into())
    }
}
