//! Herald as a child process (the real `herald` binary), for crash and scale-out tests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The `herald` binary built by `cargo test --workspace` beside this test binary.
///
/// # Panics
/// When it has not been built.
#[must_use]
pub fn herald_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let name = format!("herald{}", std::env::consts::EXE_SUFFIX);
    // Test binaries live in target/<profile>/deps, other binaries (herald-bench) beside herald.
    let candidates: Vec<PathBuf> = exe.ancestors().skip(1).take(2).map(|dir| dir.join(&name)).collect();
    candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| {
        panic!(
            "{} is missing: run the suite with `cargo test --workspace`, which builds it",
            candidates[1].display()
        )
    })
}

/// A running `herald` child process; killed when dropped.
pub struct HeraldProcess {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:<port>`: the web port of `serve`; for `worker`, where it answers
    /// `/metrics` when `HERALD_METRICS` is on (`HERALD_METRICS_BIND`).
    pub base: String,
}

impl HeraldProcess {
    /// Starts `herald <args>` with `env` on a free port (`HERALD_BIND`, and `HERALD_METRICS_BIND`
    /// for a worker's `/metrics`) and waits until `/readyz` answers (for `serve`); `worker`
    /// processes are ready when spawned.
    ///
    /// # Panics
    /// When it does not start within 30 s.
    pub async fn start(args: &[&str], env: &[(&str, String)]) -> HeraldProcess {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = tokio::process::Command::new(herald_binary());
        cmd.args(args)
            .env("HERALD_BIND", format!("127.0.0.1:{port}"))
            .env("HERALD_METRICS_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("herald starts");
        let process = HeraldProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        if args.first() != Some(&"worker") {
            let deadline = Instant::now() + Duration::from_secs(30);
            let client = reqwest::Client::new();
            loop {
                if let Ok(res) = client.get(format!("{}/readyz", process.base)).send().await
                    && res.status().is_success()
                {
                    break;
                }
                assert!(Instant::now() < deadline, "herald did not become ready");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        process
    }

    /// SIGKILL: no graceful shutdown, no flushing.
    pub async fn kill(mut self) {
        self.child.kill().await.ok();
    }
}
