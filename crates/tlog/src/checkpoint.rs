//! C2SP `tlog-checkpoint` (<https://c2sp.org/tlog-checkpoint>): a tree head as a note text.
//!
//! The body is `origin\nsize\nbase64(root)\n` plus optional non-empty extension lines. It is
//! what a log signs and what a witness or an auditor compares; parsing is strict so that one
//! checkpoint has exactly one encoding (decimal without leading zeros, canonical padded
//! base64 of exactly 32 bytes, no empty or control-bearing line).
//!
//! [`open_checkpoint`] checks the note's signatures *before* reading the body, as signed-note
//! requires, and checks the origin, so that a checkpoint of one log cannot be replayed as
//! another's.

use base64ct::{Base64, Encoding};
use thiserror::Error;

use crate::hash::{EMPTY_ROOT, HASH_SIZE, Hash};
use crate::note::{
    MAX_NOTE_SIZE, NoteError, NoteSigner, NoteVerifier, VerifiedNote, has_control_character,
    open_note, sign_note,
};

/// Why a checkpoint could not be parsed, opened or signed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note around the checkpoint was rejected.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The body exceeds the note size limit.
    #[error("checkpoint body of {size} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The note size limit.
        max: usize,
    },
    /// The body does not end in a newline or holds a control character.
    #[error("checkpoint body is not newline-terminated text")]
    MalformedBody,
    /// Fewer than the three mandatory lines.
    #[error("checkpoint body lacks its origin, tree size or root hash line")]
    TooFewLines,
    /// An empty line (all lines, extensions included, must be non-empty).
    #[error("checkpoint line {line} is empty")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// An empty origin or one holding a control character.
    #[error("invalid checkpoint origin")]
    InvalidOrigin,
    /// A tree size that is not canonical decimal (no sign, no leading zero) within `u64`.
    #[error("invalid checkpoint tree size")]
    InvalidTreeSize,
    /// A root hash line that is not canonical padded base64 of 32 bytes.
    #[error("invalid checkpoint root hash")]
    InvalidRootHash,
    /// A size-0 checkpoint whose root is not the empty-tree root: a false tree head.
    #[error("tree size 0 with a root other than the empty-tree root")]
    EmptyTreeRootMismatch,
    /// An empty extension line or one holding a control character.
    #[error("invalid checkpoint extension line {index}")]
    InvalidExtension {
        /// 0-based index among the extensions.
        index: usize,
    },
    /// The checkpoint names another log.
    #[error("checkpoint origin does not match the expected log")]
    OriginMismatch,
}

impl CheckpointError {
    /// Stable machine-readable code (a note failure keeps its note code).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Note(e) => e.code(),
            Self::TooLarge { .. } => "checkpoint_too_large",
            Self::MalformedBody => "checkpoint_malformed_body",
            Self::TooFewLines => "checkpoint_too_few_lines",
            Self::EmptyLine { .. } => "checkpoint_empty_line",
            Self::InvalidOrigin => "checkpoint_invalid_origin",
            Self::InvalidTreeSize => "checkpoint_invalid_tree_size",
            Self::InvalidRootHash => "checkpoint_invalid_root_hash",
            Self::EmptyTreeRootMismatch => "checkpoint_empty_tree_root_mismatch",
            Self::InvalidExtension { .. } => "checkpoint_invalid_extension",
            Self::OriginMismatch => "checkpoint_origin_mismatch",
        }
    }
}

/// A log's tree head: origin, tree size, root hash and opaque extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root_hash: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] or [`CheckpointError::EmptyTreeRootMismatch`].
    pub fn new(
        origin: impl Into<String>,
        size: u64,
        root_hash: Hash,
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if !is_valid_line(&origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        if size == 0 && root_hash != EMPTY_ROOT {
            return Err(CheckpointError::EmptyTreeRootMismatch);
        }
        Ok(Self {
            origin,
            size,
            root_hash,
            extensions: Vec::new(),
        })
    }

    /// The same checkpoint with `extensions` as its extension lines (the spec discourages
    /// them: monitors cannot audit them).
    ///
    /// # Errors
    /// [`CheckpointError::InvalidExtension`] for an empty line or one holding a control
    /// character (newline included).
    pub fn with_extensions(mut self, extensions: Vec<String>) -> Result<Self, CheckpointError> {
        if let Some(index) = extensions.iter().position(|e| !is_valid_line(e)) {
            return Err(CheckpointError::InvalidExtension { index });
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Parses a checkpoint body (a note's text), strictly.
    ///
    /// # Errors
    /// Any body-level [`CheckpointError`].
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        if body.len() > MAX_NOTE_SIZE {
            return Err(CheckpointError::TooLarge {
                size: body.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        if has_control_character(body.as_bytes()) {
            return Err(CheckpointError::MalformedBody);
        }
        let content = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MalformedBody)?;
        let lines: Vec<&str> = content.split('\n').collect();
        if let Some(empty) = lines.iter().position(|l| l.is_empty()) {
            return Err(CheckpointError::EmptyLine { line: empty + 1 });
        }
        let [origin, size, root_hash, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines);
        };
        let checkpoint = Self::new(*origin, parse_tree_size(size)?, parse_root_hash(root_hash)?)?;
        checkpoint.with_extensions(extensions.iter().map(|e| (*e).to_owned()).collect())
    }

    /// The body (note text): origin, size, root, extensions, each line newline-terminated.
    #[must_use]
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            Base64::encode_string(&self.root_hash)
        );
        for extension in &self.extensions {
            body.push_str(extension);
            body.push('\n');
        }
        body
    }

    /// The log's origin line.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the tree at [`Self::size`].
    #[must_use]
    pub fn root_hash(&self) -> &Hash {
        &self.root_hash
    }

    /// The extension lines, without their newlines.
    #[must_use]
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}

/// A checkpoint whose note carries a valid signature by a known key and whose origin is the
/// expected one. Only [`open_checkpoint`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The verified note it came from (which keys signed, which signatures were unknown).
    #[must_use]
    pub fn note(&self) -> &VerifiedNote {
        &self.note
    }

    /// The checkpoint, by value.
    #[must_use]
    pub fn into_checkpoint(self) -> Checkpoint {
        self.checkpoint
    }
}

/// Opens a signed checkpoint of the log `origin`: signatures first ([`open_note`]), then
/// the body, then the origin.
///
/// # Errors
/// [`CheckpointError::Note`] for any note failure, a body error, or
/// [`CheckpointError::OriginMismatch`].
pub fn open_checkpoint(
    note: &[u8],
    origin: &str,
    verifiers: &[&dyn NoteVerifier],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let note = open_note(note, verifiers)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::OriginMismatch);
    }
    Ok(VerifiedCheckpoint { checkpoint, note })
}

/// Signs `checkpoint` with every signer and returns the signed note's wire form.
///
/// # Errors
/// [`CheckpointError::Note`] with the [`sign_note`] failure.
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    signers: &[&dyn NoteSigner],
) -> Result<String, CheckpointError> {
    Ok(sign_note(&checkpoint.to_body(), signers)?)
}

fn is_valid_line(line: &str) -> bool {
    !line.is_empty() && !line.bytes().any(|b| b < 0x20)
}

/// ASCII decimal, no sign, no leading zero except `0` itself, within `u64`.
fn parse_tree_size(line: &str) -> Result<u64, CheckpointError> {
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(CheckpointError::InvalidTreeSize);
    }
    line.parse().map_err(|_| CheckpointError::InvalidTreeSize)
}

/// Canonical padded standard base64 of exactly [`HASH_SIZE`] bytes.
fn parse_root_hash(line: &str) -> Result<Hash, CheckpointError> {
    let mut root = [0u8; HASH_SIZE];
    let decoded = Base64::decode(line, &mut root).map_err(|_| CheckpointError::InvalidRootHash)?;
    if decoded.len() != HASH_SIZE {
        return Err(CheckpointError::InvalidRootHash);
    }
    Ok(root)
}
