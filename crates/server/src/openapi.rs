//! The OpenAPI 3.1 document of the API, generated from one table of operations. A test
//! requests every operation of the table against the real router (none may be unrouted) and
//! checks the router serves nothing the table does not list.

use serde_json::{Map, Value, json};

/// One operation: method, path template, role (`public` or a role name), summary.
pub const OPERATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "get",
        "/health",
        "public",
        "Liveness, module and clock status",
    ),
    (
        "get",
        "/ready",
        "public",
        "Readiness: false in the self-test error state or without trusted time",
    ),
    ("get", "/metrics", "public", "Prometheus metrics"),
    ("get", "/openapi.json", "public", "This document"),
    (
        "get",
        "/.well-known/did.json",
        "public",
        "The registry's DID document: Enrollment Authority and identity keys",
    ),
    (
        "get",
        "/lots/{id}/did.json",
        "public",
        "A lot's DID document (did:web); ?versionId= for past versions",
    ),
    (
        "get",
        "/reserve/active",
        "public",
        "The active reserve set (lot details only for auditor, admin, operator of the lot)",
    ),
    (
        "get",
        "/status/revocations",
        "public",
        "Revoked and decommissioned binding methods",
    ),
    (
        "get",
        "/audit/entries",
        "operator,auditor,admin",
        "The audit log as JSON Lines (an operator: the entries it is the actor of)",
    ),
    (
        "get",
        "/audit/leaves",
        "public",
        "Sequence numbers and RFC 9162 leaf hashes of the audit log",
    ),
    (
        "get",
        "/audit/checkpoint",
        "public",
        "A signed checkpoint (C2SP tlog-checkpoint) of the audit log",
    ),
    (
        "get",
        "/audit/proof/{seq}",
        "public",
        "Inclusion proof bundle for one entry (the entry itself only for those who may read it)",
    ),
    (
        "get",
        "/audit/consistency",
        "public",
        "Consistency proof bundle from ?from= to now",
    ),
    (
        "get",
        "/tsa/certificate",
        "public",
        "TSA certificate chain, leaf first (PEM)",
    ),
    (
        "post",
        "/tsa",
        "public",
        "RFC 3161 time-stamp (application/timestamp-query)",
    ),
    (
        "post",
        "/seals",
        "vendor",
        "Register a seal with its vendor attestation",
    ),
    (
        "get",
        "/seals/{uid}",
        "operator,auditor,admin",
        "A seal with its history (an operator: seals of the lots it bound)",
    ),
    ("post", "/inspections", "inspector", "Record an inspection"),
    (
        "post",
        "/custody",
        "inspector,operator",
        "Record a chain-of-custody event",
    ),
    (
        "get",
        "/lots/{id}",
        "operator,auditor,admin",
        "A lot with bindings, inspections, custody and history (an operator: lots it bound)",
    ),
    (
        "post",
        "/lots/{id}/bind",
        "operator",
        "Bind the lot to the seal it was inspected with; issues the BEA",
    ),
    (
        "post",
        "/lots/{id}/sign-off",
        "auditor",
        "Independent auditor sign-off",
    ),
    (
        "post",
        "/lots/{id}/revoke",
        "operator",
        "Revoke the lot's binding (reason code)",
    ),
    (
        "post",
        "/lots/{id}/retire",
        "operator",
        "Retire the lot's seal (reason code)",
    ),
    (
        "post",
        "/lots/{id}/rebind",
        "operator",
        "Replace the lot's seal by the re-inspected one",
    ),
    (
        "post",
        "/lots/{id}/decommission",
        "operator",
        "End the lot's life",
    ),
    (
        "post",
        "/lots/{id}/close-cycle",
        "operator",
        "Close the attestation cycle (Attested → Sealed)",
    ),
    (
        "post",
        "/lots/{id}/reenroll",
        "operator",
        "Re-enroll a binding suspended by an EA revocation",
    ),
    (
        "post",
        "/challenges",
        "verifier",
        "Issue a ChallengeRequest",
    ),
    (
        "post",
        "/challenges/{id}/response",
        "verifier",
        "Verify a ChallengeResponse",
    ),
    (
        "post",
        "/tokens",
        "admin",
        "Create an API token (shown once)",
    ),
    ("delete", "/tokens/{id}", "admin", "Revoke an API token"),
    (
        "post",
        "/authority/revoke",
        "admin",
        "Revoke the Enrollment Authority key and rotate",
    ),
    (
        "post",
        "/authority/expire",
        "admin",
        "Revoke suspended bindings whose window closed",
    ),
    (
        "get",
        "/policy",
        "any",
        "The active policy: id, version, rules",
    ),
    (
        "put",
        "/policy",
        "admin",
        "Replace the active policy (a newer version; audited)",
    ),
];

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, role, summary) in OPERATIONS {
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": summary,
            "x-cphar-role": role,
            "responses": {
                "200": {"description": "success"},
                "default": {"description": "problem details (RFC 9457) with reasonCode",
                            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        if let Value::Object(o) = &mut op {
            if !params.is_empty() {
                o.insert("parameters".into(), Value::Array(params));
            }
            if *role != "public" {
                o.insert("security".into(), json!([{"bearer": []}]));
            }
        }
        if let Value::Object(m) = entry {
            m.insert((*method).to_owned(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "CPHAR", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Registry and verifier for hardware-sealed physical reserves."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": {"type": "object", "required": ["type", "title", "status", "reasonCode"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                               "detail": {"type": "string"}, "reasonCode": {"type": "string"}}}}
        }
    })
}
