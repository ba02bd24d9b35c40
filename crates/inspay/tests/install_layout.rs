//! The installation layout of `docs/operator-guide.md` ("Install", "Installation layout"),
//! proven on the real binary (clause 6.3.5): the server and its commands write only under the
//! data directory. The test runs `inspay apps register` and `inspay serve` with HOME, TMPDIR
//! and the working directory pointed at fresh empty directories, sends a health probe and a
//! signed request, stops the server, and finds those directories still empty.

use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::canonical::CanonicalRequest;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const APP_ID: &str = "layout-app";
/// How long the server may take to become ready (a debug build on a busy machine).
const READY_TIMEOUT_S: u64 = 90;
/// How long the server may take to stop after SIGTERM.
const STOP_TIMEOUT_S: u64 = 30;

/// The directories of one run: the places the server must leave alone, the data directory,
/// and a directory for the test's own inputs.
struct Places {
    home: tempfile::TempDir,
    tmp: tempfile::TempDir,
    cwd: tempfile::TempDir,
    data: tempfile::TempDir,
    inputs: tempfile::TempDir,
}

impl Places {
    fn new() -> Places {
        let dir = || tempfile::tempdir().expect("dir");
        Places {
            home: dir(),
            tmp: dir(),
            cwd: dir(),
            data: dir(),
            inputs: dir(),
        }
    }

    /// `inspay <args>` with HOME, TMPDIR and the working directory at the empty places and
    /// no XDG directories named (so any would default to HOME).
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_inspay"));
        command
            .args(args)
            .current_dir(self.cwd.path())
            .env("HOME", self.home.path())
            .env("TMPDIR", self.tmp.path())
            .env("USER", "ops.tester")
            .env("INSPAY__DATA_DIR", self.data.path())
            .env("INSPAY__LOG__FILTER", "warn")
            .env_remove("INSPAY_CONFIG")
            .env_remove("INSPAY__DATABASE_URL");
        for name in [
            "XDG_CACHE_HOME",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "XDG_STATE_HOME",
            "XDG_RUNTIME_DIR",
        ] {
            command.env_remove(name);
        }
        command
    }
}

/// Every path under `dir`, relative to it, sorted.
fn contents(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![];
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.push(path.strip_prefix(dir).expect("inside").to_path_buf());
        }
    }
    found.sort();
    found
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The server, stopped with SIGTERM (and killed if it does not stop) when dropped.
struct Server {
    child: Child,
    port: u16,
    ca: PathBuf,
}

impl Server {
    /// Sends SIGTERM to this server (by its own process id) and waits for it to exit.
    fn stop(&mut self) -> bool {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + Duration::from_secs(STOP_TIMEOUT_S);
        while signalled && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn start(places: &Places) -> Server {
    let port = free_port();
    let child = places
        .command(&["serve"])
        .env("INSPAY__LISTEN__ADDRESS", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("inspay serve starts");
    let mut server = Server {
        child,
        port,
        ca: places.data.path().join("dev-tls/ca.pem"),
    };
    let deadline = Instant::now() + Duration::from_secs(READY_TIMEOUT_S);
    loop {
        if server.ca.exists() && curl(&server, "GET", "/health/ready", None, None).0 == 200 {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("inspay serve exited before it was ready: {status}");
        }
        assert!(Instant::now() < deadline, "the server did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Status and body of a request through curl (a separate client, real TLS).
fn curl(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&str>,
    authorization: Option<&str>,
) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .arg("--cacert")
        .arg(&server.ca)
        .arg(format!("https://localhost:{}{path}", server.port));
    if let Some(value) = authorization {
        command.arg("-H").arg(format!("authorization: {value}"));
    }
    if let Some(body) = body {
        command
            .args(["-H", "content-type: application/json", "--data-binary"])
            .arg(body);
    }
    let output = command.output().expect("curl runs");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = said.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// The Authorization header of a request signed now by the registered application.
fn authorization(key: &Sm2PrivateKey, method: &str, path: &str, body: &[u8]) -> String {
    let nonce = hex::encode(inspay_crypto::random::bytes::<16>().expect("random"));
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let canonical = CanonicalRequest::new(method, path, now_s, &nonce, body).expect("canonical");
    SignedHeader::sign(key, APP_ID, 1, &canonical)
        .expect("sign")
        .format()
}

/// The server and its commands change nothing outside the data directory: with HOME, TMPDIR
/// and the working directory pointed at fresh empty directories, registering an application,
/// starting the server (which generates its development CA, certificate and master key and
/// creates its database), answering a health probe and a signed request, and stopping on
/// SIGTERM leave those three directories empty; everything it wrote is under the data
/// directory.
/// req: 6.3.5
#[test]
fn the_server_writes_only_under_its_data_directory() {
    let places = Places::new();
    let key = Sm2PrivateKey::generate().expect("key");
    let public = places.inputs.path().join("app.pub.pem");
    std::fs::write(&public, key.public_key().to_spki_pem()).expect("public key");
    let registered = places
        .command(&[
            "apps",
            "register",
            "--id",
            APP_ID,
            "--name",
            "Layout test",
            "--class",
            "information-collection",
            "--public-key",
            public.to_str().expect("UTF-8 path"),
        ])
        .output()
        .expect("inspay runs");
    assert!(registered.status.success(), "{}", text(&registered));

    let mut server = start(&places);
    let (status, _) = curl(&server, "GET", "/health/live", None, None);
    assert_eq!(status, 200);
    let body = serde_json::json!({ "legal_name": "Wang Wei" }).to_string();
    let header = authorization(&key, "POST", "/v1/validate", body.as_bytes());
    let (status, answer) = curl(&server, "POST", "/v1/validate", Some(&body), Some(&header));
    assert_eq!(status, 200, "the signed request is served: {answer}");
    assert!(server.stop(), "the server stops on SIGTERM");

    for (name, dir) in [
        ("HOME", places.home.path()),
        ("TMPDIR", places.tmp.path()),
        ("the working directory", places.cwd.path()),
    ] {
        assert_eq!(
            contents(dir),
            Vec::<PathBuf>::new(),
            "{name} must stay empty"
        );
    }
    let data = contents(places.data.path());
    for expected in ["inspay.db", "dev-master.key", "dev-tls/ca.pem"] {
        assert!(
            data.contains(&PathBuf::from(expected)),
            "{expected} is in the data directory: {data:?}"
        );
    }
}
