//! The policy store: atomic replacement, change reports, anti-rollback per policy id.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use cphar_policy::{
    ChangeRefusal, Effect, PolicyChangeError, PolicyEngine, PolicyInput, PolicyRef, PolicyStore,
};
use serde_json::json;

/// A policy whose every decision names its id and version in the reason code.
fn policy(id: &str, version: u64) -> PolicyEngine {
    let reason = format!("{}_v{version}", id.replace('-', "_"));
    PolicyEngine::from_toml(&format!(
        "policy_id = \"{id}\"\nversion = {version}\n[default]\neffect = \"deny\"\nreason_code = \"{reason}\"\n"
    ))
    .unwrap()
}

fn pref(id: &str, version: u64) -> PolicyRef {
    PolicyRef {
        policy_id: id.into(),
        version,
    }
}

#[test]
fn replace_reports_the_change_and_takes_effect() {
    let store = PolicyStore::new(policy("main", 1));
    let held = store.active();
    let change = store.replace(policy("main", 2)).unwrap();
    assert_eq!(
        (change.old.clone(), change.new.clone()),
        (pref("main", 1), pref("main", 2))
    );
    assert_eq!(
        change.to_json(),
        json!({"new_policy_id": "main", "new_policy_version": 2, "old_policy_id": "main", "old_policy_version": 1})
    );
    let d = store.decide(&PolicyInput::default());
    assert_eq!((d.policy_version, d.reason_code.as_str()), (2, "main_v2"));
    // A reader holding the old policy finishes with it, untorn.
    assert_eq!(held.version(), 1);
    assert_eq!(held.decide(&PolicyInput::default()).reason_code, "main_v1");
}

#[test]
fn versions_must_increase() {
    let store = PolicyStore::new(policy("main", 5));
    for offered in [5, 4, 1] {
        let err = store.replace(policy("main", offered)).unwrap_err();
        assert_eq!(
            err,
            PolicyChangeError::VersionNotNewer {
                policy_id: "main".into(),
                offered,
                stored: 5
            }
        );
        assert_eq!(err.code(), ChangeRefusal::VersionNotNewer);
        assert_eq!(
            err.to_json(),
            json!({"policy_id": "main", "rc_seen": offered, "rc_stored": 5, "reason_code": "policy_version_not_newer"})
        );
        assert!(
            err.to_string().contains("policy_version_not_newer"),
            "{err}"
        );
    }
    // Nothing changed.
    assert_eq!(store.active().version(), 5);
    assert!(store.replace(policy("main", 6)).is_ok());
    assert_eq!(store.active().version(), 6);
}

#[test]
fn switching_ids_cannot_roll_back() {
    let store = PolicyStore::new(policy("a", 3));
    let change = store.replace(policy("b", 1)).unwrap();
    assert_eq!((change.old, change.new), (pref("a", 3), pref("b", 1)));
    // Back to a at version <= 3 is a rollback even though b is active now.
    assert!(matches!(
        store.replace(policy("a", 2)),
        Err(PolicyChangeError::VersionNotNewer { stored: 3, .. })
    ));
    assert!(store.replace(policy("a", 4)).is_ok());
    assert_eq!(
        store.high_water_marks().into_iter().collect::<Vec<_>>(),
        vec![("a".to_owned(), 4), ("b".to_owned(), 1)]
    );
}

#[test]
fn restore_from_high_water_marks() {
    let marks = vec![
        ("main".to_owned(), 7),
        ("other".to_owned(), 2),
        ("main".to_owned(), 3),
    ];
    // The version active before the restart is accepted.
    let store = PolicyStore::with_high_water_marks(policy("main", 7), marks.clone()).unwrap();
    assert!(store.replace(policy("main", 7)).is_err());
    assert!(store.replace(policy("other", 2)).is_err());
    // An older one is not.
    assert!(matches!(
        PolicyStore::with_high_water_marks(policy("main", 6), marks.clone()),
        Err(PolicyChangeError::VersionNotNewer {
            offered: 6,
            stored: 7,
            ..
        })
    ));
    // A newer one raises the mark; an unknown id starts its own.
    let store = PolicyStore::with_high_water_marks(policy("main", 9), marks.clone()).unwrap();
    assert_eq!(store.high_water_marks()["main"], 9);
    let store = PolicyStore::with_high_water_marks(policy("new", 1), marks).unwrap();
    assert_eq!(store.high_water_marks().len(), 3);
}

#[test]
fn concurrent_readers_see_whole_policies() {
    let store = Arc::new(PolicyStore::new(policy("main", 1)));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..2_000 {
                    let d = store.decide(&PolicyInput::default());
                    // Reason and version always come from the same policy, and never go back.
                    assert_eq!(d.reason_code, format!("main_v{}", d.policy_version));
                    assert!(d.policy_version >= last);
                    assert_eq!(d.effect, Effect::Deny);
                    last = d.policy_version;
                }
            })
        })
        .collect();
    for v in 2..=200 {
        store.replace(policy("main", v)).unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(store.active().version(), 200);
}
