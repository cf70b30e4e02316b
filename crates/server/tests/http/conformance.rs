//! Every answer the suite receives is checked against the OpenAPI document the server
//! publishes: a success answer against its operation's status, content type and schema, an
//! error answer against the RFC 9457 problem schema. `send` calls [`check`] on every answer,
//! so each test of the suite is also a schema test.

use crate::harness::Resp;
use cphar_server::openapi::{Body, OPERATIONS, Operation};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

struct Document {
    doc: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| Document {
        doc: cphar_server::openapi::document(),
        validators: Mutex::new(HashMap::new()),
    })
}

/// The operation a concrete request (`/lots/LOT-1/bind?x=y`) is for.
pub fn operation_of(method: &str, path: &str) -> Option<&'static Operation> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    OPERATIONS.iter().find(|op| {
        let tpl: Vec<&str> = op.path.split('/').collect();
        op.method.eq_ignore_ascii_case(method)
            && tpl.len() == segs.len()
            && tpl
                .iter()
                .zip(&segs)
                .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
    })
}

/// Validates `instance` against the schema at `pointer` in the document.
fn validate(pointer: &str, instance: &Value) -> Result<(), String> {
    let d = document();
    let validator = {
        let mut cache = d.validators.lock().unwrap();
        if let Some(v) = cache.get(pointer) {
            v.clone()
        } else {
            let mut schema = d
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("no schema at {pointer}"))
                .clone();
            // `#/components/schemas/…` references resolve against the root of this schema.
            schema["components"] = d.doc["components"].clone();
            let v = std::sync::Arc::new(
                jsonschema::draft202012::new(&schema)
                    .unwrap_or_else(|e| panic!("schema at {pointer}: {e}")),
            );
            cache.insert(pointer.to_owned(), v.clone());
            v
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

fn base(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Checks an answer to `method path`; returns the operation it was for, if any.
#[track_caller]
pub fn check(method: &str, path: &str, r: &Resp) -> Option<&'static Operation> {
    let op = operation_of(method, path);
    let what = format!("{method} {path} → {}", r.status);
    if r.status >= 400 {
        assert_eq!(
            r.content_type(),
            "application/problem+json",
            "{what}: an error answer is a problem: {}",
            r.text()
        );
        let body: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{what}: problem is not JSON: {e}"));
        validate("/components/schemas/Problem", &body)
            .unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert_eq!(body["status"], json!(r.status), "{what}: {body}");
        assert_eq!(
            body["type"].as_str().unwrap_or(""),
            format!(
                "urn:cphar:problem:{}",
                body["reasonCode"].as_str().unwrap_or("")
            ),
            "{what}: {body}"
        );
        return op;
    }
    let op = op.unwrap_or_else(|| panic!("{what}: a success for an unlisted operation"));
    let (status, ct) = match op.response {
        Body::Json(s, ct, _) | Body::Text(s, ct) => (s, ct),
        Body::None => panic!("{what}: the operation documents no answer"),
    };
    assert_eq!(
        r.status,
        status,
        "{what}: undocumented status: {}",
        r.text()
    );
    assert_eq!(
        base(r.content_type()),
        ct,
        "{what}: undocumented content type"
    );
    if let Body::Json(..) = op.response {
        let body: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON: {e}: {}", r.text()));
        let pointer = format!(
            "/paths/{}/{}/responses/{status}/content/{}/schema",
            escape(op.path),
            op.method,
            escape(ct)
        );
        validate(&pointer, &body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    }
    Some(op)
}

#[test]
fn the_schemas_refuse_what_the_server_must_not_send() {
    // A problem without its reason code.
    assert!(
        validate(
            "/components/schemas/Problem",
            &json!({"type": "x", "status": 400})
        )
        .is_err()
    );
    let active = format!(
        "/paths/{}/get/responses/200/content/application~1json/schema",
        escape("/reserve/active")
    );
    let public = json!({"lotId": "L", "did": "did:web:x:lots:L", "didVersion": 1,
                        "bindingId": null, "attestation": "attested"});
    validate(&active, &json!({"lots": [public.clone()], "next": null})).unwrap();
    // A public listing that also carries a detail is neither view.
    let mut leaky = public.clone();
    leaky["commodity"] = json!("copper cathode");
    assert!(validate(&active, &json!({"lots": [leaky], "next": null})).is_err());
    // An unknown attestation status.
    let mut odd = public;
    odd["attestation"] = json!("fine");
    assert!(validate(&active, &json!({"lots": [odd], "next": null})).is_err());
    // A seal state the registry does not have.
    let seal = "/components/schemas/SealState";
    validate(seal, &json!("attested")).unwrap();
    assert!(validate(seal, &json!("glued")).is_err());
}
