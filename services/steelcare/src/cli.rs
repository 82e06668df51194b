//! The command line: `serve`, `migrate`, `rebuild-facts`, `call`, `token` (the load generators are `steelcare-bench`).

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
    /// TOML configuration files, comma-separated or repeated, a later one overriding an
    /// earlier one (between the defaults and STEELCARE__* variables); on Kubernetes the
    /// mounted Secrets: the shared one, then the Deployment's database role (STEELCARE_CONFIG).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "STEELCARE_CONFIG",
        value_delimiter = ','
    )]
    pub config: Vec<PathBuf>,
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
    /// Manage the directory of people from the server (the first administrator of a fresh
    /// install; the rest through PeopleService).
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserCommand,
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
        /// The person's language (zh-CN, en), used when a call asks for none.
        #[arg(long)]
        locale: Option<steelcare_i18n::Locale>,
    },
}

/// `steelcare user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a person who signs in with a password (applies the migrations first).
    Add {
        /// Login name (3 to 64 of a-z, 0-9, `.`, `_`, `-`, `@`).
        #[arg(long)]
        login: String,
        /// Name shown to others (default: the login).
        #[arg(long)]
        name: Option<String>,
        /// Role(s); repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Customer organisation id (required with the customer role).
        #[arg(long)]
        org: Option<String>,
        /// The dispatch technician this person is (required with the technician role).
        #[arg(long)]
        technician: Option<String>,
        /// Preferred language (zh-CN, en).
        #[arg(long)]
        locale: Option<steelcare_i18n::Locale>,
        /// Read the password from this file (its first line); without it a password is
        /// generated and printed once.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
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
        Command::User { action } => user(action, settings).await,
        Command::Token {
            roles,
            org,
            sub,
            ttl,
            locale,
        } => {
            let (auth, _) = Authenticator::from_settings(
                &settings.auth,
                settings.is_embedded(),
                &settings.data_dir,
            )
            .map_err(|err| err.to_string())?;
            let token = auth
                .issue_in(&sub, &roles, org.as_deref(), ttl, locale)
                .map_err(|err| err.to_string())?;
            println!("{token}");
            Ok(())
        }
    }
}

/// Runs `steelcare user …`.
async fn user(action: UserCommand, settings: Settings) -> Result<(), String> {
    let UserCommand::Add {
        login,
        name,
        roles,
        org,
        technician,
        locale,
        password_file,
    } = action;
    let (password, generated) = match password_file {
        Some(file) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|err| format!("{}: {err}", file.display()))?;
            (text.lines().next().unwrap_or_default().to_owned(), false)
        }
        None => (crate::identity::generated_password(), true),
    };
    let db = connect_database(&settings, false)
        .await
        .map_err(|err| err.to_string())?;
    steelcare_store::migrate(&db)
        .await
        .map_err(|err| format!("cannot apply migrations: {err}"))?;
    let person = steelcare_proto::identity::v1::Person {
        display_name: name.unwrap_or_else(|| login.clone()),
        login,
        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
        organization_id: org.unwrap_or_default(),
        technician_id: technician.unwrap_or_default(),
        language_code: locale.map(|l| l.tag().to_owned()).unwrap_or_default(),
        ..Default::default()
    };
    let added = crate::identity::add_from_command_line(db, person, password.clone()).await?;
    println!(
        "added {} ({}), id {}",
        added.login,
        added.roles.join(", "),
        added.person_id
    );
    if generated {
        println!("password (shown once, change it after signing in): {password}");
    }
    Ok(())
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
