//! `steelcare bench analytics`: generates `--cases` cases of two years with realistic spreads
//! into the analytics projection (`case_facts`, its parties and staff) of the configured
//! database, then times every report over gRPC (an in-process server) against the equivalent
//! hand-written SQL `GROUP BY` on the same database, interleaved, `--rounds` times each, and
//! prints the medians and their ratio.
//!
//! The spreads: leaks and coating damage lead, in the rainy months more; each category has
//! the places on a structure it happens at; a few hundred customers with a long tail of
//! projects, mostly portal frames; tiers mostly P3/P4; most cases repaired and accepted in
//! the first round, some reworked, a few recurring; one survey for most closed cases; SLA
//! clocks mostly met. Generated rows carry ids `bench-…`, so a second run reuses them.

use std::time::{Duration, Instant};

use chrono::{Datelike, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, Statement};
use steelcare_domain::Role;
use steelcare_feedback::analytics::statement;
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use steelcare_runtime::Settings;
use steelcare_runtime::convert::to_timestamp;
use steelcare_store::entity::{case_fact_parties, case_fact_staff, case_facts};

use crate::dispatch::start;
use crate::intake::{authed, bench_token};

/// What to run.
#[derive(Debug, Clone)]
pub struct AnalyticsBenchOptions {
    /// Cases generated (kept across runs).
    pub cases: usize,
    /// Timed rounds of each report (the medians are printed).
    pub rounds: usize,
    /// Label printed with the figures.
    pub label: String,
}

/// A small deterministic generator (SplitMix64): the same cases on every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One of `items` by weight.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(u64::from(total)) as u32;
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[items.len() - 1].0
    }

    /// A skewed index in 0..n (small indexes far more often: big customers, busy projects).
    pub(crate) fn skewed(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((u * u * u) * n as f64) as u64
    }
}

const CATEGORIES: &[(&str, u32)] = &[
    ("leakage", 30),
    ("coating_damage", 20),
    ("connection_loosening", 12),
    ("usage_consultation", 11),
    ("hardware_damage", 10),
    ("member_deformation", 8),
    ("other", 6),
    ("structural_safety", 3),
];

fn locations(category: &str) -> &'static [(&'static str, u32)] {
    match category {
        "leakage" => &[
            ("roof", 45),
            ("gutter", 35),
            ("wall_cladding", 12),
            ("doors_windows", 8),
        ],
        "coating_damage" => &[
            ("column", 25),
            ("beam", 25),
            ("purlin", 20),
            ("column_base", 15),
            ("crane_beam", 15),
        ],
        "connection_loosening" => &[
            ("beam_column_joint", 45),
            ("bracing", 30),
            ("purlin", 15),
            ("column_base", 10),
        ],
        "member_deformation" => &[
            ("purlin", 35),
            ("beam", 25),
            ("bracing", 20),
            ("crane_beam", 20),
        ],
        "hardware_damage" => &[("doors_windows", 60), ("gutter", 20), ("wall_cladding", 20)],
        "structural_safety" => &[
            ("column_base", 30),
            ("beam_column_joint", 30),
            ("foundation", 25),
            ("column", 15),
        ],
        _ => &[("other", 60), ("roof", 20), ("floor_deck", 20)],
    }
}

fn root_causes(category: &str) -> &'static [(&'static str, u32)] {
    match category {
        "leakage" => &[
            ("workmanship", 45),
            ("material", 20),
            ("design", 15),
            ("environment", 15),
            ("improper_use", 5),
        ],
        "coating_damage" => &[
            ("environment", 40),
            ("material", 30),
            ("workmanship", 25),
            ("improper_use", 5),
        ],
        "connection_loosening" => &[
            ("installation_accuracy", 50),
            ("workmanship", 40),
            ("environment", 10),
        ],
        "member_deformation" => &[
            ("improper_use", 35),
            ("design", 30),
            ("installation_accuracy", 20),
            ("material", 15),
        ],
        "structural_safety" => &[("design", 50), ("improper_use", 25), ("environment", 25)],
        _ => &[
            ("improper_use", 50),
            ("workmanship", 30),
            ("environment", 20),
        ],
    }
}

fn party_of(cause: &str) -> &'static str {
    match cause {
        "design" => "designer",
        "material" => "material_supplier",
        "improper_use" => "customer_use",
        "environment" => "force_majeure",
        _ => "contractor",
    }
}

const STRUCTURES: &[(&str, u32)] = &[
    ("portal_frame", 60),
    ("multi_storey_frame", 25),
    ("space_truss", 8),
    ("other", 5),
    ("bridge", 2),
];
const TIERS: &[(&str, u32)] = &[("p1", 3), ("p2", 17), ("p3", 50), ("p4", 30)];
const CUSTOMERS: u64 = 800;
const PROJECTS: u64 = 4000;
const TECHNICIANS: u64 = 300;
const AGENTS: u64 = 40;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Rows per INSERT (SQLite allows 32,766 bound values; a fact has 35 columns).
const BATCH: usize = 500;

fn month_key(ms: i64, zone: Tz) -> String {
    let at = Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&zone);
    steelcare_domain::feedback::month_key(at.date_naive())
}

/// One generated case: its facts, its parties, whom it counts for.
fn case(
    rng: &mut Rng,
    n: usize,
    (start_ms, now_ms): (i64, i64),
    zone: Tz,
) -> (
    case_facts::ActiveModel,
    Vec<case_fact_parties::ActiveModel>,
    Vec<case_fact_staff::ActiveModel>,
) {
    let id = format!("bench-{n:08}");
    // Creation over two years, rainy months (June to August) half again as busy.
    let created = loop {
        let at = start_ms + rng.below((now_ms - start_ms) as u64) as i64;
        let month = Utc
            .timestamp_millis_opt(at)
            .single()
            .map_or(1, |t| t.month());
        if (6..=8).contains(&month) || rng.unit() < 0.67 {
            break at;
        }
    };
    let project = rng.skewed(PROJECTS);
    let customer = project % CUSTOMERS;
    let structure = *Rng(project).pick(STRUCTURES);
    let category = *rng.pick(CATEGORIES);
    let location = *rng.pick(locations(category));
    let tier = *rng.pick(TIERS);
    let age = now_ms - created;
    let open = age < 14 * DAY && rng.unit() < (1.0 - age as f64 / (14 * DAY) as f64);
    let consultation = category == "usage_consultation";
    let cause = if open || consultation {
        "undetermined"
    } else {
        *rng.pick(root_causes(category))
    };
    let repaired = !open && !consultation && rng.unit() < 0.9;
    let resolve_hours = if open {
        None
    } else if consultation {
        Some(1.0 + rng.unit() * 24.0)
    } else {
        Some(24.0 + rng.unit() * rng.unit() * 600.0)
    };
    let resolved = resolve_hours.map(|h| created + (h * HOUR as f64) as i64);
    let accepted = resolved.filter(|_| repaired).filter(|t| *t < now_ms);
    let closed = resolved
        .map(|t| t + if repaired { 185 * DAY } else { 2 * DAY })
        .filter(|t| *t < now_ms);
    let rounds = if accepted.is_some() {
        *rng.pick(&[(1, 85), (2, 12), (3, 3)])
    } else {
        0
    };
    let recurred = i32::from(repaired && rng.unit() < 0.04);
    let surveyed = closed.is_some() && rng.unit() < 0.6;
    let mut score = || if surveyed { 3 + rng.below(3) as i32 } else { 0 };
    let sat = [score(), score(), score(), score(), score(), score()];
    let disputed = repaired && rng.unit() < 0.02;
    let mut clock = |present: bool, met: f64| -> i16 {
        if !present {
            0
        } else if open && rng.unit() < 0.5 {
            1
        } else if rng.unit() < met {
            2
        } else {
            3
        }
    };
    let clocks = [
        clock(true, 0.96),
        clock(!consultation, 0.9),
        clock(repaired, 0.85),
        clock(repaired, 0.8),
        clock(disputed, 0.7),
    ];
    let met = clocks.iter().filter(|c| **c == 2).count() as i32;
    let breached = clocks.iter().filter(|c| **c == 3).count() as i32;
    let fact = case_facts::ActiveModel {
        ticket_id: Set(id.clone()),
        customer_id: Set(format!("bench-customer-{customer:04}")),
        project_id: Set(format!("bench-project-{project:05}")),
        structure_type: Set(structure.to_owned()),
        category: Set(category.to_owned()),
        location: Set(location.to_owned()),
        root_cause: Set(cause.to_owned()),
        root_cause_inherited: Set(0),
        tier: Set(tier.to_owned()),
        state: Set(if closed.is_some() {
            "CLOSED"
        } else if open {
            "IN_REPAIR"
        } else {
            "ARCHIVED"
        }
        .to_owned()),
        related_case_id: Set(None),
        created_at_ms: Set(created),
        accepted_at_ms: Set(accepted),
        closed_at_ms: Set(closed),
        created_month: Set(month_key(created, zone)),
        accepted_month: Set(accepted.map(|t| month_key(t, zone))),
        closed_month: Set(closed.map(|t| month_key(t, zone))),
        acceptance_rounds: Set(rounds),
        recurred: Set(recurred),
        recurrences_at_visits: Set(0),
        resolve_hours: Set(resolve_hours),
        completeness: Set(closed.map(|_| if rng.unit() < 0.9 { 1.0 } else { 0.8 })),
        sat_surveys: Set(i32::from(surveyed)),
        sat_response_speed: Set(sat[0]),
        sat_competence: Set(sat[1]),
        sat_attitude: Set(sat[2]),
        sat_fix_effect: Set(sat[3]),
        sat_overall: Set(sat[4]),
        sat_overall_n: Set(i32::from(surveyed)),
        sat_communication: Set(sat[5]),
        sat_communication_n: Set(i32::from(surveyed)),
        clock_response: Set(clocks[0]),
        clock_arrival: Set(clocks[1]),
        clock_solution: Set(clocks[2]),
        clock_completion: Set(clocks[3]),
        clock_appraisal: Set(clocks[4]),
        clocks_met: Set(met),
        clocks_breached: Set(breached),
        updated_at: Set(Utc::now()),
    };
    let party = |party: &str, share: f64| case_fact_parties::ActiveModel {
        ticket_id: Set(id.clone()),
        party: Set(party.to_owned()),
        share: Set(share),
    };
    let parties = match party_of(cause) {
        _ if cause == "undetermined" => vec![party("undetermined", 1.0)],
        "contractor" => vec![party("contractor", 1.0)],
        other if rng.unit() < 0.15 => vec![party(other, 0.6), party("contractor", 0.4)],
        other => vec![party(other, 1.0)],
    };
    let staff = |kind: &str, subject: String| case_fact_staff::ActiveModel {
        kind: Set(kind.to_owned()),
        subject: Set(subject),
        ticket_id: Set(id.clone()),
    };
    let mut counted = vec![staff(
        "agent",
        format!("bench-agent-{:02}", rng.below(AGENTS)),
    )];
    if !consultation {
        let technician = rng.skewed(TECHNICIANS);
        counted.push(staff("technician", format!("bench-tech-{technician:03}")));
        counted.push(staff("team", format!("bench-team-{:02}", technician / 10)));
    }
    (fact, parties, counted)
}

async fn generate(db: &steelcare_store::Database, cases: usize, zone: Tz) -> Result<usize, String> {
    let have = case_facts::Entity::find()
        .filter(sea_orm::ColumnTrait::like(
            &case_facts::Column::TicketId,
            "bench-%",
        ))
        .count(db)
        .await
        .map_err(|err| err.to_string())? as usize;
    if have >= cases {
        return Ok(0);
    }
    let now_ms = Utc::now().timestamp_millis();
    let start_ms = now_ms - 730 * DAY;
    let mut rng = Rng(0x5EE1_CA2E);
    // Skip what an earlier run generated (the same sequence each time).
    for n in 0..have {
        let _ = case(&mut rng, n, (start_ms, now_ms), zone);
    }
    let mut n = have;
    let begun = Instant::now();
    while n < cases {
        let end = (n + BATCH).min(cases);
        let (mut facts, mut parties, mut staff) = (Vec::new(), Vec::new(), Vec::new());
        for i in n..end {
            let (f, p, s) = case(&mut rng, i, (start_ms, now_ms), zone);
            facts.push(f);
            parties.extend(p);
            staff.extend(s);
        }
        let tx = sea_orm::TransactionTrait::begin(db)
            .await
            .map_err(|err| err.to_string())?;
        case_facts::Entity::insert_many(facts)
            .exec_without_returning(&tx)
            .await
            .map_err(|err| format!("insert facts: {err}"))?;
        for chunk in parties.chunks(BATCH * 2) {
            case_fact_parties::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&tx)
                .await
                .map_err(|err| format!("insert parties: {err}"))?;
        }
        for chunk in staff.chunks(BATCH * 3) {
            case_fact_staff::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&tx)
                .await
                .map_err(|err| format!("insert staff: {err}"))?;
        }
        tx.commit().await.map_err(|err| err.to_string())?;
        n = end;
        if n.is_multiple_of(100_000) {
            eprintln!(
                "  generated {n} cases ({:.0} s)",
                begun.elapsed().as_secs_f64()
            );
        }
    }
    // Fresh statistics for the planner, as a production database would have.
    let analyze = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        "ANALYZE case_facts; ANALYZE case_fact_parties; ANALYZE case_fact_staff"
    } else {
        "ANALYZE"
    };
    for sql in analyze.split("; ") {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .map_err(|err| err.to_string())?;
    }
    Ok(cases - have)
}

/// One report: how the API asks for it, and the SQL one would write by hand.
struct Report {
    name: &'static str,
    sql: &'static str,
    dimension: Option<pb::Dimension>,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Breakdown,
    Sla,
    Outcomes,
    Kpis,
}

const REPORTS: &[Report] = &[
    Report {
        name: "breakdown by category",
        sql: "SELECT category, COUNT(*) FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY category",
        dimension: Some(pb::Dimension::Category),
        kind: Kind::Breakdown,
    },
    Report {
        name: "breakdown by location",
        sql: "SELECT location, COUNT(*) FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY location",
        dimension: Some(pb::Dimension::Location),
        kind: Kind::Breakdown,
    },
    Report {
        name: "breakdown by root cause",
        sql: "SELECT root_cause, COUNT(*) FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY root_cause",
        dimension: Some(pb::Dimension::RootCause),
        kind: Kind::Breakdown,
    },
    Report {
        name: "breakdown by responsible party",
        sql: "SELECT p.party, SUM(p.share) FROM case_facts f JOIN case_fact_parties p ON p.ticket_id = f.ticket_id WHERE f.created_at_ms >= ? AND f.created_at_ms < ? GROUP BY p.party",
        dimension: Some(pb::Dimension::ResponsibleParty),
        kind: Kind::Breakdown,
    },
    Report {
        name: "breakdown by project",
        sql: "SELECT project_id, COUNT(*) FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY project_id",
        dimension: Some(pb::Dimension::Project),
        kind: Kind::Breakdown,
    },
    Report {
        name: "breakdown by structure type",
        sql: "SELECT structure_type, COUNT(*) FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY structure_type",
        dimension: Some(pb::Dimension::StructureType),
        kind: Kind::Breakdown,
    },
    Report {
        name: "breakdown by month",
        sql: "SELECT created_month, COUNT(*) FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY created_month",
        dimension: Some(pb::Dimension::Month),
        kind: Kind::Breakdown,
    },
    Report {
        name: "SLA compliance (5 clocks x tier)",
        sql: "SELECT tier, \
              SUM(CASE WHEN clock_response = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_response = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_response = 3 THEN 1 ELSE 0 END), \
              SUM(CASE WHEN clock_arrival = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_arrival = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_arrival = 3 THEN 1 ELSE 0 END), \
              SUM(CASE WHEN clock_solution = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_solution = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_solution = 3 THEN 1 ELSE 0 END), \
              SUM(CASE WHEN clock_completion = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_completion = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_completion = 3 THEN 1 ELSE 0 END), \
              SUM(CASE WHEN clock_appraisal = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_appraisal = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN clock_appraisal = 3 THEN 1 ELSE 0 END) \
              FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY tier",
        dimension: None,
        kind: Kind::Sla,
    },
    Report {
        name: "outcomes, monthly",
        sql: "SELECT created_month, COUNT(*), SUM(recurred), SUM(CASE WHEN acceptance_rounds > 1 THEN 1 ELSE 0 END), \
              SUM(CASE WHEN acceptance_rounds > 0 THEN 1 ELSE 0 END), AVG(resolve_hours), SUM(sat_surveys), \
              SUM(sat_response_speed), SUM(sat_competence), SUM(sat_attitude), SUM(sat_fix_effect), \
              SUM(sat_overall), SUM(sat_overall_n), SUM(sat_communication), SUM(sat_communication_n), \
              SUM(clocks_met), SUM(clocks_breached) \
              FROM case_facts WHERE created_at_ms >= ? AND created_at_ms < ? GROUP BY created_month",
        dimension: None,
        kind: Kind::Outcomes,
    },
    Report {
        name: "KPIs per technician",
        sql: "SELECT s.subject, COUNT(*), SUM(f.clocks_met), SUM(f.clocks_met + f.clocks_breached), \
              SUM(f.sat_response_speed + f.sat_competence + f.sat_attitude + f.sat_fix_effect + f.sat_communication), \
              SUM(4 * f.sat_surveys + f.sat_communication_n), SUM(CASE WHEN f.acceptance_rounds = 1 THEN 1 ELSE 0 END), \
              SUM(CASE WHEN f.acceptance_rounds > 0 THEN 1 ELSE 0 END), SUM(f.acceptance_rounds), AVG(f.completeness) \
              FROM case_fact_staff s JOIN case_facts f ON f.ticket_id = s.ticket_id \
              WHERE s.kind = 'technician' AND f.created_at_ms >= ? AND f.created_at_ms < ? GROUP BY s.subject",
        dimension: None,
        kind: Kind::Kpis,
    },
];

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Runs the benchmark and prints the figures.
pub async fn analytics(settings: Settings, options: AnalyticsBenchOptions) -> Result<(), String> {
    let (_, token) = bench_token(&settings, &[Role::Manager])?;
    let running = start(&settings, 0).await?;
    let db = running.db.clone();
    let begun = Instant::now();
    let added = generate(&db, options.cases, settings.intake.timezone).await?;
    if added > 0 {
        println!(
            "[{}] generated {added} cases in {:.1} s",
            options.label,
            begun.elapsed().as_secs_f64()
        );
    }
    let mut client =
        FeedbackServiceClient::new(running.channel().await?).max_decoding_message_size(64 << 20);
    let now = Utc::now();
    let (from, to) = (
        now - chrono::TimeDelta::days(731),
        now + chrono::TimeDelta::days(1),
    );
    let period = pb::Period {
        range: Some(common::TimeRange {
            start_time: Some(to_timestamp(from)),
            end_time: Some(to_timestamp(to)),
        }),
        basis: pb::PeriodBasis::Created as i32,
    };
    let backend = db.get_database_backend();
    println!(
        "[{}] {} cases; each report over the whole two years, median of {} rounds",
        options.label, options.cases, options.rounds
    );
    println!(
        "{:<34} {:>10} {:>12} {:>7} {:>6}",
        "report", "API (ms)", "by hand (ms)", "ratio", "rows"
    );
    let mut worst: f64 = 0.0;
    for report in REPORTS {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut rows = 0;
        // One warm-up of each, then interleaved rounds.
        for round in 0..=options.rounds {
            let t = Instant::now();
            let values = vec![from.timestamp_millis().into(), to.timestamp_millis().into()];
            let found = db
                .query_all_raw(statement(backend, report.sql, values))
                .await
                .map_err(|err| format!("{}: {err}", report.name))?;
            let by_hand = t.elapsed();
            rows = found.len();
            let t = Instant::now();
            let fail = |s: tonic::Status| format!("{}: {}", report.name, s.message());
            match report.kind {
                Kind::Breakdown => {
                    client
                        .problem_breakdown(authed(
                            pb::ProblemBreakdownRequest {
                                period: Some(period),
                                dimension: report.dimension.map_or(0, |d| d as i32),
                                filter: None,
                                top: 0,
                            },
                            &token,
                        )?)
                        .await
                        .map_err(fail)?;
                }
                Kind::Sla => {
                    client
                        .sla_compliance(authed(
                            pb::SlaComplianceRequest {
                                period: Some(period),
                                filter: None,
                            },
                            &token,
                        )?)
                        .await
                        .map_err(fail)?;
                }
                Kind::Outcomes => {
                    client
                        .case_outcomes(authed(
                            pb::CaseOutcomesRequest {
                                period: Some(period),
                                filter: None,
                                monthly: true,
                            },
                            &token,
                        )?)
                        .await
                        .map_err(fail)?;
                }
                Kind::Kpis => {
                    client
                        .staff_kpis(authed(
                            pb::StaffKpisRequest {
                                period: Some(period),
                                subject: pb::KpiSubject::Technician as i32,
                            },
                            &token,
                        )?)
                        .await
                        .map_err(fail)?;
                }
            }
            let api = t.elapsed();
            if round > 0 {
                ours.push(api);
                theirs.push(by_hand);
            }
        }
        let (ours, theirs) = (median(ours), median(theirs));
        let ratio = ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9);
        worst = worst.max(ratio);
        println!(
            "{:<34} {:>10.1} {:>12.1} {:>7.2} {:>6}",
            report.name,
            ours.as_secs_f64() * 1000.0,
            theirs.as_secs_f64() * 1000.0,
            ratio,
            rows
        );
    }
    println!("[{}] worst ratio {worst:.2}", options.label);
    running.stop().await;
    Ok(())
}
