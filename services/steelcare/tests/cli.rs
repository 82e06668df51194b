//! The binary's bad-input contract: a one-line error naming the problem and a non-zero exit,
//! never a panic; and the `token` and `migrate` commands doing their job.

use std::process::{Command, Output};

fn steelcare(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steelcare"));
    command.current_dir(dir).args(args).env("RUST_LOG", "error");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("STEELCARE__")) {
        command.env_remove(key);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run steelcare")
}

fn assert_one_line_failure(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
}

const SECRET: (&str, &str) = ("STEELCARE__AUTH__JWT_SECRET", "0123456789abcdef0123456789");

#[test]
fn unknown_service_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = steelcare(dir.path(), &["serve", "--service", "intake,billing"], &[]);
    assert_one_line_failure(&out, "unknown service \"billing\"");
}

#[test]
fn an_unreadable_config_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = steelcare(dir.path(), &["--config", "missing.toml", "serve"], &[]);
    assert_one_line_failure(&out, "missing.toml");
    std::fs::write(dir.path().join("bad.toml"), "[server\nlisten=").unwrap();
    let out = steelcare(dir.path(), &["--config", "bad.toml", "serve"], &[]);
    assert_one_line_failure(&out, "configuration");
}

#[test]
fn an_invalid_value_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = steelcare(
        dir.path(),
        &["serve"],
        &[("STEELCARE__SERVER__LISTEN", "everywhere")],
    );
    assert_one_line_failure(&out, "server.listen");
}

#[test]
fn an_unreachable_database_or_redis_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = steelcare(
        dir.path(),
        &["serve"],
        &[
            (
                "STEELCARE__DATABASE__URL",
                "postgres://steelcare:pw@127.0.0.1:1/steelcare",
            ),
            SECRET,
        ],
    );
    assert_one_line_failure(
        &out,
        "cannot connect to the database at postgres://steelcare:***@",
    );
    // The cause in words, not the pool's "timed out waiting for an open connection".
    assert_one_line_failure(&out, "connection refused by 127.0.0.1:1");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(":pw@"));

    let out = steelcare(
        dir.path(),
        &["serve"],
        &[("STEELCARE__REDIS__URL", "redis://127.0.0.1:1"), SECRET],
    );
    assert_one_line_failure(&out, "cannot connect to redis at redis://127.0.0.1:1");
}

#[test]
fn outside_the_embedded_default_a_secret_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let out = steelcare(
        dir.path(),
        &["serve"],
        &[("STEELCARE__REDIS__URL", "redis://127.0.0.1:6379")],
    );
    assert_one_line_failure(&out, "auth.jwt_secret");
}

#[test]
fn token_prints_a_jwt_with_the_asked_roles() {
    let dir = tempfile::tempdir().unwrap();
    let out = steelcare(
        dir.path(),
        &[
            "token", "--role", "customer", "--org", "org-9", "--sub", "c1", "--ttl", "30m",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let claims = token
        .trim()
        .split('.')
        .nth(1)
        .expect("a JWT has three parts");
    assert!(!claims.is_empty());
    // The embedded default generated its secret into ./data for serve to use.
    assert!(dir.path().join("data/jwt_secret").is_file());

    let out = steelcare(dir.path(), &["token", "--role", "customer"], &[]);
    assert_one_line_failure(&out, "organisation");
    let out = steelcare(dir.path(), &["token", "--role", "root"], &[]);
    assert_one_line_failure(&out, "unknown role");
}

#[test]
fn migrate_applies_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut said = Vec::new();
    for _ in 0..2 {
        let out = steelcare(dir.path(), &["migrate"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        said.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    // It says how many it applied, not how many exist.
    assert!(!said[0].starts_with("0 migrations applied"), "{}", said[0]);
    assert!(said[1].starts_with("0 migrations applied"), "{}", said[1]);
    assert!(dir.path().join("data/steelcare.db").is_file());
}
