//! The OpenAPI 3.1 document of the API, generated from one table of operations and the Rust
//! types of their requests, query strings and answers (JSON Schema 2020-12 by `schemars`,
//! [`crate::schema`]). Every operation lists its success answer and, as `default`, the RFC 9457
//! problem answer with `reasonCode`. The HTTP suite requests every operation of the table
//! against the real router (none may be unrouted, nothing unlisted is served) and checks every
//! answer it gets against the schema the document gives for it.

use crate::problem::ProblemBody;
use crate::routes as pr;
use crate::schema as s;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Builds a schema in a generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// A request or answer body.
#[derive(Clone, Copy)]
pub enum Body {
    /// No body.
    None,
    /// JSON of this content type and schema (status for answers, 0 for requests).
    Json(u16, &'static str, SchemaFn),
    /// Not JSON: a string of this content type (status for answers, 0 for requests).
    Text(u16, &'static str),
}

/// One operation.
#[derive(Clone, Copy)]
pub struct Operation {
    /// `get`, `post`, `put`, `delete`.
    pub method: &'static str,
    /// Path template (`{name}` parameters).
    pub path: &'static str,
    /// `public`, `any` (any role), or the roles allowed, comma-separated.
    pub role: &'static str,
    /// Summary.
    pub summary: &'static str,
    /// The query string's type.
    pub query: Option<SchemaFn>,
    /// The request body.
    pub request: Body,
    /// The success answer.
    pub response: Body,
}

const J: &str = "application/json";
const DID: &str = "application/did+json";

fn named<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

fn inline<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.root_schema_for::<T>()
}

/// Every operation of the API.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/health",
        role: "public",
        summary: "Liveness, module and clock status",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::Health>),
    },
    Operation {
        method: "get",
        path: "/ready",
        role: "public",
        summary: "Readiness: false in the self-test error state or without trusted time",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::Ready>),
    },
    Operation {
        method: "get",
        path: "/metrics",
        role: "public",
        summary: "Prometheus metrics",
        query: None,
        request: Body::None,
        response: Body::Text(200, "text/plain"),
    },
    Operation {
        method: "get",
        path: "/openapi.json",
        role: "public",
        summary: "This document",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::OpenApiDocument>),
    },
    Operation {
        method: "get",
        path: "/.well-known/did.json",
        role: "public",
        summary: "The registry's DID document: Enrollment Authority and identity keys",
        query: None,
        request: Body::None,
        response: Body::Json(200, DID, named::<s::DidDocument>),
    },
    Operation {
        method: "get",
        path: "/lots/{id}/did.json",
        role: "public",
        summary: "A lot's DID document (did:web); ?versionId= for past versions",
        query: Some(inline::<pr::public::VersionQuery>),
        request: Body::None,
        response: Body::Json(200, DID, named::<s::DidDocument>),
    },
    Operation {
        method: "get",
        path: "/reserve/active",
        role: "public",
        summary: "The active reserve set (lot details only for auditor, admin, operator of the lot)",
        query: Some(inline::<pr::public::Page>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::ActiveReserve>),
    },
    Operation {
        method: "get",
        path: "/status/revocations",
        role: "public",
        summary: "Revocation status list 0: a signed W3C Bitstring Status List credential",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::StatusListCredential>),
    },
    Operation {
        method: "get",
        path: "/status/revocations/entries",
        role: "public",
        summary: "Revoked and decommissioned binding methods with reasons and times, by id",
        query: Some(inline::<pr::public::Page>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::Revocations>),
    },
    Operation {
        method: "get",
        path: "/status/revocations/{list}",
        role: "public",
        summary: "Revocation status list N (the `statusListCredential` a BEA names)",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::StatusListCredential>),
    },
    Operation {
        method: "get",
        path: "/audit/entries",
        role: "operator,auditor,admin",
        summary: "The audit log as JSON Lines (an operator: the entries it is the actor of)",
        query: Some(inline::<pr::audit::EntriesQuery>),
        request: Body::None,
        response: Body::Text(200, "application/jsonl"),
    },
    Operation {
        method: "get",
        path: "/audit/leaves",
        role: "public",
        summary: "Sequence numbers and RFC 9162 leaf hashes of the audit log",
        query: Some(inline::<pr::audit::EntriesQuery>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::Leaves>),
    },
    Operation {
        method: "get",
        path: "/audit/checkpoint",
        role: "public",
        summary: "A signed checkpoint (C2SP tlog-checkpoint) of the audit log",
        query: None,
        request: Body::None,
        response: Body::Text(200, "text/plain"),
    },
    Operation {
        method: "get",
        path: "/audit/proof/{seq}",
        role: "public",
        summary: "Inclusion proof bundle for one entry (the entry itself only for those who may read it)",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::InclusionBundle>),
    },
    Operation {
        method: "get",
        path: "/audit/consistency",
        role: "public",
        summary: "Consistency proof bundle from ?from= to now",
        query: Some(inline::<pr::audit::ConsistencyQuery>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::ConsistencyBundle>),
    },
    Operation {
        method: "get",
        path: "/tsa/certificate",
        role: "public",
        summary: "TSA certificate chain, leaf first (PEM)",
        query: None,
        request: Body::None,
        response: Body::Text(200, "application/pem-certificate-chain"),
    },
    Operation {
        method: "post",
        path: "/tsa",
        role: "public",
        summary: "RFC 3161 time-stamp (application/timestamp-query)",
        query: None,
        request: Body::Text(0, "application/timestamp-query"),
        response: Body::Text(200, "application/timestamp-reply"),
    },
    Operation {
        method: "post",
        path: "/seals",
        role: "vendor",
        summary: "Register a seal with its vendor attestation",
        query: None,
        request: Body::Json(0, J, named::<s::RegisterSeal>),
        response: Body::Json(201, J, named::<s::Seal>),
    },
    Operation {
        method: "post",
        path: "/enrollment/challenges",
        role: "vendor",
        summary: "An enrollment challenge signed by the Enrollment Authority, for the device to sign",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(201, J, named::<s::EnrollmentChallenge>),
    },
    Operation {
        method: "post",
        path: "/seals:batch",
        role: "vendor",
        summary: "Register a manifest of seals (JSON Lines, at most 10,000 lines of 64 KiB, 16 MiB), each line checked as POST /seals; one audited event commits to the registered seals (Merkle root); ?atomic=true refuses all on any refused line",
        query: Some(inline::<pr::registry::BatchQuery>),
        request: Body::Text(0, "application/x-ndjson"),
        response: Body::Json(200, J, named::<s::BatchReport>),
    },
    Operation {
        method: "get",
        path: "/seals:batch/{id}",
        role: "vendor,auditor,admin",
        summary: "A seal batch: its items, Merkle root and audited event",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::SealBatch>),
    },
    Operation {
        method: "get",
        path: "/seals:batch/{id}/items/{index}",
        role: "vendor,auditor,admin",
        summary: "One item of a seal batch with its RFC 9162 inclusion proof against the batch's root",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::BatchItemProof>),
    },
    Operation {
        method: "get",
        path: "/seals/{uid}",
        role: "operator,auditor,admin",
        summary: "A seal with its history (an operator: seals of the lots it bound)",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::SealWithHistory>),
    },
    Operation {
        method: "post",
        path: "/inspections",
        role: "inspector",
        summary: "Record an inspection",
        query: None,
        request: Body::Json(0, J, named::<s::RecordInspection>),
        response: Body::Json(201, J, named::<s::InspectionRecorded>),
    },
    Operation {
        method: "post",
        path: "/custody",
        role: "inspector,operator",
        summary: "Record a chain-of-custody event",
        query: None,
        request: Body::Json(0, J, named::<s::RecordCustody>),
        response: Body::Json(201, J, named::<s::CustodyRecorded>),
    },
    Operation {
        method: "get",
        path: "/lots/{id}",
        role: "operator,auditor,admin",
        summary: "A lot with bindings, inspections, custody and history (an operator: lots it bound)",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::LotDetails>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/bind",
        role: "operator",
        summary: "Bind the lot to the seal it was inspected with; issues the BEA",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(201, J, named::<s::Binding>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/sign-off",
        role: "auditor",
        summary: "Independent auditor sign-off",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(200, J, named::<s::Lot>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/revoke",
        role: "operator",
        summary: "Revoke the lot's binding (reason code)",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::ReasonBody>),
        response: Body::Json(200, J, named::<s::Lot>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/retire",
        role: "operator",
        summary: "Retire the lot's seal (reason code)",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::ReasonBody>),
        response: Body::Json(200, J, named::<s::Lot>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/rebind",
        role: "operator",
        summary: "Replace the lot's seal by the re-inspected one",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::ReasonBody>),
        response: Body::Json(201, J, named::<s::Binding>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/decommission",
        role: "operator",
        summary: "End the lot's life",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(200, J, named::<s::Lot>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/close-cycle",
        role: "operator",
        summary: "Close the attestation cycle (Attested → Sealed)",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(200, J, named::<s::Lot>),
    },
    Operation {
        method: "post",
        path: "/lots/{id}/reenroll",
        role: "operator",
        summary: "Re-enroll a binding suspended by an EA revocation",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(200, J, named::<s::Lot>),
    },
    Operation {
        method: "post",
        path: "/challenges",
        role: "verifier",
        summary: "Issue a ChallengeRequest",
        query: None,
        request: Body::Json(0, J, named::<s::IssueChallenge>),
        response: Body::Json(201, J, named::<s::ChallengeIssued>),
    },
    Operation {
        method: "post",
        path: "/challenges/{id}/response",
        role: "verifier",
        summary: "Verify a ChallengeResponse",
        query: None,
        request: Body::Json(0, J, named::<s::ChallengeResponse>),
        response: Body::Json(200, J, named::<s::VerificationAnswer>),
    },
    Operation {
        method: "post",
        path: "/tokens",
        role: "admin",
        summary: "Create an API token (shown once)",
        query: None,
        request: Body::Json(0, J, named::<s::CreateToken>),
        response: Body::Json(201, J, named::<s::TokenCreated>),
    },
    Operation {
        method: "delete",
        path: "/tokens/{id}",
        role: "admin",
        summary: "Revoke an API token",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::TokenRevoked>),
    },
    Operation {
        method: "post",
        path: "/authority/revoke",
        role: "admin",
        summary: "Revoke the Enrollment Authority key and rotate",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(200, J, named::<s::AuthorityRotated>),
    },
    Operation {
        method: "post",
        path: "/authority/expire",
        role: "admin",
        summary: "Revoke suspended bindings whose window closed",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(200, J, named::<s::AuthorityExpired>),
    },
    Operation {
        method: "get",
        path: "/session",
        role: "any",
        summary: "The role and subject of the presented token",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::Session>),
    },
    Operation {
        method: "get",
        path: "/policy",
        role: "any",
        summary: "The active policy: id, version, rules",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::Policy>),
    },
    Operation {
        method: "put",
        path: "/policy",
        role: "admin",
        summary: "Replace the active policy (a newer version; audited)",
        query: None,
        request: Body::Json(0, J, named::<s::PolicyDocument>),
        response: Body::Json(200, J, named::<s::PolicyChanged>),
    },
    Operation {
        method: "post",
        path: "/reports",
        role: "operator,admin",
        summary: "Publish the next signed, timestamped reserve report (Location: /reports/{n})",
        query: None,
        request: Body::Json(0, J, named::<pr::registry::Empty>),
        response: Body::Json(201, J, named::<s::ReserveReport>),
    },
    Operation {
        method: "get",
        path: "/reports",
        role: "public",
        summary: "Published reports: number, generatedAt, roots, totals, lot count",
        query: Some(inline::<pr::reports::ReportsQuery>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::ReportList>),
    },
    Operation {
        method: "get",
        path: "/reports/latest",
        role: "public",
        summary: "The latest report, exactly as published",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::ReserveReport>),
    },
    Operation {
        method: "get",
        path: "/reports/key",
        role: "public",
        summary: "The report key (JWK, thumbprint), as certified in the audit log",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::ReportKey>),
    },
    Operation {
        method: "get",
        path: "/reports/{n}",
        role: "public",
        summary: "Report n, exactly as published",
        query: None,
        request: Body::None,
        response: Body::Json(200, J, named::<s::ReserveReport>),
    },
    Operation {
        method: "get",
        path: "/reports/{n}/leaves",
        role: "auditor,admin",
        summary: "The leaves of report n (JSON array sorted by lot id; ?after=&limit= pages)",
        query: Some(inline::<pr::reports::LeavesQuery>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::ReportLeaves>),
    },
    Operation {
        method: "get",
        path: "/reports/{n}/proof",
        role: "auditor,admin,operator",
        summary: "Inclusion or non-inclusion proof of ?lot= in report n (operator: inclusion of its own lots)",
        query: Some(inline::<pr::reports::ProofQuery>),
        request: Body::None,
        response: Body::Json(200, J, named::<s::ReportProof>),
    },
];

/// The generator: JSON Schema 2020-12 with definitions under `#/components/schemas/`.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "#/components/schemas/".into();
            s.meta_schema = None;
        })
        .into_generator()
}

fn content(g: &mut SchemaGenerator, body: Body) -> Option<(u16, Value)> {
    match body {
        Body::None => None,
        Body::Json(status, ct, schema) => {
            Some((status, json!({ct: {"schema": schema(g).to_value()}})))
        }
        Body::Text(status, ct) => Some((status, json!({ct: {"schema": {"type": "string"}}}))),
    }
}

/// Query parameters from the query type's schema: one per property.
fn query_parameters(g: &mut SchemaGenerator, query: SchemaFn) -> Vec<Value> {
    let schema = query(g).to_value();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, schema)| {
            json!({"name": name, "in": "query", "required": required.contains(&name.as_str()),
                   "schema": schema})
        })
        .collect()
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut g = generator();
    let problem = g.subschema_for::<ProblemBody>().to_value();
    let mut paths = Map::new();
    for op in OPERATIONS {
        let mut params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let kind = if name == "seq" { "integer" } else { "string" };
                json!({"name": name, "in": "path", "required": true, "schema": {"type": kind}})
            })
            .collect();
        if let Some(q) = op.query {
            params.extend(query_parameters(&mut g, q));
        }
        let mut responses = Map::new();
        if let Some((status, c)) = content(&mut g, op.response) {
            responses.insert(
                status.to_string(),
                json!({"description": "success", "content": c}),
            );
        }
        responses.insert(
            "default".into(),
            json!({"description": "problem details (RFC 9457) with reasonCode",
                   "content": {"application/problem+json": {"schema": problem}}}),
        );
        let mut o = Map::new();
        o.insert("summary".into(), json!(op.summary));
        o.insert("x-cphar-role".into(), json!(op.role));
        if !params.is_empty() {
            o.insert("parameters".into(), Value::Array(params));
        }
        if let Some((_, c)) = content(&mut g, op.request) {
            o.insert(
                "requestBody".into(),
                json!({"required": true, "content": c}),
            );
        }
        o.insert("responses".into(), Value::Object(responses));
        if op.role != "public" {
            o.insert("security".into(), json!([{"bearer": []}]));
        }
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        if let Value::Object(m) = entry {
            m.insert(op.method.to_owned(), Value::Object(o));
        }
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "CPHAR", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Registry and verifier for hardware-sealed physical reserves."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": g.take_definitions(true),
        }
    })
}
