//! Turns change sets into a write plan: each record written once (the last version wins, the
//! first decides insert-or-update and the version an update must replace), inserts grouped
//! for multi-row statements. Applying the plan is equivalent to applying the change sets one
//! after the other, and much cheaper when a batch touches a record several times.

use cphar_registry::event::RegistryEvent;
use cphar_registry::model::{
    AuthorityRecord, BindingRecord, CustodyRecord, InspectionRecord, LotRecord, SealRecord,
};
use cphar_registry::store::{
    ChangeSet, DidDocumentVersion, PolicyInstall, ReportKeyRecord, ReportWrite, SealBatch,
    StoreError, TokenWrite,
};
use std::collections::HashMap;

/// Records to insert and records to update (with the version they replace).
pub(crate) struct Writes<'a, T> {
    pub inserts: Vec<&'a T>,
    pub updates: Vec<(&'a T, u64)>,
}

/// Everything one transaction writes.
pub(crate) struct Plan<'a> {
    pub seals: Writes<'a, SealRecord>,
    pub lots: Writes<'a, LotRecord>,
    pub bindings: Writes<'a, BindingRecord>,
    pub authorities: Writes<'a, AuthorityRecord>,
    pub inspections: Vec<&'a InspectionRecord>,
    pub custody: Vec<&'a CustodyRecord>,
    pub did_documents: Vec<&'a DidDocumentVersion>,
    /// Events with their sequence numbers.
    pub events: Vec<(u64, &'a RegistryEvent)>,
    /// Challenges to store.
    pub challenges_issued: Vec<&'a cphar_registry::store::Challenge>,
    /// Challenges to spend first.
    pub challenges_spent: Vec<&'a cphar_registry::store::SpendChallenge>,
    /// API token changes, in order.
    pub tokens: Vec<&'a TokenWrite>,
    /// Policies put in force, in order.
    pub policies: Vec<&'a PolicyInstall>,
    /// Report keys to certify (at most one can land).
    pub report_keys: Vec<&'a ReportKeyRecord>,
    /// Reserve reports to store, in order.
    pub reports: Vec<&'a ReportWrite>,
    /// Seal batches with their items.
    pub seal_batches: Vec<&'a SealBatch>,
}

impl<'a> Plan<'a> {
    /// Plans `sets`, numbering events from `first_sequence`.
    pub fn new(sets: &'a [ChangeSet], first_sequence: u64) -> Result<Self, StoreError> {
        let mut next = first_sequence;
        let mut events = Vec::new();
        for set in sets {
            for e in set.events() {
                events.push((next, e));
                next += 1;
            }
        }
        Ok(Plan {
            seals: compact(
                sets.iter().flat_map(|s| s.seals()),
                |r| &r.uid,
                |r| r.version,
            )?,
            lots: compact(
                sets.iter().flat_map(|s| s.lots()),
                |r| &r.lot_id,
                |r| r.version,
            )?,
            bindings: compact(
                sets.iter().flat_map(|s| s.bindings()),
                |r| &r.id,
                |r| r.version,
            )?,
            authorities: compact(
                sets.iter().flat_map(|s| s.authorities()),
                |r| &r.key_id,
                |r| r.version,
            )?,
            inspections: sets.iter().flat_map(|s| s.inspections()).collect(),
            custody: sets.iter().flat_map(|s| s.custody()).collect(),
            did_documents: sets.iter().flat_map(|s| s.did_documents()).collect(),
            events,
            challenges_issued: sets.iter().flat_map(|s| s.challenges_issued()).collect(),
            challenges_spent: sets.iter().flat_map(|s| s.challenges_spent()).collect(),
            tokens: sets.iter().flat_map(|s| s.tokens()).collect(),
            policies: sets.iter().filter_map(|s| s.policy()).collect(),
            report_keys: sets.iter().filter_map(|s| s.report_key()).collect(),
            reports: sets.iter().flat_map(|s| s.reports()).collect(),
            seal_batches: sets.iter().flat_map(|s| s.seal_batches()).collect(),
        })
    }

    /// The sequence number after the last event.
    pub fn next_sequence(&self, first_sequence: u64) -> u64 {
        first_sequence + self.events.len() as u64
    }
}

fn compact<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> &str,
    version: impl Fn(&T) -> u64,
) -> Result<Writes<'a, T>, StoreError> {
    // key -> (first version seen, latest record); `order` keeps first-appearance order.
    let mut seen: HashMap<&'a str, (u64, &'a T)> = HashMap::new();
    let mut order: Vec<&'a str> = Vec::new();
    for item in items {
        let k = key(item);
        let v = version(item);
        if v == 0 {
            return Err(StoreError::Conflict(format!("record {k} has version 0")));
        }
        match seen.get_mut(k) {
            Some((_, last)) => {
                if v != version(last) + 1 {
                    return Err(StoreError::Conflict(format!(
                        "record {k}: version {v} does not follow {}",
                        version(last)
                    )));
                }
                *last = item;
            }
            None => {
                seen.insert(k, (v, item));
                order.push(k);
            }
        }
    }
    let mut writes = Writes {
        inserts: Vec::new(),
        updates: Vec::new(),
    };
    for k in order {
        if let Some(&(first, last)) = seen.get(k) {
            if first == 1 {
                writes.inserts.push(last);
            } else {
                writes.updates.push((last, first - 1));
            }
        }
    }
    Ok(writes)
}
