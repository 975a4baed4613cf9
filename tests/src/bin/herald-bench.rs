//! `herald-bench`: measures Herald end to end on this machine. Starts a signature-checking
//! receiver and Herald as child processes on loopback, creates an account, a token and webhooks
//! through the public API, sends events from concurrent clients, waits for every delivery and
//! prints a table and a JSON line. Everything stays on 127.0.0.1 and it stops by itself.
//!
//! Cost: the CPU time (user + system, from `/proc/<pid>/stat`) every Herald process and, on the
//! pg topology, every PostgreSQL process used between the first event sent and the last
//! delivery received, per delivery and per event; the bench's and the receiver's own CPU for
//! context (the receiver runs in this process, on its `actix-server` threads). At the end it
//! scrapes each Herald process's `/metrics` (`HERALD_METRICS` is on) and prints the group
//! commits, claims and attempts it counted, so a profile can be read without `perf`.
//!
//! `cargo run --release -p herald-tests --bin herald-bench -- --topology single --events 20000`
//! (build Herald first with `cargo build --release -p herald`).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use herald_tests::http::Session;
use herald_tests::process::HeraldProcess;
use herald_tests::receiver::{Receiver, Reply};
use migration::testing::ThrowawayDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Topology {
    /// One `herald serve` on SQLite.
    Single,
    /// One `serve --no-workers` plus `--workers` worker processes on PostgreSQL (`TEST_DATABASE_URL`).
    Pg,
}

/// End-to-end benchmark of Herald on loopback.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "single")]
    topology: Topology,
    /// Worker processes (pg topology).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Webhooks subscribed to every event.
    #[arg(long, default_value_t = 1)]
    webhooks: usize,
    /// Events to send.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Concurrent sending clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Events per ingest request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Concurrent deliveries per Herald process (`HERALD_WORKERS`).
    #[arg(long, default_value_t = 64)]
    herald_workers: usize,
    /// Target events/s in total (0 = as fast as possible); use a low rate to measure latency.
    #[arg(long, default_value_t = 0)]
    rate: u64,
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0)
}

fn peak_rss_mb(pid: Option<u32>) -> f64 {
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
fn clock_ticks_per_s() -> f64 {
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
struct CpuTicks {
    /// Per Herald process, in the order of `pids`.
    herald: Vec<u64>,
    /// This process without the receiver's threads.
    bench: u64,
    /// The receiver's `actix-server` threads in this process.
    receiver: u64,
    /// Every process whose `comm` starts with `postgres`: the whole server, other databases'
    /// sessions too (a process that exits during the run takes its time with it).
    postgres: u64,
    /// Those whose command line names the bench's database (its backends, autovacuum workers).
    postgres_bench_db: u64,
}

impl CpuTicks {
    fn read(pids: &[(&str, Option<u32>)], bench_db: Option<&str>) -> CpuTicks {
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

/// The samples of a `/metrics` scrape by series, `name{labels}` exactly as rendered (`# `
/// comment lines skipped); empty when the process does not answer.
async fn scrape(base: &str) -> HashMap<String, f64> {
    let Ok(res) = reqwest::get(format!("{base}/metrics")).await else {
        return HashMap::new();
    };
    let text = res.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(series, value)| Some((series.to_owned(), value.parse::<f64>().ok()?)))
        .collect()
}

/// The value of label `label` in a rendered series (`name{a="x",b="y"}`).
fn label<'a>(series: &'a str, label: &str) -> Option<&'a str> {
    let labels = series.split_once('{')?.1.strip_suffix('}')?;
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == label).then(|| v.trim_matches('"'))
    })
}

/// What one process's metrics say about where its time went: per group-commit writer, the
/// claims, the attempts and the deliveries by outcome.
fn profile(process: &str, samples: &HashMap<String, f64>) -> Vec<Value> {
    let mut rows = Vec::new();
    let round = |x: f64, places: i32| (x * 10f64.powi(places)).round() / 10f64.powi(places);
    // Counters and histogram counts are whole numbers, rendered as floats.
    let whole = |n: f64| n.round() as u64;
    let mean = |sum: Option<&f64>, count: f64| sum.map(|s| if count > 0.0 { s / count } else { 0.0 });
    let writers: BTreeMap<&str, f64> = samples
        .iter()
        .filter(|(k, _)| k.starts_with("herald_group_commit_size_count{"))
        .filter_map(|(k, v)| Some((label(k, "writer")?, *v)))
        .collect();
    for (writer, count) in writers {
        let labels = format!("{{writer=\"{writer}\"}}");
        let size = mean(samples.get(&format!("herald_group_commit_size_sum{labels}")), count);
        let secs = mean(samples.get(&format!("herald_group_commit_seconds_sum{labels}")), count);
        rows.push(
            json!({"process": process, "what": format!("group commit {writer}"), "count": whole(count),
            "mean_size": size.map(|x| round(x, 2)), "mean_ms": secs.map(|x| round(x * 1000.0, 3))}),
        );
    }
    if let Some(&count) = samples.get("herald_queue_claim_seconds_count") {
        let rows_mean = mean(samples.get("herald_queue_claim_rows_sum"), count);
        let secs = mean(samples.get("herald_queue_claim_seconds_sum"), count);
        rows.push(json!({"process": process, "what": "queue claim", "count": whole(count),
            "mean_size": rows_mean.map(|x| round(x, 2)), "mean_ms": secs.map(|x| round(x * 1000.0, 3))}));
    }
    if let Some(&count) = samples.get("herald_attempt_duration_seconds_count") {
        let secs = mean(samples.get("herald_attempt_duration_seconds_sum"), count);
        rows.push(json!({"process": process, "what": "attempt", "count": whole(count),
            "mean_size": null, "mean_ms": secs.map(|x| round(x * 1000.0, 3))}));
    }
    let outcomes: BTreeMap<&str, f64> = samples
        .iter()
        .filter(|(k, _)| k.starts_with("herald_deliveries_total{"))
        .filter_map(|(k, v)| Some((label(k, "outcome")?, *v)))
        .collect();
    for (outcome, count) in outcomes {
        rows.push(
            json!({"process": process, "what": format!("deliveries {outcome}"), "count": whole(count),
            "mean_size": null, "mean_ms": null}),
        );
    }
    if let Some(&events) = samples.get("herald_events_ingested_total") {
        rows.push(
            json!({"process": process, "what": "events ingested", "count": whole(events),
            "mean_size": null, "mean_ms": null}),
        );
    }
    rows
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = match args.topology {
        Topology::Single => ThrowawayDb::create().await,
        Topology::Pg => ThrowawayDb::postgres_required().await,
    };
    let mut env = vec![
        ("HERALD_DATABASE_URL", db.url().to_owned()),
        ("HERALD_SECRET_KEY", "ef".repeat(32)),
        ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("HERALD_METRICS", "true".to_owned()),
        // The bench measures throughput, not the per-account ingest quota.
        ("HERALD_INGEST_EVENTS_PER_SECOND", "10000000".to_owned()),
    ];
    env.push(("HERALD_WORKERS", args.herald_workers.to_string()));
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(200, "ok"));
    let mut processes = Vec::new();
    let web = match args.topology {
        Topology::Single => HeraldProcess::start(&["serve"], &env).await,
        Topology::Pg => HeraldProcess::start(&["serve", "--no-workers"], &env).await,
    };
    if matches!(args.topology, Topology::Pg) {
        for _ in 0..args.workers {
            processes.push(HeraldProcess::start(&["worker"], &env).await);
        }
    }
    let s = Session::new(&web.base);
    s.signup("bench@example.com", "Bench").await;
    let token = s.create_token("bench", &["ingest", "read", "write"]).await;
    let mut secrets = Vec::new();
    for i in 0..args.webhooks {
        let body = json!({"name": format!("bench {i}"), "url": rx.url, "patterns": [{"pattern": "*"}]});
        let (status, created) = s.api(Method::POST, &token, "/webhooks", Some(&body)).await;
        anyhow::ensure!(status == StatusCode::CREATED, "webhook creation failed: {created}");
        secrets.push(created["secret"].as_str().unwrap_or_default().to_owned());
    }

    let acks: Arc<Mutex<HashMap<String, i64>>> = Arc::new(Mutex::new(HashMap::with_capacity(args.events)));
    let requests = args.events.div_ceil(args.batch);
    let per_client = requests.div_ceil(args.clients);
    let interval =
        (args.rate > 0).then(|| Duration::from_secs_f64(args.batch as f64 * args.clients as f64 / args.rate as f64));
    let pids: Vec<(&str, Option<u32>)> = std::iter::once(("web", web.child.id()))
        .chain(processes.iter().map(|p| ("worker", p.child.id())))
        .collect();
    let bench_db = match args.topology {
        Topology::Single => None,
        Topology::Pg => url::Url::parse(db.url())
            .ok()
            .map(|u| u.path().trim_start_matches('/').to_owned()),
    };
    let ticks_per_s = clock_ticks_per_s();
    let cpu_before = CpuTicks::read(&pids, bench_db.as_deref());
    let (started, wall_at_start) = (Instant::now(), now_ms());
    let mut senders = Vec::new();
    for c in 0..args.clients {
        let (acks, token, base) = (acks.clone(), token.clone(), web.base.clone());
        let (batch, total) = (args.batch, args.events);
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut tick = interval.map(tokio::time::interval);
            for r in 0..per_client {
                let first = (c * per_client + r) * batch;
                if first >= total {
                    break;
                }
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let ids: Vec<String> = (first..(first + batch).min(total))
                    .map(|i| format!("bench-{i}"))
                    .collect();
                let events: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"type": "track", "userId": "u", "event": "bench", "messageId": id}))
                    .collect();
                let body = if batch == 1 {
                    events[0].clone()
                } else {
                    json!({"batch": events})
                };
                let res = client
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let acked = now_ms();
                match res {
                    Ok(r) if r.status() == StatusCode::ACCEPTED => {
                        let mut map = acks.lock().await;
                        for id in ids {
                            map.insert(id, acked);
                        }
                    }
                    Ok(r) => eprintln!("ingest answered {}", r.status()),
                    Err(e) => eprintln!("ingest failed: {e}"),
                }
            }
        }));
    }
    let expected = args.events * args.webhooks;
    let mut latencies = Vec::with_capacity(expected);
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(expected);
    let mut bad_signatures = 0usize;
    let mut last_progress = Instant::now();
    let mut ingest_done: Option<Duration> = None;
    // Peak RSS once a quarter of the deliveries arrived, to compare with the end (flatness).
    let mut rss_at_quarter: Option<Vec<f64>> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Waits for the senders too, so `--webhooks 0` measures ingest alone.
    while (seen.len() < expected || ingest_done.is_none()) && Instant::now() < deadline {
        if ingest_done.is_none() && senders.iter().all(tokio::task::JoinHandle::is_finished) {
            ingest_done = Some(started.elapsed());
        }
        let got = rx.drain(Duration::from_millis(50)).await;
        let map = acks.lock().await;
        for r in got {
            // The receiver stamps each request on arrival; convert that instant to wall-clock ms.
            let arrived = wall_at_start + i64::try_from(r.at.duration_since(started).as_millis()).unwrap_or(0);
            let id = r.header("webhook-id").unwrap_or_default().to_owned();
            let (ts, sig) = (
                r.header("webhook-timestamp").unwrap_or("0").parse().unwrap_or(0),
                r.header("webhook-signature").unwrap_or(""),
            );
            if !secrets
                .iter()
                .any(|secret| herald_jobs::signing::verify_standard(secret, &id, ts, ts, &r.body, sig))
            {
                bad_signatures += 1;
            }
            if let Some(acked) = map.get(r.json()["messageId"].as_str().unwrap_or_default()) {
                latencies.push((arrived - acked).max(0) as f64);
            }
            *seen.entry(id).or_default() += 1;
        }
        drop(map);
        if rss_at_quarter.is_none() && seen.len() * 4 >= expected {
            rss_at_quarter = Some(pids.iter().map(|(_, pid)| peak_rss_mb(*pid)).collect());
        }
        if last_progress.elapsed() > Duration::from_millis(500) {
            let done = seen.len();
            let bar = "#".repeat(done * 40 / expected.max(1));
            eprint!(
                "\r[{bar:<40}] {done}/{expected} delivered, {:.1} s",
                started.elapsed().as_secs_f64()
            );
            std::io::stderr().flush().ok();
            last_progress = Instant::now();
        }
    }
    let total = started.elapsed();
    let cpu_after = CpuTicks::read(&pids, bench_db.as_deref());
    let ingest = ingest_done.unwrap_or(total);
    eprintln!();
    latencies.sort_by(f64::total_cmp);
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let lost = expected.saturating_sub(seen.len());
    let quarter = rss_at_quarter.unwrap_or_default();
    let rss: Vec<Value> = pids
        .iter()
        .enumerate()
        .map(|(i, (name, pid))| {
            let round = |mb: f64| (mb * 10.0).round() / 10.0;
            json!({"process": name, "mb": round(peak_rss_mb(*pid)), "mb_at_quarter": round(quarter.get(i).copied().unwrap_or(0.0))})
        })
        .collect();
    let secs = |before: u64, after: u64| after.saturating_sub(before) as f64 / ticks_per_s;
    let herald_cpu: Vec<f64> = cpu_before
        .herald
        .iter()
        .zip(&cpu_after.herald)
        .map(|(b, a)| secs(*b, *a))
        .collect();
    let herald_cpu_s: f64 = herald_cpu.iter().sum();
    let pg = bench_db.is_some();
    let postgres_cpu_s = pg.then(|| secs(cpu_before.postgres, cpu_after.postgres));
    let postgres_bench_db_cpu_s = pg.then(|| secs(cpu_before.postgres_bench_db, cpu_after.postgres_bench_db));
    // µs of CPU per unit of work, whole microseconds; none when no such work was done.
    let per = |cpu_s: f64, n: usize| (n > 0).then(|| (cpu_s * 1e6 / n as f64).round());
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let cpu_by_process: Vec<Value> = pids
        .iter()
        .zip(&herald_cpu)
        .map(|((name, _), s)| json!({"process": name, "s": round2(*s)}))
        .collect();
    let mut profiles = Vec::new();
    profiles.extend(profile("web", &scrape(&web.base).await));
    for (i, p) in processes.iter().enumerate() {
        profiles.extend(profile(&format!("worker {}", i + 1), &scrape(&p.base).await));
    }
    let result = json!({
        "topology": format!("{:?}", args.topology).to_lowercase(),
        "events": args.events, "webhooks": args.webhooks, "clients": args.clients, "batch": args.batch, "rate": args.rate,
        "ingest_events_per_s": (args.events as f64 / ingest.as_secs_f64()).round(),
        "deliveries_per_s": (seen.len() as f64 / total.as_secs_f64()).round(),
        "latency_ms": {"p50": percentile(&latencies, 0.5), "p95": percentile(&latencies, 0.95), "p99": percentile(&latencies, 0.99), "max": latencies.last().copied().unwrap_or(0.0)},
        "duplicates": duplicates, "lost": lost, "bad_signatures": bad_signatures,
        "peak_rss_mb": rss,
        "herald_cpu_us_per_delivery": per(herald_cpu_s, seen.len()),
        "herald_cpu_us_per_event": per(herald_cpu_s, args.events),
        "postgres_cpu_us_per_delivery": postgres_cpu_s.and_then(|s| per(s, seen.len())),
        "postgres_cpu_us_per_event": postgres_cpu_s.and_then(|s| per(s, args.events)),
        "cpu_s": {
            "herald": round2(herald_cpu_s), "herald_by_process": cpu_by_process,
            "postgres": postgres_cpu_s.map(round2), "postgres_bench_db": postgres_bench_db_cpu_s.map(round2),
            "bench": round2(secs(cpu_before.bench, cpu_after.bench)),
            "receiver": round2(secs(cpu_before.receiver, cpu_after.receiver)),
            "wall": round2(total.as_secs_f64()), "clock_ticks_per_s": ticks_per_s,
        },
        "profile": profiles.clone(),
    });
    println!("| metric | value |\n|---|---|");
    for (k, v) in result
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "profile")
    {
        println!("| {k} | {v} |");
    }
    println!("\n| process | what (from /metrics) | count | mean size | mean ms |\n|---|---|---|---|---|");
    for row in &profiles {
        let cell = |k: &str| match &row[k] {
            Value::Null => "–".to_owned(),
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            cell("process"),
            cell("what"),
            cell("count"),
            cell("mean_size"),
            cell("mean_ms")
        );
    }
    println!("{result}");
    drop(processes);
    drop(web);
    anyhow::ensure!(lost == 0, "{lost} deliveries did not arrive");
    Ok(())
}
