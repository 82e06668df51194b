//! The README, followed from outside (issue 20 §8): `deploy/local/walk.sh` walks one case from
//! the call to the last return visit against the built binary, through `steelcare call`, on
//! each backend; every line of the README's excerpt is a line of the script. Then a row of the
//! archive's documents is deleted behind the product's back, and the export, called the same
//! way, answers DATA_LOSS naming the document.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::walk::{binary, workspace};
use sea_orm::ConnectionTrait;
use steelcare_tests::{
    Backend, FreshDatabase, TEST_SECRET, backends, fresh_database, unique_prefix,
};

/// `steelcare serve` on a port of its own; killed on drop.
struct Served {
    child: Child,
    addr: String,
    env: Vec<(String, String)>,
    _data: tempfile::TempDir,
    _db: FreshDatabase,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(backend: &Backend, db: FreshDatabase) -> Served {
        let data = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut env = vec![
            ("STEELCARE__SERVER__LISTEN".to_owned(), addr.clone()),
            (
                "STEELCARE__DATA_DIR".to_owned(),
                data.path().display().to_string(),
            ),
            ("STEELCARE__DATABASE__URL".to_owned(), db.url.clone()),
            (
                "STEELCARE__DATABASE__MIGRATE_ON_START".to_owned(),
                "true".to_owned(),
            ),
            (
                "STEELCARE__AUTH__JWT_SECRET".to_owned(),
                TEST_SECRET.to_owned(),
            ),
        ];
        if let Backend::PostgresRedis { redis_url, .. } = backend {
            env.push(("STEELCARE__REDIS__URL".to_owned(), redis_url.clone()));
            env.push(("STEELCARE__REDIS__KEY_PREFIX".to_owned(), unique_prefix()));
        }
        let child = Command::new(binary())
            .arg("serve")
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("steelcare serve");
        Served {
            child,
            addr,
            env,
            _data: data,
            _db: db,
        }
    }

    /// `steelcare call` against this server.
    fn call(&self, token: &str, method: &str, json: &str) -> Output {
        Command::new(binary())
            .args(["call", "--addr", &self.addr, "--token", token, method, json])
            .envs(self.env.iter().cloned())
            .output()
            .expect("steelcare call")
    }

    fn token(&self, role: &str) -> String {
        let out = Command::new(binary())
            .args(["token", "--role", role, "--sub", "readme"])
            .envs(self.env.iter().cloned())
            .output()
            .expect("steelcare token");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    async fn wait_serving(&self) {
        for _ in 0..240 {
            let out = self.call("", "grpc.health.v1.Health/Check", "{}");
            if String::from_utf8_lossy(&out.stdout).contains("SERVING") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("steelcare serve did not start on {}", self.addr);
    }
}

/// The lines between `<!-- walk.sh -->` and `<!-- /walk.sh -->` in the README, code only.
fn readme_excerpt() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let start = readme
        .find("<!-- walk.sh -->")
        .expect("the excerpt's start marker");
    let end = readme
        .find("<!-- /walk.sh -->")
        .expect("the excerpt's end marker");
    readme[start..end]
        .lines()
        .filter(|l| !l.starts_with("```") && !l.starts_with("<!--") && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_line_of_the_readme_excerpt_is_a_line_of_the_walk() {
    let script =
        std::fs::read_to_string(workspace().join("deploy/local/walk.sh")).expect("walk.sh");
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    let excerpt = readme_excerpt();
    assert!(excerpt.len() >= 10, "{excerpt:?}");
    for line in excerpt {
        assert!(
            lines.contains(&line.trim()),
            "the README shows a line the walk does not have:\n{line}"
        );
    }
}

#[tokio::test]
async fn the_readme_walk_runs_from_the_call_to_the_last_visit_and_a_damaged_export_is_data_loss() {
    for backend in backends() {
        let db = fresh_database(&backend).await;
        let url = db.url.clone();
        let served = Served::start(&backend, db);
        served.wait_serving().await;
        let out_dir = tempfile::tempdir().expect("temp dir");
        let walk = Command::new("bash")
            .arg(workspace().join("deploy/local/walk.sh"))
            .env("STEELCARE_BIN", binary())
            .env("STEELCARE_ADDR", &served.addr)
            .env("WALK_OUT", out_dir.path())
            .envs(served.env.iter().cloned())
            .output()
            .expect("bash deploy/local/walk.sh");
        let stdout = String::from_utf8_lossy(&walk.stdout);
        let stderr = String::from_utf8_lossy(&walk.stderr);
        assert!(
            walk.status.success(),
            "{backend:?}: the walk failed\n{stdout}\n{stderr}"
        );
        for expected in [
            "in warranty: true",
            "nominal 0 mm; allowed ±12 mm (H/1000 = 12000/1000 = 12 mm, and at most 25 mm)",
            "1 of 5 points is outside the limit",
            "5 个测点中有 1 个超出允许偏差",
            "保修范围：防水工程，保修期 2024年5月10日 至 2029年5月9日",
            "Warranty scope: waterproofing, covered from 10 May 2024 to 9 May 2029",
            "PLAN_STATUS_APPROVED",
            "intact: true",
            "SHA256SUMS: every document OK",
            "CASE_STATE_CLOSED AR-",
        ] {
            assert!(
                stdout.contains(expected),
                "{backend:?}: no {expected:?} in\n{stdout}"
            );
        }
        let archive = stdout
            .lines()
            .last()
            .and_then(|l| l.split_whitespace().last())
            .expect("the archive number")
            .to_owned();

        // Behind the product's back: the guard dropped, one document's row deleted.
        let conn = steelcare_store::connect(&url, 1).await.expect("database");
        let guards: Vec<String> = match &backend {
            Backend::PostgresRedis { .. } => {
                vec!["DROP TRIGGER archive_documents_immutable ON archive_documents".to_owned()]
            }
            Backend::Embedded => vec!["DROP TRIGGER archive_documents_no_delete".to_owned()],
        };
        for sql in guards {
            conn.execute_unprepared(&sql).await.expect(&sql);
        }
        conn.execute_unprepared(
            "DELETE FROM archive_documents WHERE sequence = (SELECT MAX(sequence) FROM archive_documents)",
        )
        .await
        .expect("delete a document row");
        let engineer = served.token("engineer");
        let export = served.call(
            &engineer,
            "steelcare.acceptance.v1.AcceptanceService/ExportArchive",
            &format!("{{\"archive_number\":\"{archive}\"}}"),
        );
        let refused = String::from_utf8_lossy(&export.stderr);
        assert!(
            !export.status.success(),
            "{backend:?}: the export succeeded"
        );
        assert!(refused.contains("Code: DataLoss"), "{backend:?}: {refused}");
        assert!(refused.contains("missing"), "{backend:?}: {refused}");
    }
}
