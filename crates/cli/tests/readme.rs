//! The README's commands, run as written (only the server's port differs): each line below
//! must appear in one of README.md's ```` ```sh ```` blocks, so the README cannot drift from
//! what works. Lines with placeholders (`[--option]`, `A | B`) and long-running or slow ones
//! (`seal serve`, `serve`, `bench`) are covered elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use std::path::Path;

/// README command lines without their trailing comments.
fn readme_commands() -> Vec<String> {
    common::sh_blocks("README.md")
        .into_iter()
        .map(|l| match l.find("  #") {
            Some(at) => l[..at].trim_end().to_owned(),
            None => l,
        })
        .collect()
}

struct Readme {
    commands: Vec<String>,
    server: Option<String>,
}

impl Readme {
    /// Runs `line`, which must be a README command, in `dir`; returns its stdout.
    fn run(&self, dir: &Path, line: &str) -> String {
        assert!(
            self.commands.iter().any(|c| c == line),
            "not a README command: {line}"
        );
        let mut env = Vec::new();
        let mut line = line.to_owned();
        if let Some(url) = &self.server {
            line = line.replace("http://127.0.0.1:8080", url);
            env.push(("CPHAR_SERVER", url.clone()));
        }
        common::run_script(dir, &[line], &env).0
    }
}

#[test]
fn the_readme_commands_work_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let examples = common::repo_root().join("examples");
    for f in ["inspection.json", "custody.json"] {
        std::fs::copy(examples.join(f), d.join(f)).unwrap();
    }
    let mut readme = Readme {
        commands: readme_commands(),
        server: None,
    };

    // The offline tools and a seal.
    let jwk = readme.run(d, "cphar keygen --profile ed25519 --out seal.key");
    assert!(jwk.contains("Ed25519"), "{jwk}");
    std::fs::write(d.join("message.json"), r#"{"b": 1.0, "a": "x"}"#).unwrap();
    assert_eq!(
        readme.run(d, "cphar jcs < message.json"),
        r#"{"a":"x","b":1}"#
    );
    readme.run(d, "cphar vendor dev-ca --dir vendor");
    readme.run(
        d,
        "cphar vendor dev-cert --ca-dir vendor --key seal.key --uid SEAL-1 --out seal.json",
    );

    // The registry.
    readme.run(d, "cphar registry init");
    std::fs::copy(
        d.join("vendor/vendors.toml"),
        d.join("cphar-data/vendors.toml"),
    )
    .unwrap();
    for line in [
        "cphar registry register --file seal.json --actor vendor-ops",
        "cphar registry inspect --file inspection.json --actor inspector-1",
        "cphar registry custody --file custody.json --actor carrier-1",
        "cphar registry bind --lot LOT-7 --actor operator-1",
        "cphar registry sign-off --lot LOT-7 --actor auditor-1",
    ] {
        readme.run(d, line);
    }
    assert!(readme.run(d, "cphar registry active").contains("LOT-7"));
    assert!(
        readme
            .run(d, "cphar registry lot LOT-7")
            .contains("ACTIVE RESERVE")
    );

    // Offline verification of a seal's answer against the registry's DID document.
    readme.run(
        d,
        "cphar challenge --did did:web:localhost%3A8080:lots:LOT-7 --verifier did:web:me.example > request.json",
    );
    readme.run(
        d,
        "cphar seal respond --key seal.key --request request.json > response.json",
    );
    readme.run(d, "cphar registry did LOT-7 > did.json");
    let verdict = readme.run(
        d,
        "cphar verify --request request.json --response response.json --did-document did.json",
    );
    assert!(verdict.contains(r#""result":"valid""#), "{verdict}");

    // Through the server.
    let server = common::Server::start(d, &[]);
    readme.server = Some(server.url.clone());
    readme.run(
        d,
        "cphar client token --role verifier --subject verifier-1 --out verifier.token",
    );
    let attested = readme.run(
        d,
        "cphar client attest --token-file verifier.token --lot LOT-7 --key seal.key",
    );
    assert!(attested.contains(r#""sealState":"attested""#), "{attested}");

    // The audit log: a checkpoint right after an export matches it.
    for line in [
        "cphar audit export > log.jsonl",
        "cphar audit identity-key > id.jwk",
        "cphar audit checkpoint > cp.txt",
    ] {
        readme.run(d, line);
    }
    let verified = readme.run(
        d,
        "cphar audit verify log.jsonl --checkpoint cp.txt --identity-key id.jwk",
    );
    assert!(
        verified.contains("matches") && verified.contains("OK:"),
        "{verified}"
    );
    readme.run(d, "cphar audit prove --seq 3 > proof.json");
    let proven = readme.run(
        d,
        "cphar audit check-proof proof.json --identity-key id.jwk",
    );
    assert!(proven.contains("entry 3 is included"), "{proven}");

    // Timestamps, with the root the README says where to get.
    std::fs::write(d.join("report.json"), r#"{"reserve":"LOT-7"}"#).unwrap();
    readme.run(d, "cphar client tsa-root --out tsa-root.pem");
    readme.run(
        d,
        "cphar ts request --data report.json --url http://127.0.0.1:8080/tsa --out report.tsr",
    );
    let ts = readme.run(
        d,
        "cphar ts verify --response report.tsr --data report.json --ca tsa-root.pem",
    );
    assert!(ts.contains("Verification: OK"), "{ts}");
    server.stop();

    readme.run(
        d,
        "cphar registry revoke --lot LOT-7 --reason tamper_detected --actor operator-1",
    );
    assert!(!readme.run(d, "cphar registry active").contains("LOT-7"));
}
