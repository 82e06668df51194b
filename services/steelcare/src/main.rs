//! `steelcare`: parses the command line, loads settings, starts telemetry, and calls the
//! library. Every failure is one line on stderr and a non-zero exit.

use clap::Parser;

/// mimalloc: every request allocates (HTTP/2 frames, protobuf, SQL); glibc's allocator spent
/// about a sixth of the intake benchmark's CPU, much of it consolidating free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use steelcare::cli::{Cli, Command, run};
use steelcare_runtime::Settings;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                err.exit();
            }
            // One line naming the problem; `--help` has the rest.
            let rendered = err.to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("steelcare: invalid arguments")
            );
            return std::process::ExitCode::from(2);
        }
    };
    let settings = match Settings::load(&cli.config) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("steelcare: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    // Times a person reads are written in the deployment's zone.
    steelcare_i18n::set_time_zone(settings.intake.timezone);
    let telemetry = if matches!(cli.command, Command::Token { .. } | Command::Call { .. }) {
        None
    } else {
        match steelcare_runtime::telemetry::init(&settings.telemetry) {
            Ok(guard) => Some(guard),
            Err(err) => {
                eprintln!("steelcare: {err}");
                return std::process::ExitCode::from(2);
            }
        }
    };
    let outcome = run(cli, settings).await;
    if let Some(guard) = telemetry {
        guard.shutdown();
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("steelcare: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
