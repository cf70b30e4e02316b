//! Interop with the real `openssl ts`: requests made by `openssl ts -query` answered by our
//! signer and checked by `openssl ts -verify` / `-reply -text`; tokens made by
//! `openssl ts -reply` checked by our verifier, with tampering. Skips loudly without openssl
//! (fails under CI=true).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{
    OTHER_POLICY, Openssl, POLICY, dev_chain, now, openssl_available, parse_openssl_hex, signer,
    text_field,
};
use cphar_crypto::Algorithm;
use cphar_tsa::{
    FailureInfo, HashAlg, Oid, PkiStatus, TokenCheck, TrustAnchors, TsaConfig, TsaSigner, UnixTime,
    parse_request, parse_response, verify_token,
};

const DATA: &[u8] = b"CPHAR reserve attestation bundle #42\n";

/// Every combination of key, hash, nonce, certReq (and a requested policy): `openssl ts -query`
/// -> our `issue` -> `openssl ts -verify` says OK; `-reply -text` shows our serial and nonce.
#[test]
fn our_tokens_pass_openssl_verify() {
    if !openssl_available() {
        return;
    }
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::EcdsaP384Sha384] {
        let chain = dev_chain(alg);
        let tsa = signer(&chain);
        let o = Openssl::new();
        o.write("data.bin", DATA);
        o.write("root.pem", chain.root_pem());
        o.write("tsa.pem", chain.leaf_pem());
        let anchors = TrustAnchors::from_der(&[chain.root_der()]).unwrap();
        // Serials above 64 bits, to see openssl print the full number.
        let mut serial: u128 = 0x0123_4567_89ab_cdef_0011_2233_4455_6600;
        for hash in ["sha256", "sha384", "sha512"] {
            for nonce in [true, false] {
                for cert_req in [true, false] {
                    for policy in [None, Some(OTHER_POLICY)] {
                        serial += 1;
                        let case = format!(
                            "{alg} {hash} nonce={nonce} certReq={cert_req} policy={policy:?}"
                        );
                        let mut query = vec!["ts", "-query", "-data", "data.bin"];
                        let hash_flag = format!("-{hash}");
                        query.push(&hash_flag);
                        if !nonce {
                            query.push("-no_nonce");
                        }
                        if cert_req {
                            query.push("-cert");
                        }
                        if let Some(p) = policy {
                            query.extend(["-tspolicy", p]);
                        }
                        query.extend(["-out", "req.tsq"]);
                        o.run(&query);
                        let req_der = o.read("req.tsq");
                        let req = parse_request(&req_der).unwrap();
                        assert_eq!(req.nonce.is_some(), nonce, "{case}");

                        let gen_time = now();
                        let resp = tsa.issue(&req_der, serial, gen_time);
                        o.write("resp.tsr", &resp);

                        // openssl's verdict: signature, ESS, chain to the root, EKU, imprint.
                        let mut verify = vec![
                            "ts", "-verify", "-in", "resp.tsr", "-data", "data.bin", "-CAfile",
                            "root.pem",
                        ];
                        if !cert_req {
                            verify.extend(["-untrusted", "tsa.pem"]);
                        }
                        let out = o.try_run(&verify);
                        let stdout = String::from_utf8_lossy(&out.stdout);
                        assert!(
                            out.status.success() && stdout.contains("Verification: OK"),
                            "{case}: openssl ts -verify: {stdout}\n{}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        // And against the query itself (imprint + nonce).
                        let mut verify_q = vec![
                            "ts",
                            "-verify",
                            "-in",
                            "resp.tsr",
                            "-queryfile",
                            "req.tsq",
                            "-CAfile",
                            "root.pem",
                        ];
                        if !cert_req {
                            verify_q.extend(["-untrusted", "tsa.pem"]);
                        }
                        assert!(o.run(&verify_q).contains("Verification: OK"), "{case}");

                        // openssl's reading of the token: serial, nonce, policy.
                        let text = o.run(&["ts", "-reply", "-in", "resp.tsr", "-text"]);
                        assert_eq!(text_field(&text, "Status"), Some("Granted."), "{case}");
                        let shown = parse_openssl_hex(text_field(&text, "Serial number").unwrap());
                        assert_eq!(shown, serial, "{case}");
                        let qtext = o.run(&["ts", "-query", "-in", "req.tsq", "-text"]);
                        assert_eq!(
                            text_field(&text, "Nonce"),
                            text_field(&qtext, "Nonce"),
                            "{case}"
                        );
                        if nonce {
                            assert_ne!(text_field(&text, "Nonce"), Some("unspecified"));
                        }
                        assert_eq!(
                            text_field(&text, "Policy OID"),
                            Some(policy.unwrap_or(POLICY)),
                            "{case}"
                        );
                        assert_eq!(text_field(&text, "Hash Algorithm"), Some(hash), "{case}");

                        // Our verifier agrees.
                        let extra = [chain.leaf_der().to_vec()];
                        let mut check = TokenCheck::for_data(DATA);
                        if let Some(n) = &req.nonce {
                            check = check.nonce(n);
                        }
                        if !cert_req {
                            check = check.extra_certs(&extra);
                        }
                        let v = verify_token(&resp, &check, &anchors, gen_time).unwrap();
                        assert_eq!(v.serial_u128(), Some(serial), "{case}");
                        assert_eq!(v.gen_time, gen_time.truncated(0), "{case}");
                        assert_eq!(v.imprint.alg(), HashAlg::from_name(hash).unwrap());
                    }
                }
            }
        }
    }
}

/// genTime with millisecond precision: openssl parses and prints the fraction.
#[test]
fn fractional_gen_time_passes_openssl() {
    if !openssl_available() {
        return;
    }
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let mut config = TsaConfig::new(vec![chain.leaf_der().to_vec()], Oid::parse(POLICY).unwrap());
    config.fraction_digits = 3;
    let tsa = TsaSigner::new(&chain.key_pkcs8_der, config).unwrap();
    let o = Openssl::new();
    o.write("data.bin", DATA);
    o.write("root.pem", chain.root_pem());
    o.run(&[
        "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "req.tsq",
    ]);
    let t = now();
    let gen_time = UnixTime::new(t.secs(), 123_456_789).unwrap();
    o.write("resp.tsr", tsa.issue(&o.read("req.tsq"), 1, gen_time));
    let out = o.run(&[
        "ts", "-verify", "-in", "resp.tsr", "-data", "data.bin", "-CAfile", "root.pem",
    ]);
    assert!(out.contains("Verification: OK"));
    let text = o.run(&["ts", "-reply", "-in", "resp.tsr", "-text"]);
    let stamp = text_field(&text, "Time stamp").unwrap();
    assert!(stamp.contains(".123 "), "{stamp}");
}

/// Our rejections as openssl reads them.
#[test]
fn our_rejections_read_by_openssl() {
    if !openssl_available() {
        return;
    }
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let tsa = signer(&chain);
    let o = Openssl::new();
    o.write("data.bin", DATA);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"not DER at all".to_vec(),
            "the data submitted has the wrong format",
        ),
        (
            query(&o, &["-md5"]),
            "unrecognized or unsupported algorithm identifier",
        ),
        (
            query(&o, &["-sha1"]),
            "unrecognized or unsupported algorithm identifier",
        ),
        (
            query(&o, &["-sha256", "-tspolicy", "1.2.3.4.5.6"]),
            "the requested TSA policy is not supported by the TSA",
        ),
    ];
    for (i, (req, expected)) in cases.iter().enumerate() {
        o.write("resp.tsr", tsa.issue(req, 100 + i as u128, now()));
        let text = o.run(&["ts", "-reply", "-in", "resp.tsr", "-text"]);
        assert_eq!(text_field(&text, "Status"), Some("Rejected."), "{text}");
        assert_eq!(text_field(&text, "Failure info"), Some(*expected), "{text}");
    }
    o.write("resp.tsr", tsa.reject(FailureInfo::TimeNotAvailable));
    let text = o.run(&["ts", "-reply", "-in", "resp.tsr", "-text"]);
    assert_eq!(
        text_field(&text, "Failure info"),
        Some("the TSA's time source is not available")
    );
}

fn query(o: &Openssl, flags: &[&str]) -> Vec<u8> {
    let mut args = vec!["ts", "-query", "-data", "data.bin", "-cert"];
    args.extend(flags);
    args.extend(["-out", "q.tsq"]);
    o.run(&args);
    o.read("q.tsq")
}

/// A TSA run by `openssl ts -reply`, with its own certificate.
struct OpensslTsa {
    o: Openssl,
    /// Root certificate (DER).
    root: Vec<u8>,
    /// TSA certificate (DER).
    tsa_cert: Vec<u8>,
}

const OSSL_POLICY: &str = "1.2.3.4.1";
const OSSL_OTHER_POLICY: &str = "1.2.3.4.2";

impl OpensslTsa {
    /// A TSA whose certificate rcgen made (our dev chain).
    fn with_dev_chain(alg: Algorithm) -> Self {
        let chain = dev_chain(alg);
        let o = Openssl::new();
        o.write("root.pem", chain.root_pem());
        o.write("tsa.pem", chain.leaf_pem());
        o.write("tsa.key", chain.key_pem().as_bytes());
        OpensslTsa {
            o,
            root: chain.root_der().to_vec(),
            tsa_cert: chain.leaf_der().to_vec(),
        }
    }

    /// A TSA whose root and certificate `openssl req` / `openssl x509` made.
    fn with_openssl_chain(newkey: &[&str]) -> Self {
        let o = Openssl::new();
        o.run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=OpenSSL Test Root",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        o.write(
            "ext.cnf",
            "[tsa_ext]\nbasicConstraints = CA:FALSE\n\
             keyUsage = critical, digitalSignature, nonRepudiation\n\
             extendedKeyUsage = critical, timeStamping\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
        );
        let mut req = vec!["req", "-new", "-newkey"];
        req.extend(newkey);
        req.extend([
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/O=OpenSSL Test/CN=OpenSSL Test TSA",
        ]);
        o.run(&req);
        o.run(&[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "tsa_ext",
        ]);
        let der = |name: &str| {
            o.run(&["x509", "-in", name, "-outform", "DER", "-out", "tmp.der"]);
            o.read("tmp.der")
        };
        let root = der("root.pem");
        let tsa_cert = der("tsa.pem");
        OpensslTsa { o, root, tsa_cert }
    }

    /// Writes tsa.cnf; `serial` is the hex content of the serial file.
    fn configure(&self, signer_digest: &str, ess_alg: &str, serial: &str) {
        let dir = self.o.dir_path().display().to_string();
        self.o.write("serial", format!("{serial}\n"));
        self.o.write(
            "tsa.cnf",
            format!(
                "[ tsa ]\ndefault_tsa = tsa_config1\n\n[ tsa_config1 ]\n\
                 dir = {dir}\nserial = $dir/serial\ncrypto_device = builtin\n\
                 signer_cert = $dir/tsa.pem\nsigner_key = $dir/tsa.key\ncerts = $dir/tsa.pem\n\
                 signer_digest = {signer_digest}\ndefault_policy = {OSSL_POLICY}\n\
                 other_policies = {OSSL_OTHER_POLICY}\ndigests = sha256, sha384, sha512\n\
                 accuracy = secs:1, millisecs:500, microsecs:100\nclock_precision_digits = 3\n\
                 ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\n\
                 ess_cert_id_alg = {ess_alg}\n"
            ),
        );
    }

    /// `openssl ts -query` + `openssl ts -reply`; returns (response, nonce).
    fn stamp(&self, hash: &str, cert_req: bool) -> (Vec<u8>, Vec<u8>) {
        let o = &self.o;
        o.write("data.bin", DATA);
        let hash_flag = format!("-{hash}");
        let mut q = vec!["ts", "-query", "-data", "data.bin", hash_flag.as_str()];
        if cert_req {
            q.push("-cert");
        }
        q.extend(["-out", "req.tsq"]);
        o.run(&q);
        o.run(&[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "req.tsq",
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-out",
            "resp.tsr",
        ]);
        let nonce = parse_request(&o.read("req.tsq")).unwrap().nonce.unwrap();
        (o.read("resp.tsr"), nonce)
    }

    fn serial_file(&self) -> u128 {
        let text = String::from_utf8(self.o.read("serial")).unwrap();
        u128::from_str_radix(text.trim(), 16).unwrap()
    }
}

/// Tokens from `openssl ts -reply` (rcgen- and openssl-made TSA certificates; EC P-256, P-384,
/// RSA-2048) pass our verifier, and carry what openssl says they carry.
#[test]
fn openssl_tokens_pass_our_verify() {
    if !openssl_available() {
        return;
    }
    let tsas = [
        (
            "rcgen P-256",
            OpensslTsa::with_dev_chain(Algorithm::EcdsaP256Sha256),
        ),
        (
            "rcgen P-384",
            OpensslTsa::with_dev_chain(Algorithm::EcdsaP384Sha384),
        ),
        (
            "openssl P-384",
            OpensslTsa::with_openssl_chain(&["ec", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        ),
        (
            "openssl RSA-2048",
            OpensslTsa::with_openssl_chain(&["rsa:2048"]),
        ),
    ];
    for (name, tsa) in &tsas {
        let anchors = TrustAnchors::from_der(&[&tsa.root]).unwrap();
        for (signer_digest, hash) in [
            ("sha256", "sha256"),
            ("sha384", "sha512"),
            ("sha512", "sha384"),
        ] {
            tsa.configure(signer_digest, "sha256", "7FFFFFFFFFFFFFFFFFF0");
            let (resp, nonce) = tsa.stamp(hash, true);
            let case = format!("{name} signer_digest={signer_digest} imprint={hash}");
            let at = now();
            let v = verify_token(
                &resp,
                &TokenCheck::for_data(DATA).nonce(&nonce),
                &anchors,
                at,
            )
            .unwrap_or_else(|e| panic!("{case}: {e} ({})", e.reason_code()));
            assert_eq!(v.serial_u128(), Some(tsa.serial_file()), "{case}");
            assert_eq!(v.nonce.as_deref(), Some(nonce.as_slice()), "{case}");
            assert_eq!(v.policy.to_string(), OSSL_POLICY, "{case}");
            assert_eq!(v.imprint.alg(), HashAlg::from_name(hash).unwrap(), "{case}");
            assert_eq!(v.signer_cert, tsa.tsa_cert, "{case}");
            assert!(v.ordering, "{case}");
            let acc = v.accuracy.unwrap();
            assert_eq!(
                (acc.seconds, acc.millis, acc.micros),
                (1, 500, 100),
                "{case}"
            );
            assert!(v.tsa_name.as_deref().unwrap().contains("TSA"), "{case}");
            assert!(v.gen_time.secs().abs_diff(at.secs()) < 300, "{case}");
            // openssl's text shows the same serial and genTime.
            let text = tsa.o.run(&["ts", "-reply", "-in", "resp.tsr", "-text"]);
            let serial = parse_openssl_hex(text_field(&text, "Serial number").unwrap());
            assert_eq!(v.serial_u128(), Some(serial), "{case}");
            // And a bare token (openssl -token_out) verifies the same way.
            tsa.o.run(&[
                "ts",
                "-reply",
                "-in",
                "resp.tsr",
                "-token_out",
                "-out",
                "tok.der",
            ]);
            let token = tsa.o.read("tok.der");
            let vt = verify_token(&token, &TokenCheck::for_data(DATA), &anchors, at).unwrap();
            assert_eq!(vt.serial, v.serial);
            assert_eq!(vt.token, token);
        }
    }
}

/// Refusals of openssl-made tokens, each with its reason code.
#[test]
fn openssl_tokens_tampered_or_mismatched_are_refused() {
    if !openssl_available() {
        return;
    }
    let tsa = OpensslTsa::with_openssl_chain(&["ec", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    tsa.configure("sha384", "sha256", "01");
    let (resp, nonce) = tsa.stamp("sha256", true);
    let anchors = TrustAnchors::from_der(&[&tsa.root]).unwrap();
    let at = now();
    let code = |der: &[u8], check: &TokenCheck<'_>, anchors: &TrustAnchors, at: UnixTime| {
        verify_token(der, check, anchors, at)
            .map(|_| "accepted")
            .unwrap_or_else(|e| e.reason_code())
    };
    let data = TokenCheck::for_data(DATA);
    assert_eq!(code(&resp, &data, &anchors, at), "accepted");

    // The signature is the response's last element: flip its last byte.
    let mut bad_sig = resp.clone();
    *bad_sig.last_mut().unwrap() ^= 0x01;
    assert_eq!(code(&bad_sig, &data, &anchors, at), "bad_signature");

    // Flip a byte of the imprint inside the TSTInfo.
    let digest = HashAlg::Sha256.digest(DATA);
    let pos = find(&resp, &digest).expect("imprint in token");
    let mut bad_tst = resp.clone();
    bad_tst[pos + 5] ^= 0x40;
    assert_eq!(
        code(&bad_tst, &data, &anchors, at),
        "message_digest_mismatch"
    );

    assert_eq!(
        code(&resp, &TokenCheck::for_data(b"other data"), &anchors, at),
        "imprint_mismatch"
    );
    assert_eq!(
        code(
            &resp,
            &TokenCheck::for_data(DATA).nonce(&[1, 2, 3]),
            &anchors,
            at
        ),
        "nonce_mismatch"
    );
    assert_eq!(
        code(
            &resp,
            &TokenCheck::for_data(DATA).nonce(&nonce),
            &anchors,
            at
        ),
        "accepted"
    );
    assert_eq!(
        code(
            &resp,
            &TokenCheck::for_data(DATA).policy(Oid::parse(OSSL_OTHER_POLICY).unwrap()),
            &anchors,
            at
        ),
        "policy_mismatch"
    );

    let other_root = dev_chain(Algorithm::EcdsaP256Sha256);
    let wrong = TrustAnchors::from_der(&[other_root.root_der()]).unwrap();
    assert_eq!(code(&resp, &data, &wrong, at), "untrusted_signer");

    // 60 days on, the 30-day certificates have expired.
    let later = UnixTime::from_secs(at.secs() + 60 * 86_400).unwrap();
    assert_eq!(code(&resp, &data, &anchors, later), "cert_expired");

    // certReq false: no certificate in the token; found again through extra_certs.
    let (resp_nocert, _) = tsa.stamp("sha256", false);
    assert_eq!(code(&resp_nocert, &data, &anchors, at), "signer_not_found");
    let extra = [tsa.tsa_cert.clone()];
    assert_eq!(
        code(
            &resp_nocert,
            &TokenCheck::for_data(DATA).extra_certs(&extra),
            &anchors,
            at
        ),
        "accepted"
    );

    // ESS v1 (SHA-1 certificate hash, openssl's default): refused unless allowed.
    tsa.configure("sha256", "sha1", "02");
    let (resp_v1, _) = tsa.stamp("sha256", true);
    assert_eq!(code(&resp_v1, &data, &anchors, at), "missing_ess_cert_id");
    assert_eq!(
        code(
            &resp_v1,
            &TokenCheck::for_data(DATA).accept_ess_v1(true),
            &anchors,
            at
        ),
        "accepted"
    );

    // A rejection made by openssl (unsupported policy) is not_granted.
    tsa.o.write("data.bin", DATA);
    tsa.o.run(&[
        "ts",
        "-query",
        "-data",
        "data.bin",
        "-sha256",
        "-tspolicy",
        "1.9.9.9",
        "-out",
        "rq.tsq",
    ]);
    tsa.o.run(&[
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-queryfile",
        "rq.tsq",
        "-out",
        "rj.tsr",
    ]);
    let rejected = tsa.o.read("rj.tsr");
    let parsed = parse_response(&rejected).unwrap();
    assert_eq!(parsed.status, PkiStatus::Rejection);
    assert_eq!(parsed.failures, vec![FailureInfo::UnacceptedPolicy]);
    assert_eq!(code(&rejected, &data, &anchors, at), "not_granted");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
