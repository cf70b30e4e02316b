//! `cphar ts …`: RFC 3161 from the command line. `request` makes a `TimeStampReq` (and can
//! send it to a CPHAR server's `/tsa`); `verify` checks a reply or token offline against a
//! TSA root certificate, as `openssl ts -verify` would.

use crate::io;
use anyhow::{Context, Result, anyhow, bail};
use cphar_tsa::{
    HashAlg, MessageImprint, Oid, TokenCheck, TrustAnchors, UnixTime, certs_from_pem, make_request,
    verify_token,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Timestamp operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a TimeStampReq for a file; with `--url`, send it and write the reply.
    Request(RequestArgs),
    /// Verify a TimeStampResp (or a bare token) for a file against a TSA root.
    Verify(VerifyArgs),
}

/// Digest algorithms of imprints.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl From<Hash> for HashAlg {
    fn from(h: Hash) -> Self {
        match h {
            Hash::Sha256 => HashAlg::Sha256,
            Hash::Sha384 => HashAlg::Sha384,
            Hash::Sha512 => HashAlg::Sha512,
        }
    }
}

/// Options of `cphar ts request`.
#[derive(clap::Args)]
pub struct RequestArgs {
    /// The data to timestamp.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Imprint digest.
    #[arg(long, value_enum, default_value = "sha256")]
    hash: Hash,
    /// Omit the nonce.
    #[arg(long)]
    no_nonce: bool,
    /// Do not ask for the TSA certificate in the token (by default it is asked for, so
    /// `ts verify` needs only the root).
    #[arg(long)]
    no_cert: bool,
    /// Requested policy OID.
    #[arg(long, value_name = "OID")]
    policy: Option<String>,
    /// Where to write the request (or, with `--url`, the reply).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// A CPHAR server's TSA endpoint, e.g. `http://127.0.0.1:8080/tsa`.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

/// Options of `cphar ts verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The reply (`TimeStampResp`) or token (DER).
    #[arg(long, value_name = "FILE")]
    response: PathBuf,
    /// The data that was timestamped.
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// Trusted TSA certificate(s), PEM: the TSA's root. A CPHAR server publishes its chain
    /// (leaf first, root last) at `GET /tsa/certificate`; its development TSA keeps it in
    /// `DATA_DIR/tsa-chain.pem`. Every certificate in this file is trusted.
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
    /// Further certificates (e.g. the TSA certificate when the token does not carry it).
    #[arg(long, value_name = "FILE")]
    untrusted: Option<PathBuf>,
    /// Expected nonce (hex).
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Request(a) => request(a),
        Command::Verify(a) => verify(a),
    }
}

fn request(a: RequestArgs) -> Result<ExitCode> {
    let data = io::read_file(&a.data)?;
    let imprint = MessageImprint::of_data(a.hash.into(), &data);
    let nonce = if a.no_nonce {
        None
    } else {
        Some(cphar_crypto::random_bytes::<8>()?)
    };
    let policy = a
        .policy
        .as_deref()
        .map(Oid::parse)
        .transpose()
        .map_err(|e| anyhow!("--policy: {e}"))?;
    let der = make_request(
        &imprint,
        nonce.as_ref().map(|n| &n[..]),
        !a.no_cert,
        policy.as_ref(),
    )?;
    let Some(url) = a.url else {
        std::fs::write(&a.out, &der)
            .with_context(|| format!("cannot write {}", a.out.display()))?;
        if let Some(n) = nonce {
            println!("nonce {}", cphar_audit::entry::hex(&n));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let (addr, path) = split_url(&url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(crate::http::Client::new(addr).send(
        hyper::Method::POST,
        &path,
        None,
        "application/timestamp-query",
        der,
    ))?;
    if answer.status != 200 {
        bail!("the TSA answered {}: {}", answer.status, answer.body);
    }
    std::fs::write(&a.out, &answer.bytes)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    let parsed = cphar_tsa::parse_response(&answer.bytes)?;
    println!(
        "status {:?}{}",
        parsed.status,
        nonce.map_or(String::new(), |n| format!(
            ", nonce {}",
            cphar_audit::entry::hex(&n)
        ))
    );
    Ok(ExitCode::SUCCESS)
}

fn split_url(url: &str) -> Result<(std::net::SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must be http://HOST:PORT/PATH"))?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/tsa".to_owned()), |(h, p)| (h, format!("/{p}")));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .ok_or_else(|| anyhow!("cannot resolve {host}"))?;
    Ok((addr, path))
}

fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let response = io::read_file(&a.response)?;
    let data = io::read_file(&a.data)?;
    let roots = String::from_utf8(io::read_file(&a.ca)?).context("--ca is not PEM")?;
    let anchors = TrustAnchors::from_pem(&roots).map_err(|e| anyhow!("--ca: {e}"))?;
    let extra = match &a.untrusted {
        Some(p) => certs_from_pem(
            &String::from_utf8(io::read_file(p)?).context("--untrusted is not PEM")?,
        )?,
        None => Vec::new(),
    };
    let nonce = a.nonce.as_deref().map(io::decode_hex).transpose()?;
    let mut check = TokenCheck::for_data(&data).extra_certs(&extra);
    if let Some(n) = &nonce {
        check = check.nonce(n);
    }
    let now = UnixTime::from_system_time(std::time::SystemTime::now())
        .ok_or_else(|| anyhow!("system time"))?;
    match verify_token(&response, &check, &anchors, now) {
        Ok(v) => {
            println!("Verification: OK");
            println!(
                "genTime {}  serial {}  policy {}",
                v.gen_time,
                v.serial_hex(),
                v.policy
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("Verification: FAILED ({}): {e}", e.reason_code());
            Ok(ExitCode::from(1))
        }
    }
}
