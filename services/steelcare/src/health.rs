//! What `grpc.health.v1` says: a service is SERVING only while the database answers, its
//! schema has every migration this build needs, and none of the service's supervised tasks
//! (nor the process-wide ones, such as the outbox relay) is down. The overall status (`""`)
//! is SERVING only when every mounted service is. Checked every second and whenever a task
//! goes down or comes back.

use std::time::Duration;

use steelcare_runtime::supervise::Supervisor;
use steelcare_store::{Database, SchemaStatus};
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// How often the database and schema are looked at.
const INTERVAL: Duration = Duration::from_secs(1);
/// A database that does not answer a ping within this is down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the process cannot serve, if it cannot.
pub async fn database_problem(db: &Database) -> Option<String> {
    match tokio::time::timeout(PING_TIMEOUT, db.ping()).await {
        Err(_) => return Some("database does not answer".to_owned()),
        Ok(Err(err)) => return Some(format!("database unreachable: {err}")),
        Ok(Ok(())) => {}
    }
    match tokio::time::timeout(PING_TIMEOUT, steelcare_store::schema_status(db)).await {
        Err(_) => Some("database does not answer".to_owned()),
        Ok(Err(err)) => Some(format!("cannot read the schema version: {err}")),
        Ok(Ok(SchemaStatus::Behind(missing))) => Some(format!(
            "schema is missing migrations {} (run `steelcare migrate`)",
            missing.join(", ")
        )),
        Ok(Ok(SchemaStatus::Current)) => None,
    }
}

/// Keeps the health reporter true to the database and the tasks.
pub struct HealthMonitor {
    /// The reporter of the health service.
    pub reporter: HealthReporter,
    /// The database.
    pub db: Database,
    /// The tasks.
    pub supervisor: Supervisor,
    /// Fully-qualified gRPC names of the mounted services.
    pub services: Vec<&'static str>,
    /// Turns true when shutdown begins: from then on nothing serves.
    pub draining: watch::Receiver<bool>,
}

impl HealthMonitor {
    /// Looks once and sets every status; returns whether everything serves.
    pub async fn check(&self, last: &mut Option<String>) -> bool {
        if *self.draining.borrow() {
            // Shutting down: nothing serves, and that is no fault to report.
            for service in self.services.iter().copied().chain([""]) {
                self.reporter
                    .set_service_status(service, ServingStatus::NotServing)
                    .await;
            }
            return false;
        }
        let problem = database_problem(&self.db).await;
        let mut all_serving = problem.is_none();
        let mut report = Vec::new();
        for service in &self.services {
            let down = self.supervisor.down(service);
            let serving = problem.is_none() && down.is_empty();
            all_serving &= serving;
            if !down.is_empty() {
                report.push(format!("{service}: tasks down: {}", down.join(", ")));
            }
            let status = if serving {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            self.reporter.set_service_status(*service, status).await;
        }
        let overall = if all_serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status("", overall).await;
        if let Some(problem) = problem {
            report.insert(0, problem);
        }
        let summary = (!report.is_empty()).then(|| report.join("; "));
        if summary != *last {
            match &summary {
                Some(why) => tracing::error!(reason = %why, "health: NOT_SERVING"),
                None => tracing::info!("health: SERVING"),
            }
            *last = summary;
        }
        all_serving
    }

    /// Checks every second and on every task change until shutdown.
    pub async fn run(self: std::sync::Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let changed = self.supervisor.changed();
        let mut draining = self.draining.clone();
        let mut last = None;
        while !*shutdown.borrow() {
            self.check(&mut last).await;
            tokio::select! {
                _ = tokio::time::sleep(INTERVAL) => {}
                _ = changed.notified() => {}
                _ = shutdown.changed() => {}
                _ = draining.changed() => {}
            }
        }
    }
}
