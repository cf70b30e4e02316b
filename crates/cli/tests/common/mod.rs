//! Running documented shell commands against the built `cphar` and a real `cphar serve`.
//!
//! Commands come from the repository's documents, so the documents cannot drift from what
//! works: `sh_blocks` extracts the ```` ```sh ```` blocks of a Markdown file, `run_script`
//! runs lines with `bash -euo pipefail` and `cphar` on the `PATH`. Every `CPHAR_…` variable
//! of the test environment is removed, so commands see the defaults a new user sees.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)] // test code

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of every ```` ```sh ```` block of `doc` (relative to the repository root), in
/// order, without comment-only lines.
pub fn sh_blocks(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join(doc)).unwrap();
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim_end();
        if !inside && trimmed == "```sh" {
            inside = true;
        } else if inside && trimmed == "```" {
            inside = false;
        } else if inside && !trimmed.trim_start().starts_with('#') && !trimmed.is_empty() {
            lines.push(trimmed.to_owned());
        }
    }
    assert!(!lines.is_empty(), "{doc} has no sh block");
    lines
}

/// A `cphar` command (the binary under test) with a clean environment.
pub fn command(program: &str) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("CPHAR_") {
            c.env_remove(k);
        }
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_cphar")).parent().unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("{}:{path}", bin.display()));
    c
}

/// Runs `lines` as one bash script in `dir` (with extra environment `env`), printing what
/// ran; panics with the output when a command fails. Returns stdout and the final directory
/// (scripts may `cd`).
pub fn run_script(dir: &Path, lines: &[String], env: &[(&str, String)]) -> (String, PathBuf) {
    let pwd_file = dir.join(".final-pwd");
    let script = format!(
        "set -euxo pipefail\n{}\npwd > '{}'\n",
        lines.join("\n"),
        pwd_file.display()
    );
    let mut c = command("bash");
    c.arg("-c").arg(&script).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "script failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let final_dir = PathBuf::from(std::fs::read_to_string(&pwd_file).unwrap().trim());
    (stdout, final_dir)
}

/// A `cphar` process with a clean environment.
pub fn cphar(dir: &Path, args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A running `cphar serve` (default settings but a free port), stopped with SIGTERM.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Starts `cphar serve ARGS` in `dir` on a free port; returns once it printed its
    /// address (it listens before it says so).
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = command(env!("CARGO_BIN_EXE_cphar"))
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .env("CPHAR_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                panic!("cphar serve exited ({status}) before serving:\n{seen}");
            }
            seen.push_str(&line);
            if let Some(at) = line.find("serving on ") {
                break line[at + "serving on ".len()..].trim().to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut rest = seen;
            for line in reader.lines() {
                let Ok(line) = line else { break };
                rest.push_str(&line);
                rest.push('\n');
            }
            rest
        });
        Server {
            child,
            url,
            stderr: Some(stderr),
        }
    }

    /// Sends SIGTERM and waits: the server must stop by itself, with exit code 0.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let log = self.stderr.take().unwrap().join().unwrap();
        assert!(status.success(), "server exit {status}:\n{log}");
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies the repository's `examples/` into `dir/examples`.
pub fn copy_examples(dir: &Path) {
    let to = dir.join("examples");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(repo_root().join("examples")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Splits the walk-through at its `cphar serve` line: (before, after).
pub fn walkthrough() -> (Vec<String>, Vec<String>) {
    let lines = sh_blocks("docs/walkthrough.md");
    let at = lines
        .iter()
        .position(|l| l == "cphar serve")
        .expect("the walk-through starts the server with `cphar serve`");
    (lines[..at].to_vec(), lines[at + 1..].to_vec())
}
