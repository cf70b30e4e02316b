//! What the HTTP service stores beside the registry: API tokens (hashes only) and issued
//! challenges (single use, nonces unique across server processes).

/// API tokens (the registry's types).
pub use cphar_registry::store::{TokenRow, TokenWrite};

/// An issued challenge (the registry's type).
pub use cphar_registry::store::Challenge as ChallengeRow;
