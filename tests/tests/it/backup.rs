//! `herald backup FILE` while Herald serves and ingests: the copy is consistent (whole requests
//! only, each event with its queued delivery), and a second Herald started on it serves the
//! dashboard and delivers exactly what was queued in it.

use std::collections::HashSet;
use std::time::Duration;

use herald_tests::http::Session;
use herald_tests::process::{HeraldProcess, herald_binary};
use herald_tests::receiver::Receiver;
use herald_tests::unique;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

const EVENTS: usize = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_ingest_starts_a_herald_that_delivers_what_was_queued() {
    let dir = std::env::temp_dir().join(unique("herald-backup"));
    std::fs::create_dir_all(&dir).unwrap();
    let live = format!("sqlite://{}?mode=rwc", dir.join("herald.db").display());
    let copy_path = dir.join("copy.db");
    let env = |url: &str| {
        vec![
            ("HERALD_DATABASE_URL", url.to_owned()),
            ("HERALD_SECRET_KEY", "cd".repeat(32)),
            ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ]
    };
    // Web only: nothing is delivered from the live database, so every event stays queued.
    let first = HeraldProcess::start(&["serve", "--no-workers"], &env(&live)).await;
    let mut rx = Receiver::start().await;
    let s = Session::new(&first.base);
    let email = unique("backup@example.com");
    s.signup(&email, "Backup Co").await;
    let token = s.create_token("all", &["ingest", "write"]).await;
    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/webhooks",
            Some(&json!({"name": "all", "url": rx.url, "patterns": [{"pattern": "*"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let ingest = {
        let s = Session::new(&first.base);
        let token = token.clone();
        tokio::spawn(async move { s.post_track_batches(&token, "backup", EVENTS).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = tokio::process::Command::new(herald_binary())
        .arg("backup")
        .arg(&copy_path)
        .envs(env(&live))
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let during = !ingest.is_finished();
    ingest.await.unwrap();
    let again = std::process::Command::new(herald_binary())
        .arg("backup")
        .arg(&copy_path)
        .envs(env(&live))
        .output()
        .unwrap();
    assert!(!again.status.success(), "a backup never overwrites a file");
    first.kill().await;

    let copy_url = format!("sqlite://{}?mode=rwc", copy_path.display());
    let copied = message_ids(&copy_url, "SELECT message_id FROM events").await;
    let queued = message_ids(
        &copy_url,
        "SELECT e.message_id FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.status = 'pending'",
    )
    .await;
    println!(
        "backup: {} of {EVENTS} events in the copy (taken while ingest was running: {during})",
        copied.len()
    );
    assert!(!copied.is_empty(), "the copy holds the events acknowledged before it");
    assert_eq!(copied.len() % 100, 0, "whole requests only: {}", copied.len());
    assert_eq!(queued, copied, "every copied event has its queued delivery");

    let second = HeraldProcess::start(&["serve"], &env(&copy_url)).await;
    let restored = Session::new(&second.base);
    restored.login(&email).await;
    assert!(restored.page("/settings/webhooks").await.contains(">all<"));
    let delivered = rx.take(copied.len(), Duration::from_secs(120)).await;
    let extra = rx.drain(Duration::from_millis(500)).await;
    assert!(extra.is_empty(), "{} deliveries beyond the copy's queue", extra.len());
    let ids: HashSet<String> = delivered
        .iter()
        .map(|r| r.json()["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), delivered.len(), "each event delivered once");
    assert_eq!(ids, copied);
    drop(second);
    std::fs::remove_dir_all(&dir).ok();
}

async fn message_ids(url: &str, sql: &str) -> HashSet<String> {
    let db = sea_orm::Database::connect(url).await.unwrap();
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}
