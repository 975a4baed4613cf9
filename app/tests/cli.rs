//! The `herald` binary itself. (Having an integration test here also makes
//! `cargo test --workspace` build the binary that the crash and scale-out tests start.)

use std::process::Command;

#[test]
fn the_binary_lists_its_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("--help")
        .output()
        .expect("herald runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "worker", "migrate"] {
        assert!(help.contains(command), "{command} in:\n{help}");
    }
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = std::env::temp_dir().join(format!("herald-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("herald.db");
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("migrate")
        .env("HERALD_DATABASE_URL", format!("sqlite://{}?mode=rwc", db.display()))
        .env("HERALD_SECRET_KEY", "ab".repeat(32))
        .output()
        .expect("herald runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut bytes = std::fs::read(&db).expect("the database file exists");
    bytes.extend(std::fs::read(dir.join("herald.db-wal")).unwrap_or_default());
    let text = String::from_utf8_lossy(&bytes);
    for table in ["accounts", "webhooks", "deliveries", "seaql_migrations"] {
        assert!(
            text.contains(&format!("CREATE TABLE \"{table}\"")),
            "table {table} was created"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
