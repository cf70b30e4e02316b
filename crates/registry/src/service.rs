//! The registry driver: for each command, load the records it needs, call the pure decision
//! in [`crate::decide`], and apply the resulting change set in one transaction. A change
//! computed from records that changed meanwhile is refused by the store and recomputed.

use crate::codes::RefusalCode;
use crate::decide::{
    self, Authority, Ctx, Existing, NewCredential, RecordCustody, RecordInspection, Refused,
    RegisterSeal,
};
use crate::device::CertificatePolicy;
use crate::did::RegistryNames;
use crate::error::{Refusal, invalid};
use crate::event::{StoredEvent, lot_subject, seal_subject};
use crate::model::{
    AuthorityRecord, AuthorityState, BindingRecord, DeviceCertificate, DeviceIdentityRecord,
    LotRecord, SealRecord,
};
use crate::policy::{PolicyChange, StartupPolicy};
use crate::service_event::{self, ServiceEvent};
use crate::store::{ChangeSet, Store, StoreError, TokenRow};
use cphar_crypto::{Jwk, SigningKey, hex};
use cphar_policy::PolicyEngine;
use cphar_protocol::{Bal, RevocationReason, Timestamp};
use cphar_vendor::{CrlSet, DeviceEvidence, PublicKeyBytes, UnixTime, VendorRegistry};
use parking_lot::RwLock;
use serde_json::Value;
use std::sync::Arc;

/// A decision ending a lot's binding: [`decide::revoke`] or [`decide::retire`].
type EndBinding = fn(
    &LotRecord,
    &BindingRecord,
    &SealRecord,
    &[BindingRecord],
    RevocationReason,
    Ctx<'_>,
) -> Result<ChangeSet, Refusal>;

/// How many times a command is recomputed after a concurrent change before giving up.
const MAX_ATTEMPTS: usize = 8;

/// The registry's source of time. The server passes its trusted clock; tests a fixed one.
pub trait Clock: Send + Sync {
    /// The current trusted time.
    ///
    /// # Errors
    /// A refusal (`clock_out_of_tolerance`) when no trusted time can be given: the registry
    /// then decides nothing.
    fn now(&self) -> Result<Timestamp, Refusal>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Result<Timestamp, Refusal> {
        Ok(Timestamp::now_utc())
    }
}

/// A failed registry command.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Refused: nothing changed (a clone suspicion is recorded all the same).
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// Storage failed: nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Refused(r) => r.code(),
            RegistryError::Store(StoreError::Conflict(_)) => RefusalCode::Conflict.as_str(),
            RegistryError::Store(_) => "storage_error",
        }
    }
}

/// A registration that passed [`Registry::check_seal`].
pub(crate) struct CheckedSeal {
    pub jwk: Jwk,
    pub bal: cphar_protocol::Bal,
    pub certificate: DeviceCertificate,
    pub thumbprint: String,
}

/// The current Enrollment Authority signing key.
struct ActiveAuthority {
    key_id: String,
    key: Arc<SigningKey>,
}

/// The registry service over a store.
pub struct Registry<S> {
    pub(crate) store: S,
    names: RegistryNames,
    vendors: VendorRegistry,
    clock: Arc<dyn Clock>,
    authority: RwLock<Option<ActiveAuthority>>,
    /// The last policy read from the store, compiled (policies change rarely; each decision
    /// still reads which one is in force).
    policy_cache: RwLock<Option<Arc<PolicyEngine>>>,
    /// The vendors' verified CRLs, consulted at registration and at every attestation.
    crls: RwLock<Arc<CrlSet>>,
    /// How attestations judge device certificates.
    certificate_policy: RwLock<CertificatePolicy>,
}

impl<S: Store> Registry<S> {
    /// A registry over `store`, naming things under `names`, trusting `vendors`.
    pub fn new(
        store: S,
        names: RegistryNames,
        vendors: VendorRegistry,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Registry {
            store,
            names,
            vendors,
            clock,
            authority: RwLock::new(None),
            policy_cache: RwLock::new(None),
            crls: RwLock::new(Arc::new(CrlSet::default())),
            certificate_policy: RwLock::new(CertificatePolicy::default()),
        }
    }

    /// The vendor trust configuration.
    pub fn vendors(&self) -> &VendorRegistry {
        &self.vendors
    }

    /// Replaces the CRLs the registry checks device certificates against (each verified with
    /// [`VendorRegistry::verify_crl`]).
    pub fn install_crls(&self, crls: CrlSet) {
        *self.crls.write() = Arc::new(crls);
    }

    /// The CRLs held now.
    pub fn crls(&self) -> Arc<CrlSet> {
        Arc::clone(&self.crls.read())
    }

    /// Sets how attestations judge device certificates (expired: deny or degrade).
    pub fn set_certificate_policy(&self, policy: CertificatePolicy) {
        *self.certificate_policy.write() = policy;
    }

    /// How attestations judge device certificates.
    pub fn certificate_policy(&self) -> CertificatePolicy {
        *self.certificate_policy.read()
    }

    /// Issues an enrollment challenge signed by the current Enrollment Authority key (seed
    /// 002 §4.2.2 steps 1–2): a 32-byte CSPRNG nonce, valid for
    /// [`crate::device::CHALLENGE_LIFETIME`]. Nothing is stored.
    pub async fn enrollment_challenge(&self) -> Result<Value, RegistryError> {
        let (record, key) = self.authority().await?;
        let nonce = cphar_crypto::random_bytes::<32>()
            .map_err(|e| invalid(format!("random source failed: {e}")))?;
        Ok(crate::device::issue_enrollment_challenge(
            &nonce,
            &record.key_id,
            &key,
            self.clock.now()?,
        )?)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The registry's names.
    pub fn names(&self) -> &RegistryNames {
        &self.names
    }

    /// The trusted time now.
    pub fn now(&self) -> Result<Timestamp, Refusal> {
        self.clock.now()
    }

    pub(crate) fn ctx<'a>(&self, actor: &'a str) -> Result<Ctx<'a>, Refusal> {
        // One spelling per person: separation of duties compares actors as strings.
        crate::ident::check_actor(actor)?;
        Ok(Ctx {
            actor,
            now: self.clock.now()?,
        })
    }

    /// Installs `key` as the Enrollment Authority key: the newest active authority record
    /// with this public key is reused, otherwise a new `#ea-N` record is created.
    pub async fn use_authority_key(
        &self,
        key: SigningKey,
        actor: &str,
    ) -> Result<String, RegistryError> {
        let public = key.verifying_key().to_jwk();
        let known = self.store.authorities().await?;
        let existing = known.iter().rev().find(|a| {
            a.state == AuthorityState::Active
                && Jwk::from_json(&a.public_jwk).ok().as_ref() == Some(&public)
        });
        let key_id = match existing {
            Some(a) => a.key_id.clone(),
            None => {
                let number = known.iter().map(|a| a.number).max().unwrap_or(0) + 1;
                let key_id = self.names.authority_key_id(number);
                let changes =
                    decide::create_authority(number, &self.names, &public, self.ctx(actor)?)?;
                self.store.apply(changes).await?;
                key_id
            }
        };
        *self.authority.write() = Some(ActiveAuthority {
            key_id: key_id.clone(),
            key: Arc::new(key),
        });
        Ok(key_id)
    }

    async fn authority(&self) -> Result<(AuthorityRecord, Arc<SigningKey>), RegistryError> {
        let (key_id, key) = {
            let guard = self.authority.read();
            let active = guard.as_ref().ok_or_else(|| {
                Refusal::new(
                    RefusalCode::AuthorityUnavailable,
                    "no Enrollment Authority key is configured",
                )
            })?;
            (active.key_id.clone(), Arc::clone(&active.key))
        };
        let record = self.store.authority(&key_id).await?.ok_or_else(|| {
            Refusal::new(
                RefusalCode::AuthorityUnavailable,
                format!("{key_id} is not stored"),
            )
        })?;
        Ok((record, key))
    }

    /// Runs `attempt` until its change set applies, recomputing after concurrent changes;
    /// returns what the successful attempt computed beside its change set.
    async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(ChangeSet, T), RegistryError>>,
    {
        let mut last = None;
        for _ in 0..MAX_ATTEMPTS {
            let (changes, out) = attempt().await?;
            match self.store.apply(changes).await {
                Ok(_) => return Ok(out),
                Err(StoreError::Conflict(why)) => last = Some(why),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refusal::new(
            RefusalCode::Conflict,
            format!(
                "gave up after {MAX_ATTEMPTS} concurrent changes: {}",
                last.unwrap_or_default()
            ),
        )
        .into())
    }

    // -----------------------------------------------------------------------------------------
    // Commands

    /// Registers a seal after checking its vendor attestation and that it is the device it
    /// claims to be (seed 002 §4.2): chain to the vendor root at the trusted time, leaf key =
    /// registered key, firmware on the allowlist, the device-identity extension (SKU, the
    /// vendor's requirement), the issuer's CRL, the certified BAL, and the proof of possession
    /// (the EA's enrollment challenge signed by the device). The one registration check:
    /// single and batch registration both call it.
    pub async fn register_seal(
        &self,
        cmd: &RegisterSeal,
        actor: &str,
    ) -> Result<SealRecord, RegistryError> {
        let ctx = self.ctx(actor)?;
        let CheckedSeal {
            jwk,
            bal,
            certificate,
            thumbprint,
        } = self.check_seal(cmd, ctx).await?;
        for _ in 0..MAX_ATTEMPTS {
            let by_uid = self.store.seal(&cmd.uid).await?;
            let by_key = self.store.seal_by_key(&thumbprint).await?;
            let by_certificate = self
                .store
                .seal_by_certificate(&certificate.issuer, &certificate.serial)
                .await?;
            let existing = Existing {
                by_uid: by_uid.as_ref(),
                by_key: by_key.as_ref(),
                by_certificate: by_certificate.as_ref(),
            };
            match decide::register(cmd, bal, &jwk, certificate.clone(), &existing, ctx) {
                Ok(changes) => {
                    let seal = changes.seals.first().cloned();
                    match self.store.apply(changes).await {
                        Ok(_) => {
                            return seal
                                .ok_or_else(|| invalid("internal: no seal in change").into());
                        }
                        Err(StoreError::Conflict(_)) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(Refused { refusal, record }) => {
                    if let Some(record) = record {
                        self.store.apply(*record).await?;
                    }
                    return Err(refusal.into());
                }
            }
        }
        Err(Refusal::new(
            RefusalCode::Conflict,
            "registration raced with another; retry",
        )
        .into())
    }

    /// The per-seal check of a registration, the same for a single registration and every
    /// line of a bulk one ([`crate::batch`]): the command's members, the key, and the vendor
    /// attestation (chain to the vendor root at the trusted time, leaf key = registered key,
    /// firmware on the allowlist). What it returns is what the clone checks and the record
    /// need.
    pub(crate) async fn check_seal(
        &self,
        cmd: &RegisterSeal,
        ctx: Ctx<'_>,
    ) -> Result<CheckedSeal, RegistryError> {
        let (jwk, claimed_bal) = decide::check_registration(cmd)?;
        let key = key_bytes(&jwk)?;
        let chain = DeviceEvidence::chain_from_bytes(cmd.certificate_chain_pem.as_bytes())
            .map_err(|e| invalid(format!("certificateChainPem: {e}")))?;
        let evidence = DeviceEvidence {
            vendor: cmd.vendor.clone(),
            device_type: cmd.device_type.clone(),
            hardware_revision: cmd.hardware_revision.clone(),
            chain: chain.clone(),
            firmware_measurement: cmd.firmware_measurement.clone(),
        };
        let accepted = self
            .vendors
            .check(
                &evidence,
                &key,
                UnixTime::from_secs(u64::try_from(ctx.now.unix_seconds()).unwrap_or(0)),
            )
            .map_err(|e| Refusal::attestation(&e))?;
        crate::device::check_revocation(&self.crls.read().status(
            accepted.leaf_issuer_dn(),
            accepted.leaf_serial_hex(),
            ctx.now.unix_seconds(),
        ))?;
        let identity = accepted.device_identity();
        let bal = crate::device::certified_bal(claimed_bal, identity)?;
        let requires_proof = self
            .vendors
            .vendor(accepted.vendor())
            .is_some_and(|v| v.requires_device_identity());
        match &cmd.enrollment {
            Some(proof) => {
                let ea_key = match crate::device::challenge_authority(proof) {
                    Some(id) => self
                        .store
                        .authority(id)
                        .await?
                        .filter(|a| a.state == AuthorityState::Active)
                        .and_then(|a| Jwk::from_json(&a.public_jwk).ok())
                        .and_then(|j| cphar_crypto::VerifyingKey::from_jwk(&j).ok()),
                    None => None,
                };
                let device_key = cphar_crypto::VerifyingKey::from_jwk(&jwk)
                    .map_err(|e| invalid(format!("publicJwk: {e}")))?;
                crate::device::check_enrollment(
                    proof,
                    &cmd.uid,
                    &device_key,
                    ea_key.as_ref(),
                    ctx.now,
                )?;
            }
            None if requires_proof => {
                return Err(Refusal::new(
                    RefusalCode::EnrollmentProofMissing,
                    format!(
                        "vendor {} requires proof of possession: answer POST /enrollment/challenges with the device key",
                        accepted.vendor()
                    ),
                )
                .into());
            }
            None => {}
        }
        let certificate = DeviceCertificate {
            issuer: accepted.leaf_issuer_dn().to_owned(),
            subject: accepted.leaf_subject_dn().to_owned(),
            serial: accepted.leaf_serial_hex().to_owned(),
            fingerprint: accepted.leaf_fingerprint_sha256(),
            chain: chain
                .iter()
                .map(|der| cphar_crypto::b64::encode(der))
                .collect(),
            not_after: Timestamp::from_unix_seconds(accepted.not_after()),
            identity: identity.map(|i| DeviceIdentityRecord {
                certified_bal: match i.bal {
                    1 => Bal::Bal1,
                    2 => Bal::Bal2,
                    3 => Bal::Bal3,
                    _ => Bal::Bal4,
                },
                key_origin: i.key_origin.as_str().to_owned(),
                non_exportable: i.non_exportable,
                sku: i.sku.clone(),
                hardware_id: i.hardware_id.clone(),
                batch: i.batch.clone(),
                provisioning_record_id: i.provisioning_record_id.clone(),
                chain_id: accepted.root_subject_dn().to_owned(),
            }),
            chain_id: Some(accepted.chain_id()),
            rotation_state: Some(accepted.rotation_state().to_owned()),
        };
        let thumbprint = jwk
            .thumbprint_b64()
            .map_err(|e| invalid(format!("publicJwk: {e}")))?;
        Ok(CheckedSeal {
            jwk,
            bal,
            certificate,
            thumbprint,
        })
    }

    /// Records an inspection (creates or re-inspects the lot; seal → Inspected).
    pub async fn record_inspection(
        &self,
        cmd: &RecordInspection,
        actor: &str,
    ) -> Result<String, RegistryError> {
        let inspection_id = new_id("insp")?;
        self.run(|| async {
            let lot = self.store.lot(&cmd.lot_id).await?;
            let seal = self.store.seal(&cmd.seal_uid).await?;
            Ok((
                decide::inspect(
                    cmd,
                    &inspection_id,
                    lot.as_ref(),
                    seal.as_ref(),
                    &self.names,
                    self.ctx(actor)?,
                )?,
                (),
            ))
        })
        .await?;
        Ok(inspection_id)
    }

    /// Records a chain-of-custody event.
    pub async fn record_custody(
        &self,
        cmd: &RecordCustody,
        actor: &str,
    ) -> Result<String, RegistryError> {
        let id = new_id("cust")?;
        self.run(|| async {
            let lot = self.store.lot(&cmd.lot_id).await?;
            Ok((
                decide::record_custody(cmd, &id, lot.as_ref(), self.ctx(actor)?)?,
                (),
            ))
        })
        .await?;
        Ok(id)
    }

    /// Binds an inspected lot to the seal it was inspected with and issues the BEA.
    pub async fn bind(&self, lot_id: &str, actor: &str) -> Result<BindingRecord, RegistryError> {
        let credential_id = new_urn_uuid()?;
        self.run(|| async {
            let lot = self.lot_required(lot_id).await?;
            let seal_uid = lot.inspected_seal.clone().ok_or_else(|| {
                Refusal::new(
                    RefusalCode::InvalidLotState,
                    format!("lot {lot_id} has no inspected seal to bind"),
                )
            })?;
            let seal = self.seal_required(&seal_uid).await?;
            let status_index = self.store.next_status_index().await?;
            let history = self.store.bindings_of_lot(lot_id).await?;
            let (record, key) = self.authority().await?;
            let authority = Authority {
                record: &record,
                key: &key,
            };
            let changes = decide::bind(
                &lot,
                &seal,
                &history,
                &authority,
                NewCredential {
                    id: &credential_id,
                    status_index: Some(status_index),
                },
                &self.names,
                self.ctx(actor)?,
            )?;
            let made = changes.bindings.last().cloned();
            Ok((changes, made))
        })
        .await?
        .ok_or_else(|| invalid("internal: no binding in change").into())
    }

    /// The signed revocation status list `list` ([`crate::status_list`]), at `now`: read in
    /// two queries (the next free index bounds which lists exist; the ended bindings of the
    /// list), built and signed with the active Enrollment Authority key. Nothing is written.
    pub async fn revocation_status_list(&self, list: u64) -> Result<Value, RegistryError> {
        use crate::status_list::{self, LIST_SIZE};
        let lists = self
            .store
            .next_status_index()
            .await?
            .div_ceil(LIST_SIZE)
            .max(1);
        if list >= lists {
            return Err(Refusal::new(
                RefusalCode::StatusListNotFound,
                format!("no status list {list}: lists 0 to {} exist", lists - 1),
            )
            .into());
        }
        let from = list * LIST_SIZE;
        let revoked = self
            .store
            .ended_status_indices(from, from + LIST_SIZE)
            .await?;
        let (record, key) = self.authority().await?;
        let now = self.clock.now()?;
        status_list::build(&self.names, list, &revoked, &key, &record.key_id, now)
            .map_err(|e| invalid(format!("status list: {e}")).into())
    }

    /// An independent auditor signs off the lot's current binding.
    pub async fn sign_off(&self, lot_id: &str, actor: &str) -> Result<LotRecord, RegistryError> {
        self.run(|| async {
            let (lot, binding, seal) = self.current(lot_id).await?;
            let inspection = self
                .store
                .inspections(lot_id)
                .await?
                .into_iter()
                .find(|i| i.id == binding.inspection_id);
            let changes =
                decide::sign_off(&lot, &binding, &seal, inspection.as_ref(), self.ctx(actor)?)?;
            let out = changes.lots.last().cloned();
            Ok((changes, out))
        })
        .await?
        .ok_or_else(|| invalid("internal: no lot in change").into())
    }

    // -----------------------------------------------------------------------------------------
    // Facts about the service and API tokens

    /// Records facts about the service (timestamps, clock, module errors, checkpoints) in the
    /// audit log, in order, in one transaction. Facts that carry their own time are recorded
    /// even while the trusted clock is out of tolerance (a breach must be recorded as it
    /// happens); the others need trusted time.
    pub async fn record(
        &self,
        facts: &[ServiceEvent],
        actor: &str,
    ) -> Result<Vec<u64>, RegistryError> {
        if facts.is_empty() {
            return Ok(Vec::new());
        }
        let now = match self.clock.now() {
            Ok(now) => now,
            Err(refusal) => match facts
                .iter()
                .map(ServiceEvent::own_time)
                .collect::<Option<Vec<_>>>()
            {
                Some(times) => times.into_iter().max().ok_or(refusal)?,
                None => return Err(refusal.into()),
            },
        };
        let ctx = Ctx { actor, now };
        Ok(self.store.apply(service_event::record(facts, ctx)).await?)
    }

    /// Stores a new API token (made by the caller from its CSPRNG; only the secret's hash is
    /// in `row`) with its audit event; returns the event's sequence number(s).
    pub async fn create_token(
        &self,
        row: TokenRow,
        actor: &str,
    ) -> Result<Vec<u64>, RegistryError> {
        crate::ident::check_subject(&row.subject)?;
        Ok(self
            .store
            .apply(service_event::create_token(row, self.ctx(actor)?))
            .await?)
    }

    /// Revokes an API token; `token_not_found` when there is no such unrevoked token.
    pub async fn revoke_token(&self, id: &str, actor: &str) -> Result<(), RegistryError> {
        match self
            .store
            .apply(service_event::revoke_token(id, self.ctx(actor)?))
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(Refusal::new(
                RefusalCode::TokenNotFound,
                format!("no unrevoked token {id}"),
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Policy

    /// The policy in force, compiled; `None` when no policy was ever installed.
    pub async fn policy_in_force(&self) -> Result<Option<Arc<PolicyEngine>>, RegistryError> {
        let state = self.store.policy_state().await?;
        self.compiled(state.in_force.as_ref())
    }

    /// Compiles the stored policy `in_force`, reusing the cached engine when it is the same.
    pub(crate) fn compiled(
        &self,
        in_force: Option<&crate::store::PolicyInForce>,
    ) -> Result<Option<Arc<PolicyEngine>>, RegistryError> {
        let Some(p) = in_force else { return Ok(None) };
        if let Some(cached) = self.policy_cache.read().as_ref()
            && cached.policy_id() == p.policy_id
            && cached.version() == p.version
        {
            return Ok(Some(Arc::clone(cached)));
        }
        let engine = Arc::new(PolicyEngine::from_json(&p.document).map_err(|e| {
            StoreError::Corrupt(format!("stored policy {} v{}: {e}", p.policy_id, p.version))
        })?);
        *self.policy_cache.write() = Some(Arc::clone(&engine));
        Ok(Some(engine))
    }

    /// Puts `engine` in force: refused (`policy_version_not_newer`) unless its version is
    /// above every version of its id ever installed, on any server.
    pub async fn install_policy(
        &self,
        engine: &PolicyEngine,
        actor: &str,
    ) -> Result<PolicyChange, RegistryError> {
        self.run(|| async {
            let state = self.store.policy_state().await?;
            Ok(crate::policy::install(&state, engine, self.ctx(actor)?)?)
        })
        .await
    }

    /// Starts with the configured policy: installs it when it is newer than anything in
    /// force, keeps a newer one from the database otherwise (never rolls back).
    pub async fn start_with_policy(
        &self,
        configured: &PolicyEngine,
        actor: &str,
    ) -> Result<StartupPolicy, RegistryError> {
        let state = self.store.policy_state().await?;
        let decision = crate::policy::at_startup(&state, configured);
        if decision == StartupPolicy::Install {
            self.install_policy(configured, actor).await?;
        }
        Ok(decision)
    }

    /// Deletes challenges that expired before now (never answered: nothing to record).
    pub async fn purge_expired_challenges(&self) -> Result<u64, RegistryError> {
        let now = self.clock.now()?;
        let now_ns = i64::try_from(now.unix_nanos()).unwrap_or(i64::MAX);
        Ok(self.store.purge_challenges(now_ns).await?)
    }

    /// Closes the attestation cycle of a lot's seal (Attested → Sealed).
    pub async fn close_cycle(&self, lot_id: &str, actor: &str) -> Result<(), RegistryError> {
        self.run(|| async {
            let (lot, binding, seal) = self.current(lot_id).await?;
            Ok((
                decide::close_cycle(&lot, Some(&binding), &seal, self.ctx(actor)?)?,
                (),
            ))
        })
        .await
    }

    /// Revokes the lot's live binding (tamper → Broken, etc.).
    pub async fn revoke(
        &self,
        lot_id: &str,
        reason: RevocationReason,
        actor: &str,
    ) -> Result<(), RegistryError> {
        self.end_binding(lot_id, reason, actor, decide::revoke)
            .await
    }

    /// Retires the lot's seal (operator-initiated decommission of the seal).
    pub async fn retire(
        &self,
        lot_id: &str,
        reason: RevocationReason,
        actor: &str,
    ) -> Result<(), RegistryError> {
        self.end_binding(lot_id, reason, actor, decide::retire)
            .await
    }

    /// Ends the lot's current binding with `decision` (revoke or retire).
    async fn end_binding(
        &self,
        lot_id: &str,
        reason: RevocationReason,
        actor: &str,
        decision: EndBinding,
    ) -> Result<(), RegistryError> {
        self.run(|| async {
            let (lot, binding, seal) = self.current(lot_id).await?;
            let history = self.store.bindings_of_lot(lot_id).await?;
            Ok((
                decision(&lot, &binding, &seal, &history, reason, self.ctx(actor)?)?,
                (),
            ))
        })
        .await
    }

    /// Replaces the lot's seal by the one it was re-inspected with.
    pub async fn rebind(
        &self,
        lot_id: &str,
        reason: RevocationReason,
        actor: &str,
    ) -> Result<BindingRecord, RegistryError> {
        let credential_id = new_urn_uuid()?;
        self.run(|| async {
            let (lot, old_binding, old_seal) = self.current(lot_id).await?;
            let new_uid = lot.inspected_seal.clone().ok_or_else(|| {
                Refusal::new(
                    RefusalCode::InvalidLotState,
                    format!("lot {lot_id} was not re-inspected with a new seal"),
                )
            })?;
            let new_seal = self.seal_required(&new_uid).await?;
            let status_index = self.store.next_status_index().await?;
            let history = self.store.bindings_of_lot(lot_id).await?;
            let (record, key) = self.authority().await?;
            let authority = Authority {
                record: &record,
                key: &key,
            };
            let changes = decide::rebind(
                &lot,
                &old_binding,
                &old_seal,
                &new_seal,
                &history,
                reason,
                &authority,
                NewCredential {
                    id: &credential_id,
                    status_index: Some(status_index),
                },
                &self.names,
                self.ctx(actor)?,
            )?;
            let made = changes.bindings.last().cloned();
            Ok((changes, made))
        })
        .await?
        .ok_or_else(|| invalid("internal: no binding in change").into())
    }

    /// Decommissions a lot (end of life).
    pub async fn decommission(&self, lot_id: &str, actor: &str) -> Result<(), RegistryError> {
        self.run(|| async {
            let lot = self.lot_required(lot_id).await?;
            let current = match &lot.binding_id {
                Some(id) => {
                    let binding = self.binding_required(id).await?;
                    let seal = self.seal_required(&binding.seal_uid).await?;
                    Some((binding, seal))
                }
                None => None,
            };
            let history = self.store.bindings_of_lot(lot_id).await?;
            let changes = decide::decommission_lot(
                &lot,
                current.as_ref().map(|(b, s)| (b, s)),
                &history,
                self.ctx(actor)?,
            )?;
            Ok((changes, ()))
        })
        .await
    }

    /// Revokes the current authority key's credential and installs `next` as the new key.
    /// Bindings it signed are suspended for re-enrollment (TFP-1 §B.2).
    pub async fn revoke_authority(
        &self,
        key_id: &str,
        next: SigningKey,
        actor: &str,
    ) -> Result<String, RegistryError> {
        self.run(|| async {
            let authority = self.store.authority(key_id).await?.ok_or_else(|| {
                Refusal::new(
                    RefusalCode::AuthorityUnavailable,
                    format!("no authority key {key_id}"),
                )
            })?;
            let mut affected = Vec::new();
            for binding in self.store.bindings_by_authority(key_id).await? {
                let lot = self.lot_required(&binding.lot_id).await?;
                let seal = self.seal_required(&binding.seal_uid).await?;
                affected.push((binding, lot, seal));
            }
            Ok((
                decide::revoke_authority(&authority, &affected, self.ctx(actor)?)?,
                (),
            ))
        })
        .await?;
        self.use_authority_key(next, actor).await
    }

    /// Re-enrolls a lot's suspended binding under the current authority key.
    pub async fn reenroll(&self, lot_id: &str, actor: &str) -> Result<(), RegistryError> {
        let credential_id = new_urn_uuid()?;
        self.run(|| async {
            let (lot, binding, seal) = self.current(lot_id).await?;
            let (record, key) = self.authority().await?;
            let authority = Authority {
                record: &record,
                key: &key,
            };
            Ok((
                decide::reenroll(
                    &lot,
                    &binding,
                    &seal,
                    &authority,
                    &credential_id,
                    &self.names,
                    self.ctx(actor)?,
                )?,
                (),
            ))
        })
        .await
    }

    /// Revokes (`authority_revoked`) every suspended binding whose window has closed; returns
    /// the lots affected.
    pub async fn expire_reenrollments(&self, actor: &str) -> Result<Vec<String>, RegistryError> {
        let now = self.clock.now()?;
        let mut expired = Vec::new();
        for binding in self.store.suspended_bindings().await? {
            if binding.state.is_live() && binding.reenroll_deadline.is_some_and(|d| now > d) {
                let lot_id = binding.lot_id.clone();
                let done = self
                    .run(|| async {
                        let (lot, binding, seal) = self.current(&lot_id).await?;
                        let history = self.store.bindings_of_lot(&lot_id).await?;
                        Ok((
                            decide::expire_reenrollment(
                                &lot,
                                &binding,
                                &seal,
                                &history,
                                self.ctx(actor)?,
                            )?,
                            (),
                        ))
                    })
                    .await;
                match done {
                    Ok(()) => expired.push(lot_id),
                    // Ended meanwhile (re-enrolled, revoked, decommissioned): nothing to expire.
                    // One lot's refusal must not stop the sweep for the others.
                    Err(RegistryError::Refused(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }

    // -----------------------------------------------------------------------------------------
    // Reads

    /// The id of the Enrollment Authority key in use, if one is installed.
    pub fn current_authority_key_id(&self) -> Option<String> {
        self.authority.read().as_ref().map(|a| a.key_id.clone())
    }

    /// Every Enrollment Authority key, oldest first.
    pub async fn authorities(&self) -> Result<Vec<AuthorityRecord>, RegistryError> {
        Ok(self.store.authorities().await?)
    }

    /// A seal.
    pub async fn seal(&self, uid: &str) -> Result<SealRecord, RegistryError> {
        self.seal_required(uid).await
    }

    /// A lot.
    pub async fn lot(&self, lot_id: &str) -> Result<LotRecord, RegistryError> {
        self.lot_required(lot_id).await
    }

    /// A lot's bindings, oldest first.
    pub async fn bindings(&self, lot_id: &str) -> Result<Vec<BindingRecord>, RegistryError> {
        Ok(self.store.bindings_of_lot(lot_id).await?)
    }

    /// A lot's inspections, oldest first.
    pub async fn inspections(
        &self,
        lot_id: &str,
    ) -> Result<Vec<crate::model::InspectionRecord>, RegistryError> {
        Ok(self.store.inspections(lot_id).await?)
    }

    /// A lot's custody records, oldest first.
    pub async fn custody(
        &self,
        lot_id: &str,
    ) -> Result<Vec<crate::model::CustodyRecord>, RegistryError> {
        Ok(self.store.custody(lot_id).await?)
    }

    /// A lot's event history.
    pub async fn lot_history(&self, lot_id: &str) -> Result<Vec<StoredEvent>, RegistryError> {
        Ok(self.store.events_for(&lot_subject(lot_id)).await?)
    }

    /// A seal's event history.
    pub async fn seal_history(&self, uid: &str) -> Result<Vec<StoredEvent>, RegistryError> {
        Ok(self.store.events_for(&seal_subject(uid)).await?)
    }

    /// The active reserve set, by lot id, after `after`, at most `limit`.
    pub async fn active_reserve(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LotRecord>, RegistryError> {
        Ok(self.store.active_lots(after, limit).await?)
    }

    /// A lot DID document (`None` = latest); `version_unavailable` when absent.
    pub async fn did_document(
        &self,
        lot_id: &str,
        version: Option<u64>,
    ) -> Result<Value, RegistryError> {
        self.store
            .did_document(lot_id, version)
            .await?
            .ok_or_else(|| {
                let what = version.map_or_else(
                    || "no DID document".to_owned(),
                    |v| format!("no DID document version {v}"),
                );
                Refusal::new(
                    RefusalCode::VersionUnavailable,
                    format!("lot {lot_id}: {what}"),
                )
                .into()
            })
    }

    async fn current(
        &self,
        lot_id: &str,
    ) -> Result<(LotRecord, BindingRecord, SealRecord), RegistryError> {
        let (lot, current) = self
            .store
            .lot_current(lot_id)
            .await?
            .ok_or_else(|| decide::not_found_lot(lot_id))?;
        let (binding, seal) = current.ok_or_else(|| {
            Refusal::new(
                RefusalCode::BindingNotFound,
                format!("lot {lot_id} has never been bound"),
            )
        })?;
        let seal = seal.ok_or_else(|| decide::not_found_seal(&binding.seal_uid))?;
        Ok((lot, binding, seal))
    }

    async fn lot_required(&self, lot_id: &str) -> Result<LotRecord, RegistryError> {
        self.store
            .lot(lot_id)
            .await?
            .ok_or_else(|| decide::not_found_lot(lot_id).into())
    }

    async fn seal_required(&self, uid: &str) -> Result<SealRecord, RegistryError> {
        self.store
            .seal(uid)
            .await?
            .ok_or_else(|| decide::not_found_seal(uid).into())
    }

    async fn binding_required(&self, id: &str) -> Result<BindingRecord, RegistryError> {
        self.store.binding(id).await?.ok_or_else(|| {
            Refusal::new(RefusalCode::BindingNotFound, format!("no binding {id}")).into()
        })
    }
}

/// The raw public key of a JWK, as the vendor check compares it with the leaf certificate.
pub fn key_bytes(jwk: &Jwk) -> Result<PublicKeyBytes, Refusal> {
    let b64 = |v: &Option<String>, name: &str| {
        v.as_deref()
            .ok_or_else(|| invalid(format!("publicJwk lacks {name}")))
            .and_then(|s| {
                cphar_crypto::b64::decode(s)
                    .map_err(|_| invalid(format!("publicJwk.{name} is not base64url")))
            })
    };
    let bad = |e: cphar_vendor::KeyBytesError| invalid(format!("publicJwk: {e}"));
    match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("OKP", Some("Ed25519")) => PublicKeyBytes::ed25519(&b64(&jwk.x, "x")?).map_err(bad),
        ("EC", Some("P-256")) => {
            PublicKeyBytes::p256_from_coordinates(&b64(&jwk.x, "x")?, &b64(&jwk.y, "y")?)
                .map_err(bad)
        }
        ("EC", Some("P-384")) => {
            PublicKeyBytes::p384_from_coordinates(&b64(&jwk.x, "x")?, &b64(&jwk.y, "y")?)
                .map_err(bad)
        }
        (kty, crv) => Err(invalid(format!(
            "publicJwk: unsupported key type {kty}/{crv:?}"
        ))),
    }
}

pub(crate) fn new_id(prefix: &str) -> Result<String, Refusal> {
    let bytes = cphar_crypto::random_bytes::<12>()
        .map_err(|e| invalid(format!("random source failed: {e}")))?;
    Ok(format!("{prefix}-{}", hex(&bytes)))
}

/// A random (version 4) UUID URN for credential ids.
fn new_urn_uuid() -> Result<String, Refusal> {
    let mut b = cphar_crypto::random_bytes::<16>()
        .map_err(|e| invalid(format!("random source failed: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
