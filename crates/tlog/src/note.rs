//! C2SP `signed-note` (<https://c2sp.org/signed-note>): the text framing of checkpoints.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more lines
//! `— <key name> <base64(key ID ‖ signature)>`. This module owns that framing, the key ID
//! derivation and the Go-compatible verifier-key strings (`name+hexid+base64(type‖key)`);
//! the signature algorithms themselves stay behind [`NoteSigner`] and [`NoteVerifier`] so that
//! the crypto crate plugs them in and this crate never holds a key.
//!
//! Parsing is strict where the format leaves room for ambiguity: the whole note is checked
//! for UTF-8 and control characters before anything is split, base64 must be canonical,
//! a key (name and ID) may sign only once (Go's `note.Open` silently drops repeats; here a
//! repeat is refused, so that a note has a single reading), and notes beyond
//! [`MAX_NOTE_SIZE`] bytes or [`MAX_SIGNATURES`] signatures are refused before any signature
//! is checked.

use std::fmt::Write as _;

use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Signature type byte of Ed25519 signatures (signed-note §"Signature types").
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// Largest note accepted or produced, in bytes. The spec asks verifiers to bound notes and to
/// accept at least 16 signatures of up to ~5 kB (post-quantum); 1 MiB leaves ample room.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// Most signature lines accepted or produced (the Go reference implementation's limit; the
/// spec's floor is 16).
pub const MAX_SIGNATURES: usize = 100;

/// Em dash (U+2014) and a space: how every signature line starts.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A signed-note key ID: 4 bytes, big-endian on the wire.
pub type KeyId = [u8; 4];

/// The error a [`NoteSigner`] reports; kept opaque here, as the signing backend is not this
/// crate's business.
pub type SignerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Checks signatures for one key, identified by its name and key ID.
pub trait NoteVerifier {
    /// The key name, as it appears in signature lines.
    fn name(&self) -> &str;
    /// The key ID, as it appears in the first 4 bytes of a signature.
    fn key_id(&self) -> KeyId;
    /// Whether `signature` (without the key ID) is valid over `msg` (the note text).
    fn verify(&self, msg: &[u8], signature: &[u8]) -> bool;
}

/// Produces signatures for one key, identified by its name and key ID.
pub trait NoteSigner {
    /// The key name, as it will appear in the signature line.
    fn name(&self) -> &str;
    /// The key ID, prepended to the signature.
    fn key_id(&self) -> KeyId;
    /// Signs `msg` (the note text, final newline included).
    ///
    /// # Errors
    /// Whatever the signing backend reports; it aborts the whole signing.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Why a note could not be parsed, verified or produced.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is longer than [`MAX_NOTE_SIZE`].
    #[error("note of {size} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// [`MAX_NOTE_SIZE`].
        max: usize,
    },
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// An ASCII control character other than newline (CR included).
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// The text to sign is empty or does not end in a newline.
    #[error("note text is empty or does not end in a newline")]
    MalformedText,
    /// No blank line followed by signature lines.
    #[error("note has no signature block")]
    MissingSignatures,
    /// A signature line without the `— ` prefix, without a space after the name, or without
    /// a final newline.
    #[error("signature line {line} is malformed")]
    MalformedSignatureLine {
        /// 1-based position among the signature lines.
        line: usize,
    },
    /// A key name that is empty or contains a space or `+`.
    #[error("signature line {line} has an invalid key name")]
    InvalidKeyName {
        /// 1-based position among the signature lines (or signers).
        line: usize,
    },
    /// Signature base64 that is not canonical padded standard base64 of at least 5 bytes.
    #[error("signature line {line} does not hold base64 of a key ID and a signature")]
    InvalidSignatureEncoding {
        /// 1-based position among the signature lines.
        line: usize,
    },
    /// A signer returned an empty signature.
    #[error("signer {name} produced an empty signature")]
    EmptySignature {
        /// The signer's key name.
        name: String,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// [`MAX_SIGNATURES`].
        max: usize,
    },
    /// Two signature lines by the same key (name and key ID).
    #[error("key {name}+{} signed the note more than once", hex_id(.key_id))]
    DuplicateSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: KeyId,
    },
    /// Two verifiers given for the same key (name and key ID): the trust configuration is
    /// ambiguous, so nothing is verified.
    #[error("verifier for key {name}+{} given more than once", hex_id(.key_id))]
    DuplicateVerifier {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: KeyId,
    },
    /// A signature by a known key that does not verify: the whole note is rejected.
    #[error("signature by known key {name}+{} does not verify", hex_id(.key_id))]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: KeyId,
    },
    /// No signature by any known key.
    #[error("note has no signature by a known key")]
    NoVerifiedSignature,
    /// Signing was asked of no signer.
    #[error("no signer given")]
    NoSigners,
    /// A signer failed.
    #[error("signer {name} failed")]
    SignerFailed {
        /// The signer's key name.
        name: String,
        /// What the backend reported.
        #[source]
        source: SignerError,
    },
    /// A verifier key string that is not `name+8-hex-digits+base64(type ‖ key)`.
    #[error("malformed verifier key")]
    InvalidVerifierKey,
    /// A verifier key whose key ID does not match its name, type and key.
    #[error("verifier key ID does not match its name and key")]
    VerifierKeyIdMismatch,
}

impl NoteError {
    /// Stable machine-readable code, for logs and API answers.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "note_too_large",
            Self::NotUtf8 => "note_not_utf8",
            Self::ControlCharacter => "note_control_character",
            Self::MalformedText => "note_malformed_text",
            Self::MissingSignatures => "note_missing_signatures",
            Self::MalformedSignatureLine { .. } => "note_malformed_signature_line",
            Self::InvalidKeyName { .. } => "note_invalid_key_name",
            Self::InvalidSignatureEncoding { .. } => "note_invalid_signature_encoding",
            Self::EmptySignature { .. } => "note_empty_signature",
            Self::TooManySignatures { .. } => "note_too_many_signatures",
            Self::DuplicateSignature { .. } => "note_duplicate_signature",
            Self::DuplicateVerifier { .. } => "note_duplicate_verifier",
            Self::InvalidSignature { .. } => "note_invalid_signature",
            Self::NoVerifiedSignature => "note_unverified",
            Self::NoSigners => "note_no_signers",
            Self::SignerFailed { .. } => "note_signer_failed",
            Self::InvalidVerifierKey => "note_invalid_verifier_key",
            Self::VerifierKeyIdMismatch => "note_verifier_key_id_mismatch",
        }
    }
}

fn hex_id(id: &KeyId) -> String {
    id.iter().fold(String::with_capacity(8), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The RECOMMENDED key ID: `SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key)[:4]`.
///
/// (Signature type 0x02, ECDSA, derives its ID differently and is not covered.)
#[must_use]
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> KeyId {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', signature_type]);
    h.update(public_key);
    let [a, b, c, d, ..] = <[u8; 32]>::from(h.finalize());
    [a, b, c, d]
}

/// Whether `name` can be a key name: non-empty, no Unicode space, no `+`, no ASCII control.
#[must_use]
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < '\u{20}')
}

/// Whether `bytes` hold an ASCII control character other than newline. (In UTF-8 no
/// multi-byte sequence contains a byte below 0x80, so a byte scan is exact.)
pub(crate) fn has_control_character(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 && b != b'\n')
}

/// A note text must be non-empty, end in a newline and hold no other control character.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge {
            size: text.len(),
            max: MAX_NOTE_SIZE,
        });
    }
    if !text.ends_with('\n') {
        return Err(NoteError::MalformedText);
    }
    if has_control_character(text.as_bytes()) {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

/// One signature line: key name, key ID and signature bytes (without the key ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: KeyId,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line's content.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`] (with `line` 1) or [`NoteError::EmptySignature`].
    pub fn new(
        name: impl Into<String>,
        key_id: KeyId,
        signature: Vec<u8>,
    ) -> Result<Self, NoteError> {
        let name = name.into();
        if !is_valid_key_name(&name) {
            return Err(NoteError::InvalidKeyName { line: 1 });
        }
        if signature.is_empty() {
            return Err(NoteError::EmptySignature { name });
        }
        Ok(Self {
            name,
            key_id,
            signature,
        })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes, key ID excluded.
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    fn same_key(&self, name: &str, key_id: KeyId) -> bool {
        self.name == name && self.key_id == key_id
    }

    fn write_line(&self, out: &mut String) {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        out.push_str(SIGNATURE_PREFIX);
        out.push_str(&self.name);
        out.push(' ');
        out.push_str(&Base64::encode_string(&blob));
        out.push('\n');
    }

    fn parse_line(line: &str, position: usize) -> Result<Self, NoteError> {
        let malformed = NoteError::MalformedSignatureLine { line: position };
        let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(malformed)?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or(NoteError::MalformedSignatureLine { line: position })?;
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName { line: position });
        }
        let bad_encoding = || NoteError::InvalidSignatureEncoding { line: position };
        // base64ct decodes constant-time and refuses non-canonical padding bits, whitespace
        // and missing padding: one signature has exactly one encoding.
        let blob = Base64::decode_vec(encoded).map_err(|_| bad_encoding())?;
        let (key_id, signature) = blob.split_first_chunk::<4>().ok_or_else(bad_encoding)?;
        if signature.is_empty() {
            return Err(bad_encoding());
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: *key_id,
            signature: signature.to_vec(),
        })
    }
}

/// A syntactically valid signed note: a text and at least one signature, no key twice.
/// Nothing about it is verified; see [`open_note`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note from its text and signatures.
    ///
    /// # Errors
    /// A text that is empty, lacks its final newline or holds a control character; no
    /// signature, too many, one key twice; an encoding beyond [`MAX_NOTE_SIZE`].
    pub fn new(text: impl Into<String>, signatures: Vec<NoteSignature>) -> Result<Self, NoteError> {
        let text = text.into();
        check_text(&text)?;
        check_signature_set(&signatures)?;
        let note = Self { text, signatures };
        let size = note.encoded_len();
        if size > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size,
                max: MAX_NOTE_SIZE,
            });
        }
        Ok(note)
    }

    /// Parses a signed note, strictly. Signatures are not checked.
    ///
    /// # Errors
    /// Any [`NoteError`] describing malformed input: size, UTF-8, control characters, no
    /// signature block, a malformed signature line, too many signatures, one key twice.
    pub fn parse(input: &[u8]) -> Result<Self, NoteError> {
        if input.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: input.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        let input = std::str::from_utf8(input).map_err(|_| NoteError::NotUtf8)?;
        if has_control_character(input.as_bytes()) {
            return Err(NoteError::ControlCharacter);
        }
        // The text is separated from the signatures by the *last* blank line (the text may
        // hold blank lines; signature lines are never empty).
        let split = input.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let (text, block) = input
            .split_at_checked(split + 1)
            .ok_or(NoteError::MissingSignatures)?;
        let block = block
            .strip_prefix('\n')
            .ok_or(NoteError::MissingSignatures)?;
        if block.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let line_count = block.split('\n').count();
        let Some(block) = block.strip_suffix('\n') else {
            return Err(NoteError::MalformedSignatureLine { line: line_count });
        };
        // Bounded before any line is decoded.
        if line_count - 1 > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let signatures = block
            .split('\n')
            .enumerate()
            .map(|(i, line)| NoteSignature::parse_line(line, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        check_signature_set(&signatures)?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, final newline included.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in note order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note's wire form: text, blank line, signature lines.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        out.push_str(&self.text);
        out.push('\n');
        for signature in &self.signatures {
            signature.write_line(&mut out);
        }
        out
    }

    fn encoded_len(&self) -> usize {
        let lines: usize = self
            .signatures
            .iter()
            .map(|s| {
                SIGNATURE_PREFIX.len()
                    + s.name.len()
                    + 1
                    + (4 + s.signature.len()).div_ceil(3) * 4
                    + 1
            })
            .sum();
        self.text.len() + 1 + lines
    }
}

fn check_signature_set(signatures: &[NoteSignature]) -> Result<(), NoteError> {
    if signatures.is_empty() {
        return Err(NoteError::MissingSignatures);
    }
    if signatures.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    for (i, signature) in signatures.iter().enumerate() {
        let earlier = signatures.get(..i).unwrap_or_default();
        if earlier
            .iter()
            .any(|e| e.same_key(&signature.name, signature.key_id))
        {
            return Err(NoteError::DuplicateSignature {
                name: signature.name.clone(),
                key_id: signature.key_id,
            });
        }
    }
    Ok(())
}

/// A note with at least one valid signature by a known key. Only [`open_note`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    verified: Vec<NoteSignature>,
    unverified: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The signed text, final newline included.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Signatures by known keys, all valid, in note order.
    #[must_use]
    pub fn verified_signatures(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// Signatures by unknown keys, ignored as the spec requires (e.g. witnesses' cosignatures
    /// or a rotated key), in note order.
    #[must_use]
    pub fn unverified_signatures(&self) -> &[NoteSignature] {
        &self.unverified
    }

    /// The signed text, by value.
    #[must_use]
    pub fn into_text(self) -> String {
        self.text
    }
}

/// Parses `note` and checks its signatures against the known `verifiers`.
///
/// As signed-note specifies: a signature whose (name, key ID) matches no verifier is
/// ignored, even if its name or its ID alone matches one; a signature by a known key that
/// fails rejects the whole note; and at least one signature by a known key must verify.
///
/// # Errors
/// [`NoteError::DuplicateVerifier`] for an ambiguous verifier list, any parse error of
/// [`Note::parse`], [`NoteError::InvalidSignature`] or [`NoteError::NoVerifiedSignature`].
pub fn open_note(note: &[u8], verifiers: &[&dyn NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    for (i, verifier) in verifiers.iter().enumerate() {
        let (name, key_id) = (verifier.name(), verifier.key_id());
        let earlier = verifiers.get(..i).unwrap_or_default();
        if earlier
            .iter()
            .any(|e| e.name() == name && e.key_id() == key_id)
        {
            return Err(NoteError::DuplicateVerifier {
                name: name.to_owned(),
                key_id,
            });
        }
    }
    let Note { text, signatures } = Note::parse(note)?;
    let mut verified = Vec::new();
    let mut unverified = Vec::new();
    for signature in signatures {
        let known = verifiers
            .iter()
            .find(|v| signature.same_key(v.name(), v.key_id()));
        match known {
            None => unverified.push(signature),
            Some(v) if v.verify(text.as_bytes(), &signature.signature) => verified.push(signature),
            Some(_) => {
                return Err(NoteError::InvalidSignature {
                    name: signature.name,
                    key_id: signature.key_id,
                });
            }
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoVerifiedSignature);
    }
    Ok(VerifiedNote {
        text,
        verified,
        unverified,
    })
}

/// Signs `text` with every signer and returns the note's wire form.
///
/// # Errors
/// A malformed text, no signer, a signer with an invalid name or producing an empty
/// signature, two signers for one key, a failing signer, or a note beyond the size limits.
pub fn sign_note(text: &str, signers: &[&dyn NoteSigner]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    let mut signatures = Vec::with_capacity(signers.len());
    for (i, signer) in signers.iter().enumerate() {
        let name = signer.name();
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName { line: i + 1 });
        }
        let signature = signer
            .sign(text.as_bytes())
            .map_err(|source| NoteError::SignerFailed {
                name: name.to_owned(),
                source,
            })?;
        signatures.push(NoteSignature::new(name, signer.key_id(), signature)?);
    }
    Ok(Note::new(text, signatures)?.encode())
}

/// A verifier key in the Go `sumdb/note` string form, `name+hexkeyid+base64(type ‖ key)`,
/// whose key ID follows the RECOMMENDED derivation ([`key_id`]).
///
/// Parsing it proves only self-consistency; the crypto crate turns it into a
/// [`NoteVerifier`] for its signature type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: KeyId,
    signature_type: u8,
    public_key: Vec<u8>,
}

impl VerifierKey {
    /// A verifier key from its parts; the key ID is derived.
    ///
    /// # Errors
    /// [`NoteError::InvalidVerifierKey`] for an invalid name, an empty key, or an Ed25519 key
    /// that is not 32 bytes.
    pub fn new(
        name: impl Into<String>,
        signature_type: u8,
        public_key: Vec<u8>,
    ) -> Result<Self, NoteError> {
        let name = name.into();
        if !is_valid_key_name(&name)
            || public_key.is_empty()
            || (signature_type == SIG_TYPE_ED25519 && public_key.len() != 32)
        {
            return Err(NoteError::InvalidVerifierKey);
        }
        Ok(Self {
            key_id: key_id(&name, signature_type, &public_key),
            name,
            signature_type,
            public_key,
        })
    }

    /// Parses `name+hexkeyid+base64(type ‖ key)`; the key ID must be 8 lower-case hex digits
    /// and match the derived one.
    ///
    /// # Errors
    /// [`NoteError::InvalidVerifierKey`] or [`NoteError::VerifierKeyIdMismatch`].
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, rest) = vkey.split_once('+').ok_or(NoteError::InvalidVerifierKey)?;
        // The base64 part may itself hold '+': split twice only.
        let (hex, encoded) = rest.split_once('+').ok_or(NoteError::InvalidVerifierKey)?;
        let claimed = parse_hex_id(hex).ok_or(NoteError::InvalidVerifierKey)?;
        let blob = Base64::decode_vec(encoded).map_err(|_| NoteError::InvalidVerifierKey)?;
        let (&signature_type, public_key) =
            blob.split_first().ok_or(NoteError::InvalidVerifierKey)?;
        let key = Self::new(name, signature_type, public_key.to_vec())?;
        if key.key_id != claimed {
            return Err(NoteError::VerifierKeyIdMismatch);
        }
        Ok(key)
    }

    /// The string form, `name+hexkeyid+base64(type ‖ key)`.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut blob = Vec::with_capacity(1 + self.public_key.len());
        blob.push(self.signature_type);
        blob.extend_from_slice(&self.public_key);
        format!(
            "{}+{}+{}",
            self.name,
            hex_id(&self.key_id),
            Base64::encode_string(&blob)
        )
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature type byte.
    #[must_use]
    pub fn signature_type(&self) -> u8 {
        self.signature_type
    }

    /// The public key bytes (type byte excluded).
    #[must_use]
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }
}

/// Exactly 8 lower-case hex digits (the form every producer writes, `%08x`).
fn parse_hex_id(hex: &str) -> Option<KeyId> {
    if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(u32::to_be_bytes)
}
