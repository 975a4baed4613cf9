//! What the operating system says about the processes of a run: wall clock, peak memory and CPU
//! time from `/proc`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, the unit of the acknowledgement and arrival stamps.
pub fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0)
}

/// The peak resident memory (`VmHWM`) of `pid` in MiB; 0 when it is gone.
pub fn peak_rss_mb(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Clock ticks per second of `/proc/*/stat` times: `getconf CLK_TCK` (this crate forbids the
/// `unsafe` of `sysconf`), else 100, the value on every Linux architecture in use.
pub fn clock_ticks_per_s() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime in ticks from a `/proc/.../stat` file; 0 when it is gone. The fields are
/// counted after the `)` that closes the command name (which may contain spaces): utime and
/// stime are fields 14 and 15, the 12th and 13th after it.
fn cpu_ticks(stat_path: &str) -> u64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// CPU ticks used so far by every party of the run.
#[derive(Debug, Clone, Default)]
pub struct CpuTicks {
    /// Per Herald process, in the order of `pids`.
    pub herald: Vec<u64>,
    /// This process without the receiver's threads.
    pub bench: u64,
    /// The receiver's `actix-server` threads in this process.
    pub receiver: u64,
    /// Every process whose `comm` starts with `postgres`: the whole server, other databases'
    /// sessions too (a process that exits during the run takes its time with it).
    pub postgres: u64,
    /// Those whose command line names the bench's database (its backends, autovacuum workers).
    pub postgres_bench_db: u64,
}

impl CpuTicks {
    /// Reads the ticks of every Herald process in `pids`, of this process and its receiver
    /// threads, and of PostgreSQL (`bench_db`: the bench's database, on the pg topology).
    pub fn read(pids: &[(&str, Option<u32>)], bench_db: Option<&str>) -> CpuTicks {
        let herald = pids
            .iter()
            .map(|(_, pid)| pid.map_or(0, |p| cpu_ticks(&format!("/proc/{p}/stat"))))
            .collect();
        let mut receiver = 0;
        for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
            let dir = task.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.starts_with("actix-server") {
                receiver += cpu_ticks(&dir.join("stat").to_string_lossy());
            }
        }
        let bench = cpu_ticks("/proc/self/stat").saturating_sub(receiver);
        let (mut postgres, mut postgres_bench_db) = (0, 0);
        if let Some(db_name) = bench_db {
            for proc in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let dir = proc.path();
                let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                if !comm.starts_with("postgres") {
                    continue;
                }
                let ticks = cpu_ticks(&dir.join("stat").to_string_lossy());
                postgres += ticks;
                let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(db_name) {
                    postgres_bench_db += ticks;
                }
            }
        }
        CpuTicks {
            herald,
            bench,
            receiver,
            postgres,
            postgres_bench_db,
        }
    }
}
