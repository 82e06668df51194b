//! The command line: `serve`, `migrate`, `rebuild-facts`, `bench`, `call`, `token`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sea_orm_migration::MigratorTrait;
use steelcare_domain::Role;
use steelcare_runtime::{Authenticator, Settings};

use crate::services::ServiceSelection;
use crate::startup::{Application, connect_database};

/// SteelCare: after-sales service for steel-structure contractors.
#[derive(Debug, Parser)]
#[command(name = "steelcare", version)]
pub struct Cli {
    /// TOML configuration file (between the defaults and STEELCARE__* variables).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API.
    Serve {
        /// `all`, or a comma-separated list of intake, dispatch, repair, acceptance, feedback.
        #[arg(long, default_value = "all", value_parser = parse_selection)]
        service: ServiceSelection,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Rebuild the analytics projection (`case_facts`) of every case from the records of
    /// every service, and exit (after a restore, or a change of how facts are derived).
    RebuildFacts,
    /// Load generators that print throughput and latency.
    Bench {
        /// What to load.
        #[command(subcommand)]
        what: BenchTarget,
    },
    /// One gRPC call, JSON in and out (as grpcurl): what the README's walk uses.
    Call {
        /// The server, host:port.
        #[arg(long, default_value = "127.0.0.1:50051")]
        addr: String,
        /// Bearer token (else STEELCARE_TOKEN).
        #[arg(long, env = "STEELCARE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// package.Service/Method, e.g. steelcare.intake.v1.IntakeService/GetTicket.
        method: String,
        /// The request as JSON (default {}).
        #[arg(default_value = "{}")]
        data: String,
    },
    /// Print a JWT signed with the configured secret (local use and tests).
    Token {
        /// Role(s) of the token; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Customer organisation id (required with the customer role).
        #[arg(long)]
        org: Option<String>,
        /// Subject (user id).
        #[arg(long, default_value = "local-user")]
        sub: String,
        /// Lifetime, e.g. 30m, 8h, 7d.
        #[arg(long, default_value = "8h", value_parser = parse_ttl)]
        ttl: Duration,
    },
}

/// What `steelcare bench` loads.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// CreateTicket over gRPC at several concurrency levels.
    Intake {
        /// Concurrency levels, comma-separated.
        #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
        clients: Vec<usize>,
        /// How long each level runs, e.g. 10s.
        #[arg(long, default_value = "10s", value_parser = parse_ttl)]
        duration: Duration,
        /// A running server (http://host:port); default: one in this process on the
        /// configured database.
        #[arg(long)]
        target: Option<String>,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
        /// The services the in-process server runs: `intake` is the intake Deployment (the
        /// other services' consumers run elsewhere); `all` is the single process.
        #[arg(long, default_value = "all", value_parser = parse_selection)]
        service: ServiceSelection,
    },
    /// The dispatch queue: matching, backlog drain, ticket → offer latency at a steady rate.
    Dispatch {
        /// Technicians registered before the run.
        #[arg(long, default_value_t = 1000)]
        technicians: usize,
        /// Tickets queued while the workers are off, then drained.
        #[arg(long, default_value_t = 1000)]
        backlog: usize,
        /// Tickets per second in the steady phase.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// How long the steady phase runs, e.g. 10s.
        #[arg(long, default_value = "10s", value_parser = parse_ttl)]
        duration: Duration,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
    },
    /// SubmitSurveyReport over gRPC, each report with many measurements judged and stored.
    Survey {
        /// Reports submitted (each on its own case, prepared first).
        #[arg(long, default_value_t = 200)]
        reports: usize,
        /// Measurements per report.
        #[arg(long, default_value_t = 200)]
        measurements: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
    },
    /// ArchiveCase, VerifyArchive and ExportArchive of a case with many documents and
    /// megabytes of attachments.
    Archive {
        /// Documents per archive.
        #[arg(long, default_value_t = 50)]
        documents: usize,
        /// Megabytes of attachments per archive.
        #[arg(long, default_value_t = 20)]
        megabytes: usize,
        /// Rounds (one case each; the figures are the median's).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
    },
    /// The analytics over a generated million cases: every report over gRPC against the
    /// equivalent hand-written SQL GROUP BY on the same database.
    Analytics {
        /// Cases generated into the analytics projection (kept for the next run).
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// Timed rounds of each report (the figures are the medians).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
    },
    /// Judging measurements against the tolerance table (the repair rules), in memory.
    Judge {
        /// Measurements judged per round.
        #[arg(long, default_value_t = 10_000)]
        measurements: usize,
        /// Rounds (the figures are the median round's).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

fn parse_selection(s: &str) -> Result<ServiceSelection, String> {
    s.parse()
        .map_err(|err: crate::services::SelectionError| err.to_string())
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|err: steelcare_domain::UnknownRole| err.to_string())
}

/// Parses `90s`, `30m`, `8h`, `7d`.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 8h or 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    if secs == 0 {
        return Err("ttl must be positive".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

/// Runs a parsed command. Errors are one line each.
pub async fn run(cli: Cli, settings: Settings) -> Result<(), String> {
    match cli.command {
        Command::Serve { service } => {
            let app = Application::build(settings, service)
                .await
                .map_err(|err| err.to_string())?;
            app.run_until_stopped(steelcare_runtime::server::shutdown_signal())
                .await
                .map_err(|err| err.to_string())
        }
        Command::Bench {
            what:
                BenchTarget::Intake {
                    clients,
                    duration,
                    target,
                    label,
                    service,
                },
        } => {
            if clients.is_empty() || clients.contains(&0) {
                return Err("--clients needs positive numbers".to_owned());
            }
            crate::bench::intake(
                settings,
                crate::bench::BenchOptions {
                    clients,
                    duration,
                    target,
                    label,
                    service,
                },
            )
            .await
            .map(|_| ())
        }
        Command::Bench {
            what:
                BenchTarget::Dispatch {
                    technicians,
                    backlog,
                    rate,
                    duration,
                    label,
                },
        } => {
            if technicians == 0 || backlog == 0 || rate == 0 {
                return Err("--technicians, --backlog and --rate must be positive".to_owned());
            }
            crate::bench_dispatch::dispatch(
                settings,
                crate::bench_dispatch::DispatchBenchOptions {
                    technicians,
                    backlog,
                    rate,
                    duration,
                    label,
                },
            )
            .await
        }
        Command::Bench {
            what:
                BenchTarget::Judge {
                    measurements,
                    rounds,
                },
        } => {
            if measurements == 0 || rounds == 0 {
                return Err("--measurements and --rounds must be positive".to_owned());
            }
            crate::bench::judge(measurements, rounds);
            Ok(())
        }
        Command::Bench {
            what:
                BenchTarget::Survey {
                    reports,
                    measurements,
                    clients,
                    label,
                },
        } => {
            if reports == 0 || measurements == 0 || clients == 0 {
                return Err("--reports, --measurements and --clients must be positive".to_owned());
            }
            crate::bench_repair::survey(
                settings,
                crate::bench_repair::SurveyBenchOptions {
                    reports,
                    measurements,
                    clients,
                    label,
                },
            )
            .await
        }
        Command::Bench {
            what:
                BenchTarget::Archive {
                    documents,
                    megabytes,
                    rounds,
                    label,
                },
        } => {
            if documents < 10 || rounds == 0 {
                return Err("--documents must be at least 10 and --rounds positive".to_owned());
            }
            crate::bench_archive::archive(
                settings,
                crate::bench_archive::ArchiveBenchOptions {
                    documents,
                    megabytes,
                    rounds,
                    label,
                },
            )
            .await
        }
        Command::Bench {
            what:
                BenchTarget::Analytics {
                    cases,
                    rounds,
                    label,
                },
        } => {
            if cases == 0 || rounds == 0 {
                return Err("--cases and --rounds must be positive".to_owned());
            }
            crate::bench_analytics::analytics(
                settings,
                crate::bench_analytics::AnalyticsBenchOptions {
                    cases,
                    rounds,
                    label,
                },
            )
            .await
        }
        Command::RebuildFacts => {
            let db = connect_database(&settings, false)
                .await
                .map_err(|err| err.to_string())?;
            let started = std::time::Instant::now();
            let rebuilt = steelcare_feedback::worker::rebuild_all(&db, settings.intake.timezone)
                .await
                .map_err(|err| format!("cannot rebuild the facts: {err}"))?;
            println!(
                "rebuilt the facts of {rebuilt} cases in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Migrate => {
            let db = connect_database(&settings, false)
                .await
                .map_err(|err| err.to_string())?;
            let applied = steelcare_store::migrate(&db)
                .await
                .map_err(|err| format!("cannot apply migrations: {err}"))?;
            println!(
                "{applied} migrations applied ({} in this build)",
                steelcare_store::Migrator::migrations().len()
            );
            Ok(())
        }
        Command::Call {
            addr,
            token,
            method,
            data,
        } => {
            crate::call::call(crate::call::CallOptions {
                addr,
                token,
                method,
                data,
            })
            .await
        }
        Command::Token {
            roles,
            org,
            sub,
            ttl,
        } => {
            let (auth, _) = Authenticator::from_settings(
                &settings.auth,
                settings.is_embedded(),
                &settings.data_dir,
            )
            .map_err(|err| err.to_string())?;
            let token = auth
                .issue(&sub, &roles, org.as_deref(), ttl)
                .map_err(|err| err.to_string())?;
            println!("{token}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("soon").is_err());
        assert!(parse_ttl("5w").is_err());
    }
}
