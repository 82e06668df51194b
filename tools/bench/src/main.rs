//! `steelcare-bench`: the load generators, apart from the product binary. Each prints its
//! figures (throughput, latency percentiles, memory) for the `deploy/bench` scripts, which
//! quote them as a ratio to the machine's ceiling measured in the same run.

mod analytics;
mod archive;
mod dispatch;
mod experience;
mod intake;
mod notify;
mod onboarding;
mod scaling;
mod survey;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use steelcare::ServiceName;
use steelcare::ServiceSelection;
use steelcare::cli::parse_ttl;
use steelcare_runtime::Settings;

/// mimalloc, as the product binary: the figures are of the allocator it runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SteelCare's load generators.
#[derive(Debug, Parser)]
#[command(name = "steelcare-bench", version)]
struct Cli {
    /// TOML configuration files, comma-separated (between the defaults and STEELCARE__*
    /// variables).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "STEELCARE_CONFIG",
        value_delimiter = ','
    )]
    config: Vec<PathBuf>,
    /// What to load.
    #[command(subcommand)]
    target: Target,
}

/// What to load.
#[derive(Debug, Subcommand)]
enum Target {
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
        /// The services the in-process server runs: `all` is the single process; `intake,dispatch`
        /// is the path a ticket takes to its offer with the other services' consumers elsewhere.
        #[arg(long, default_value = "all", value_parser = parse_selection)]
        service: ServiceSelection,
    },
    /// The dispatch queue's drain with more workers and more dispatch replicas (PostgreSQL
    /// and Redis).
    DispatchScaling {
        /// Technicians registered before the run (capacity 20 each).
        #[arg(long, default_value_t = 1000)]
        technicians: usize,
        /// Jobs drained per shape and round (five shapes, two rounds).
        #[arg(long, default_value_t = 1000)]
        backlog: usize,
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
    /// The experience base over generated cases: index build time and size, search latency
    /// and first-hit quality against hand-written SQL on the same database, and the delay
    /// from a new call's commit to its being searchable.
    Experience {
        /// Cases generated (kept for the next run).
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// Questions asked of the index and of the database.
        #[arg(long, default_value_t = 240)]
        queries: usize,
        /// New calls timed from their commit to their being searchable.
        #[arg(long, default_value_t = 50)]
        fresh: usize,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
    },
    /// Onboarding spreadsheets of customers, projects and technicians: preview, import,
    /// re-import and export, in rows per second.
    Onboarding {
        /// Rows of each sheet.
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
        /// Label printed with the figures.
        #[arg(long, default_value = "configured")]
        label: String,
    },
    /// Notifications against local receivers: deliveries per second per channel in a burst,
    /// and the delay from an event's commit to its delivery at a steady rate.
    Notify {
        /// Tickets of the burst (16 clients).
        #[arg(long, default_value_t = 2_000)]
        tickets: usize,
        /// Tickets of the paced run.
        #[arg(long, default_value_t = 500)]
        paced: usize,
        /// Tickets per second of the paced run.
        #[arg(long, default_value_t = 50)]
        rate: u32,
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
        .map_err(|err: steelcare::services::SelectionError| err.to_string())
}

/// Runs one load generator. Errors are one line each.
async fn run(target: Target, settings: Settings) -> Result<(), String> {
    match target {
        Target::Intake {
            clients,
            duration,
            target,
            label,
            service,
        } => {
            if clients.is_empty() || clients.contains(&0) {
                return Err("--clients needs positive numbers".to_owned());
            }
            crate::intake::intake(
                settings,
                crate::intake::BenchOptions {
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
        Target::Dispatch {
            technicians,
            backlog,
            rate,
            duration,
            label,
            service,
        } => {
            if technicians == 0 || backlog == 0 || rate == 0 {
                return Err("--technicians, --backlog and --rate must be positive".to_owned());
            }
            if !service.contains(ServiceName::Intake) || !service.contains(ServiceName::Dispatch) {
                return Err("--service must include intake and dispatch".to_owned());
            }
            crate::dispatch::dispatch(
                settings,
                crate::dispatch::DispatchBenchOptions {
                    technicians,
                    backlog,
                    rate,
                    duration,
                    label,
                    services: service,
                },
            )
            .await
        }
        Target::DispatchScaling {
            technicians,
            backlog,
            label,
        } => {
            if technicians == 0 || backlog == 0 {
                return Err("--technicians and --backlog must be positive".to_owned());
            }
            crate::scaling::scaling(
                settings,
                crate::scaling::ScalingOptions {
                    technicians,
                    backlog,
                    label,
                },
            )
            .await
        }
        Target::Judge {
            measurements,
            rounds,
        } => {
            if measurements == 0 || rounds == 0 {
                return Err("--measurements and --rounds must be positive".to_owned());
            }
            crate::intake::judge(measurements, rounds);
            Ok(())
        }
        Target::Survey {
            reports,
            measurements,
            clients,
            label,
        } => {
            if reports == 0 || measurements == 0 || clients == 0 {
                return Err("--reports, --measurements and --clients must be positive".to_owned());
            }
            crate::survey::survey(
                settings,
                crate::survey::SurveyBenchOptions {
                    reports,
                    measurements,
                    clients,
                    label,
                },
            )
            .await
        }
        Target::Archive {
            documents,
            megabytes,
            rounds,
            label,
        } => {
            if documents < 10 || rounds == 0 {
                return Err("--documents must be at least 10 and --rounds positive".to_owned());
            }
            crate::archive::archive(
                settings,
                crate::archive::ArchiveBenchOptions {
                    documents,
                    megabytes,
                    rounds,
                    label,
                },
            )
            .await
        }
        Target::Onboarding { rows, label } => {
            if rows == 0 {
                return Err("--rows must be positive".to_owned());
            }
            crate::onboarding::onboarding(
                settings,
                crate::onboarding::OnboardingBenchOptions { rows, label },
            )
            .await
        }
        Target::Notify {
            tickets,
            paced,
            rate,
            label,
        } => {
            if tickets == 0 || paced == 0 || rate == 0 {
                return Err("--tickets, --paced and --rate must be positive".to_owned());
            }
            crate::notify::notify(
                settings,
                crate::notify::NotifyBenchOptions {
                    tickets,
                    paced,
                    rate,
                    label,
                },
            )
            .await
        }
        Target::Analytics {
            cases,
            rounds,
            label,
        } => {
            if cases == 0 || rounds == 0 {
                return Err("--cases and --rounds must be positive".to_owned());
            }
            crate::analytics::analytics(
                settings,
                crate::analytics::AnalyticsBenchOptions {
                    cases,
                    rounds,
                    label,
                },
            )
            .await
        }
        Target::Experience {
            cases,
            queries,
            fresh,
            label,
        } => {
            if cases == 0 || queries == 0 {
                return Err("--cases and --queries must be positive".to_owned());
            }
            crate::experience::experience(
                settings,
                crate::experience::ExperienceBenchOptions {
                    cases,
                    queries,
                    fresh,
                    label,
                },
            )
            .await
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.config) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("steelcare-bench: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let telemetry = match steelcare_runtime::telemetry::init(&settings.telemetry) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("steelcare-bench: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let outcome = run(cli.target, settings).await;
    telemetry.shutdown();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("steelcare-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
