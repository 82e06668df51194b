//! `steelcare-bench experience`: the experience base over `--cases` generated cases.
//!
//! 1. Generates the cases straight into the tables the index is built from (tickets, cases,
//!    projects, and for resolved cases a survey report, a plan and a work-log entry), twelve
//!    kinds of defect in Chinese and English, each said in several ways, over a few thousand
//!    projects of a few hundred customers and two years. Rows carry ids `xb-…`, so a second
//!    run on the same database reuses them.
//! 2. Starts the product (every service, one process) with an empty `feedback.search_dir`:
//!    the follower builds its copy from the database. The build time is from the start to the
//!    first answer of `SearchCases`; the index size is what the directory then holds.
//! 3. Asks `--queries` questions over gRPC, each a defect in words none of its cases use
//!    verbatim, and times them (p50, p99); it counts how often the first hit is of the
//!    asked defect's category.
//! 4. Asks the same questions of the database by hand, as one would without the index: every
//!    key word as a case-insensitive substring of the ticket's description (on PostgreSQL
//!    with a `pg_trgm` GIN index, built and timed here), newest first; and on PostgreSQL the
//!    English questions also as full-text search (`to_tsvector('english', …)`, GIN, ranked by
//!    `ts_rank`). Only the ticket's own words are searched there, where the index holds six
//!    texts per case.
//! 5. Takes `--fresh` new calls through `CreateTicket`, each with a word of its own, and
//!    times from the call's answer (its commit) to the first `SearchCases` that finds it.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use prost::Message;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement, TransactionTrait,
};
use steelcare_domain::Role;
use steelcare_feedback::analytics::statement;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_proto::repair::v1 as repair;
use steelcare_runtime::Settings;
use steelcare_store::case_records::kind;
use steelcare_store::entity::{case_records, cases, customers, projects, tickets};
use tonic::transport::Channel;

use crate::analytics::Rng;
use crate::dispatch::start;
use crate::intake::{authed, bench_token, percentile, prepare};

/// What to run.
#[derive(Debug, Clone)]
pub struct ExperienceBenchOptions {
    /// Cases generated (kept across runs).
    pub cases: usize,
    /// Questions asked of the index and of the database.
    pub queries: usize,
    /// New calls timed from commit to searchable.
    pub fresh: usize,
    /// Label printed with the figures.
    pub label: String,
}

/// A kind of defect: how customers say it, where, what the survey found and what fixed it;
/// and how the bench asks for it (other words) with the key words a hand query looks for.
struct Defect {
    category: &'static str,
    said: &'static [&'static str],
    places: &'static [&'static str],
    found: &'static str,
    cause: &'static str,
    fix: &'static str,
    asked: &'static str,
    keys: &'static [&'static str],
}

const DEFECTS: &[Defect] = &[
    Defect {
        category: "leakage",
        said: &[
            "天沟接缝处漏水，雨天滴水",
            "屋面天沟渗水到库内",
            "天沟漏雨，地面积水",
        ],
        places: &["北侧天沟", "屋面天沟", "东侧天沟落水口"],
        found: "天沟焊缝开裂，密封胶老化失效",
        cause: "天沟对接焊缝未满焊，热胀冷缩后开裂",
        fix: "清理后补焊天沟接缝，重新打密封胶",
        asked: "天沟 渗漏",
        keys: &["天沟", "漏"],
    },
    Defect {
        category: "coating_damage",
        said: &["钢柱涂层起皮脱落", "防腐涂层大面积剥落", "油漆脱落露出钢材"],
        places: &["钢柱根部", "吊车梁下翼缘", "门式刚架柱"],
        found: "涂层附着力不足，局部锈蚀",
        cause: "底漆前除锈等级不够",
        fix: "打磨除锈至St3级，补涂环氧富锌底漆和面漆",
        asked: "涂层 起皮",
        keys: &["涂层"],
    },
    Defect {
        category: "connection_loosening",
        said: &["高强螺栓松动", "连接螺栓松脱，有异响", "节点螺栓松了"],
        places: &["梁柱节点", "屋面支撑连接处", "柱间支撑节点板"],
        found: "扭矩不足，部分螺栓未终拧",
        cause: "安装时终拧遗漏",
        fix: "逐个复拧高强螺栓至设计扭矩并做标记",
        asked: "螺栓 松脱",
        keys: &["螺栓", "松"],
    },
    Defect {
        category: "structural_safety",
        said: &["钢梁下翼缘出现裂缝", "梁端焊缝开裂", "钢梁有一条裂纹"],
        places: &["二层钢梁", "梁端连接", "吊车梁"],
        found: "焊缝根部未熔合，裂纹长约30毫米",
        cause: "焊接质量缺陷，疲劳荷载下扩展",
        fix: "碳弧气刨清除裂纹后重新焊接并探伤",
        asked: "钢梁 裂纹",
        keys: &["梁", "裂"],
    },
    Defect {
        category: "member_deformation",
        said: &["檩条弯曲变形", "屋面檩条下挠明显", "檩条被压弯"],
        places: &["屋面檩条", "墙面檩条", "雨棚檩条"],
        found: "檩条跨中挠度超限，拉条缺失",
        cause: "拉条未安装，侧向失稳",
        fix: "补装拉条，更换变形檩条",
        asked: "檩条 弯曲",
        keys: &["檩条"],
    },
    Defect {
        category: "coating_damage",
        said: &["柱脚锈蚀严重", "柱脚生锈，锈水流出", "柱脚底板锈穿"],
        places: &["柱脚", "外墙柱脚", "室外柱脚"],
        found: "柱脚长期积水，底板锈蚀",
        cause: "柱脚包封缺失，排水不畅",
        fix: "除锈补涂并做混凝土包封",
        asked: "柱脚 生锈",
        keys: &["柱脚", "锈"],
    },
    Defect {
        category: "leakage",
        said: &[
            "roof panels leaking at the ridge",
            "water drips through the roof sheets",
            "the roof leaks after heavy rain",
        ],
        places: &["roof ridge", "north roof slope", "skylight"],
        found: "ridge flashing lifted and sealant failed",
        cause: "flashing fixed with too few screws",
        fix: "re-fix the ridge flashing and reseal the laps",
        asked: "leaking roof sheets",
        keys: &["roof", "leak"],
    },
    Defect {
        category: "coating_damage",
        said: &[
            "paint peeling off the crane beam",
            "coating flaking on the columns",
            "paint is peeling badly",
        ],
        places: &["crane beam", "column C4", "bracing"],
        found: "topcoat delaminating from the primer",
        cause: "topcoat applied over a dusty primer",
        fix: "blast clean and recoat the affected areas",
        asked: "peeled paint",
        keys: &["peel"],
    },
    Defect {
        category: "connection_loosening",
        said: &[
            "loose anchor bolts at the column base",
            "bolts came loose at the splice",
            "the bolts are loose and rattling",
        ],
        places: &["column base", "beam splice", "bracing joint"],
        found: "nuts backed off, no lock washers",
        cause: "missing lock washers under vibration",
        fix: "retighten and fit lock nuts",
        asked: "loose bolts",
        keys: &["bolt", "loose"],
    },
    Defect {
        category: "structural_safety",
        said: &[
            "crack in the weld of the bracing",
            "cracked weld at the gusset plate",
            "a weld has cracked",
        ],
        places: &["gusset plate", "bracing", "portal knee"],
        found: "weld crack 40 mm at the toe",
        cause: "undersized fillet weld",
        fix: "grind out and reweld, then test by ultrasound",
        asked: "cracked welds",
        keys: &["weld", "crack"],
    },
    Defect {
        category: "member_deformation",
        said: &[
            "door frame bent after a truck hit it",
            "the sliding door is deformed",
            "door post badly bent",
        ],
        places: &["loading door", "sliding door", "door post"],
        found: "door post buckled, door off its track",
        cause: "vehicle impact",
        fix: "replace the door post and realign the track",
        asked: "bent door",
        keys: &["door"],
    },
    Defect {
        category: "leakage",
        said: &[
            "gutter overflowing into the hall",
            "corroded gutter with holes",
            "water pouring over the gutter",
        ],
        places: &["east gutter", "valley gutter", "downpipe outlet"],
        found: "gutter outlet blocked and corroded through",
        cause: "no leaf guard, standing water",
        fix: "replace the gutter section and fit leaf guards",
        asked: "gutters overflow",
        keys: &["gutter"],
    },
];

const CUSTOMERS: u64 = 800;
const PROJECTS: u64 = 4000;
const DAY_MS: i64 = 86_400_000;
/// Cases per transaction (three records each at most: SQLite's bound values hold).
const BATCH: usize = 500;
const STRUCTURES: &[(&str, u32)] = &[
    ("PORTAL_FRAME", 60),
    ("MULTI_STOREY_FRAME", 25),
    ("SPACE_TRUSS", 10),
    ("OTHER", 5),
];

fn projects_rows() -> Vec<projects::ActiveModel> {
    (0..PROJECTS)
        .map(|p| projects::ActiveModel {
            id: Set(format!("xb-project-{p:05}")),
            customer_id: Set(format!("xb-customer-{:04}", p % CUSTOMERS)),
            name: Set(format!("苏州物流园 {p} 号仓库")),
            address: Set("{}".into()),
            contract_number: Set(format!("XB-{p:05}")),
            structure_type: Set((*Rng(p).pick(STRUCTURES)).to_owned()),
            completion_date: Set("2022-05-10".into()),
            design_life_years: Set(50),
            technical_lead: Set("{}".into()),
            designer: Set("{}".into()),
            created_at: Set(Utc::now()),
        })
        .collect()
}

/// One generated case: its ticket, its case row, and its records when resolved.
fn case(
    rng: &mut Rng,
    n: usize,
    now_ms: i64,
) -> (
    tickets::ActiveModel,
    cases::ActiveModel,
    Vec<case_records::ActiveModel>,
) {
    let id = format!("xb-{n:08}");
    let defect = &DEFECTS[rng.below(DEFECTS.len() as u64) as usize];
    let project = rng.skewed(PROJECTS);
    let customer = project % CUSTOMERS;
    let created = chrono::DateTime::from_timestamp_millis(now_ms - rng.below(730) as i64 * DAY_MS)
        .unwrap_or_default();
    let resolved = rng.unit() < 0.85;
    let said = defect.said[rng.below(defect.said.len() as u64) as usize];
    let place = defect.places[rng.below(defect.places.len() as u64) as usize];
    let axes = format!(
        "{}-{}",
        char::from(b'A' + rng.below(8) as u8),
        1 + rng.below(12)
    );
    let description = serde_json::json!({
        "phenomenon": said,
        "extent": format!("{} m", 1 + rng.below(20)),
    });
    let location = serde_json::json!({ "description": place, "grid_axes": axes });
    let ticket = tickets::ActiveModel {
        id: Set(id.clone()),
        acceptance_number: Set(format!("XB{n:09}")),
        channel: Set("HOTLINE".into()),
        customer_id: Set(format!("xb-customer-{customer:04}")),
        project_id: Set(format!("xb-project-{project:05}")),
        reporter: Set("{}".into()),
        location: Set(location.to_string()),
        description: Set(description.to_string()),
        customer_request: Set(String::new()),
        category: Set(defect.category.to_owned()),
        tier: Set("p3".into()),
        suggestion: Set("{}".into()),
        warranty: Set("{}".into()),
        reply: Set("{}".into()),
        readback_text: Set(None),
        readback_confirmed_at: Set(None),
        first_response_text: Set(None),
        closing_text: Set(None),
        sla_status: Set("on_track".into()),
        related_case_id: Set(None),
        created_at: Set(created),
        updated_at: Set(created),
        version: Set(1),
    };
    let row = cases::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(Some(format!("xb-customer-{customer:04}"))),
        state: Set(if resolved { "ARCHIVED" } else { "IN_REPAIR" }.into()),
        state_before_dispute: Set(None),
        version: Set(1),
        created_at: Set(created),
        updated_at: Set(created),
    };
    let records = if resolved {
        records(&id, defect, created)
    } else {
        Vec::new()
    };
    (ticket, row, records)
}

/// A resolved case's survey report, plan and work-log entry.
fn records(id: &str, defect: &Defect, at: chrono::DateTime<Utc>) -> Vec<case_records::ActiveModel> {
    let report = repair::SurveyReport {
        findings: defect.found.into(),
        recommendation: defect.fix.into(),
        diagnosis: Some(repair::Diagnosis {
            expert_review: defect.cause.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let plan = repair::RepairPlan {
        content: Some(repair::PlanContent {
            objective: defect.fix.into(),
            methods: defect.fix.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let work = repair::WorkLogEntry {
        content: defect.fix.into(),
        ..Default::default()
    };
    let row = |kind: &str, body: Vec<u8>| case_records::ActiveModel {
        id: Set(format!("{id}-{kind}")),
        ticket_id: Set(id.to_owned()),
        kind: Set(kind.to_owned()),
        version: Set(1),
        step_id: Set(None),
        status: Set("RECORDED".into()),
        slot: Set(None),
        body: Set(body),
        due_at_ms: Set(None),
        created_by: Set("xb".into()),
        created_at: Set(at),
        updated_at: Set(at),
    };
    vec![
        row(kind::REPORT, report.encode_to_vec()),
        row(kind::PLAN, plan.encode_to_vec()),
        row(kind::WORK, work.encode_to_vec()),
    ]
}

fn db_fail(what: &str) -> impl Fn(sea_orm::DbErr) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// Generates the cases not generated yet; answers how many.
async fn generate(db: &steelcare_store::Database, cases: usize) -> Result<usize, String> {
    let have = tickets::Entity::find()
        .filter(tickets::Column::Id.like("xb-%"))
        .count(db)
        .await
        .map_err(db_fail("count"))? as usize;
    if have >= cases {
        return Ok(0);
    }
    if have == 0 {
        let customers = (0..CUSTOMERS).map(|c| customers::ActiveModel {
            id: Set(format!("xb-customer-{c:04}")),
            organization_name: Set(format!("Bench customer {c}")),
            contacts: Set("[]".into()),
            created_at: Set(Utc::now()),
        });
        customers::Entity::insert_many(customers)
            .exec_without_returning(db)
            .await
            .map_err(db_fail("insert customers"))?;
        for chunk in projects_rows().chunks(BATCH) {
            projects::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await
                .map_err(db_fail("insert projects"))?;
        }
    }
    let now_ms = Utc::now().timestamp_millis();
    let mut rng = Rng(0x0E7E_4B1E);
    for n in 0..have {
        let _ = case(&mut rng, n, now_ms);
    }
    let begun = Instant::now();
    let mut n = have;
    while n < cases {
        let end = (n + BATCH).min(cases);
        let (mut ts, mut cs, mut rs) = (Vec::new(), Vec::new(), Vec::new());
        for i in n..end {
            let (t, c, r) = case(&mut rng, i, now_ms);
            ts.push(t);
            cs.push(c);
            rs.extend(r);
        }
        let tx = db.begin().await.map_err(db_fail("begin"))?;
        tickets::Entity::insert_many(ts)
            .exec_without_returning(&tx)
            .await
            .map_err(db_fail("insert tickets"))?;
        cases::Entity::insert_many(cs)
            .exec_without_returning(&tx)
            .await
            .map_err(db_fail("insert cases"))?;
        for chunk in rs.chunks(BATCH) {
            case_records::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&tx)
                .await
                .map_err(db_fail("insert records"))?;
        }
        tx.commit().await.map_err(db_fail("commit"))?;
        n = end;
        if n.is_multiple_of(100_000) {
            eprintln!(
                "  generated {n} cases ({:.0} s)",
                begun.elapsed().as_secs_f64()
            );
        }
    }
    let analyze = match db.get_database_backend() {
        DbBackend::Postgres => "ANALYZE tickets; ANALYZE cases; ANALYZE case_records",
        _ => "ANALYZE",
    };
    for sql in analyze.split("; ") {
        execute(db, sql).await?;
    }
    Ok(cases - have)
}

async fn execute(db: &steelcare_store::Database, sql: &str) -> Result<(), String> {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map(|_| ())
        .map_err(|err| format!("{sql}: {err}"))
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn search(query: &str, category: i32) -> pb::SearchCasesRequest {
    pb::SearchCasesRequest {
        query: query.to_owned(),
        filter: (category != 0).then(|| pb::CaseSearchFilter {
            category,
            ..Default::default()
        }),
        page_size: 10,
        page_token: String::new(),
    }
}

/// Waits for the copy to be built: the time from `begun` to the first answer.
async fn built(
    client: &mut FeedbackServiceClient<Channel>,
    token: &str,
    begun: Instant,
) -> Result<Duration, String> {
    loop {
        match client.search_cases(authed(search("天沟", 0), token)?).await {
            Ok(_) => return Ok(begun.elapsed()),
            Err(s) if s.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(s) => return Err(format!("search while building: {}", s.message())),
        }
    }
}

/// Latencies (sorted) and how many first hits were of the asked defect's category.
struct Asked {
    times: Vec<Duration>,
    right_first: usize,
    asked: usize,
}

impl Asked {
    fn new() -> Self {
        Asked {
            times: Vec::new(),
            right_first: 0,
            asked: 0,
        }
    }

    fn add(&mut self, took: Duration, first: Option<&str>, defect: &Defect) {
        self.times.push(took);
        self.asked += 1;
        if first == Some(defect.category) {
            self.right_first += 1;
        }
    }

    fn print(&mut self, label: &str, what: &str) {
        self.times.sort();
        println!(
            "[{label}] {what:<44} p50 {:>8.2} ms  p99 {:>8.2} ms  first hit of the asked kind {}/{}",
            percentile(&self.times, 0.5).as_secs_f64() * 1000.0,
            percentile(&self.times, 0.99).as_secs_f64() * 1000.0,
            self.right_first,
            self.asked
        );
    }
}

/// The asked questions through `SearchCases`.
async fn ask_index(
    client: &mut FeedbackServiceClient<Channel>,
    token: &str,
    queries: usize,
) -> Result<Asked, String> {
    let mut asked = Asked::new();
    for q in 0..=queries {
        let defect = &DEFECTS[q % DEFECTS.len()];
        let t = Instant::now();
        let found = client
            .search_cases(authed(search(defect.asked, 0), token)?)
            .await
            .map_err(|s| format!("search: {}", s.message()))?
            .into_inner();
        let took = t.elapsed();
        let first = found
            .hits
            .first()
            .and_then(|h| h.case.as_ref())
            .and_then(|c| steelcare_domain::ProblemCategory::from_proto_value(c.category));
        // The first question warms the caches and is not counted.
        if q > 0 {
            asked.add(took, first.map(|c| c.as_str()), defect);
        }
    }
    Ok(asked)
}

/// The asked questions by hand: every key word a substring of the description, newest first.
async fn ask_by_substring(db: &steelcare_store::Database, queries: usize) -> Result<Asked, String> {
    let backend = db.get_database_backend();
    let like = if backend == DbBackend::Postgres {
        "ILIKE"
    } else {
        "LIKE"
    };
    let mut asked = Asked::new();
    for q in 0..=queries {
        let defect = &DEFECTS[q % DEFECTS.len()];
        let wheres: Vec<String> = (defect.keys.iter())
            .map(|_| format!("description {like} ?"))
            .collect();
        let sql = format!(
            "SELECT category FROM tickets WHERE {} ORDER BY created_at DESC LIMIT 10",
            wheres.join(" AND ")
        );
        let values = (defect.keys.iter())
            .map(|k| format!("%{k}%").into())
            .collect();
        let t = Instant::now();
        let rows = db
            .query_all_raw(statement(backend, &sql, values))
            .await
            .map_err(|err| format!("{sql}: {err}"))?;
        let took = t.elapsed();
        let first = rows
            .first()
            .and_then(|r| r.try_get_by_index::<String>(0).ok());
        if q > 0 {
            asked.add(took, first.as_deref(), defect);
        }
    }
    Ok(asked)
}

/// The English questions as PostgreSQL full-text search, ranked.
async fn ask_by_full_text(db: &steelcare_store::Database, queries: usize) -> Result<Asked, String> {
    let sql = "SELECT category FROM tickets \
               WHERE to_tsvector('english', description) @@ plainto_tsquery('english', $1) \
               ORDER BY ts_rank(to_tsvector('english', description), plainto_tsquery('english', $1)) DESC \
               LIMIT 10";
    let english: Vec<&Defect> = DEFECTS.iter().filter(|d| d.asked.is_ascii()).collect();
    let mut asked = Asked::new();
    for q in 0..=queries {
        let defect = english[q % english.len()];
        let t = Instant::now();
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [defect.asked.into()],
            ))
            .await
            .map_err(|err| format!("full text: {err}"))?;
        let took = t.elapsed();
        let first = rows
            .first()
            .and_then(|r| r.try_get_by_index::<String>(0).ok());
        if q > 0 {
            asked.add(took, first.as_deref(), defect);
        }
    }
    Ok(asked)
}

/// Builds an index of the database by hand and prints how long it took and its size.
async fn hand_index(
    db: &steelcare_store::Database,
    label: &str,
    name: &str,
    using: &str,
) -> Result<(), String> {
    execute(db, &format!("DROP INDEX IF EXISTS {name}")).await?;
    let t = Instant::now();
    execute(db, &format!("CREATE INDEX {name} ON tickets USING {using}")).await?;
    let took = t.elapsed();
    let size = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_relation_size('{name}')::bigint"),
        ))
        .await
        .map_err(|err| err.to_string())?
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or_default();
    println!(
        "[{label}] PostgreSQL {name:<28} built in {:>7.1} s, {:>7.1} MB",
        took.as_secs_f64(),
        size as f64 / 1e6
    );
    Ok(())
}

/// A word of its own for the `n`th new call (letters only: both analyzers keep it whole).
fn fresh_word(n: usize) -> String {
    let mut word = String::from("xbfresh");
    let mut k = n + 26 * 26;
    while k > 0 {
        word.push(char::from(b'a' + (k % 26) as u8));
        k /= 26;
    }
    word
}

/// New calls timed from the answer of `CreateTicket` to the first search that finds them.
async fn fresh_delays(
    channel: &Channel,
    token: &str,
    fresh: usize,
) -> Result<Vec<Duration>, String> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut feedback = FeedbackServiceClient::new(channel.clone());
    let project = prepare(&mut intake, token).await?;
    let mut delays = Vec::with_capacity(fresh);
    for n in 0..fresh {
        let word = fresh_word(n);
        let mut ticket = crate::intake::ticket(&project, n);
        if let Some(d) = ticket.description.as_mut() {
            d.phenomenon = format!("{} {word}", d.phenomenon);
        }
        intake
            .create_ticket(authed(ticket, token)?)
            .await
            .map_err(|s| format!("create ticket: {}", s.message()))?;
        let committed = Instant::now();
        loop {
            let found = feedback
                .search_cases(authed(search(&word, 0), token)?)
                .await
                .map_err(|s| format!("search: {}", s.message()))?
                .into_inner();
            if found.total_size > 0 {
                delays.push(committed.elapsed());
                break;
            }
            if committed.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "a new call ({word}) was not searchable within 60 s"
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    delays.sort();
    Ok(delays)
}

/// Runs the benchmark and prints the figures.
pub async fn experience(
    mut settings: Settings,
    options: ExperienceBenchOptions,
) -> Result<(), String> {
    let label = options.label.clone();
    let (_, token) = bench_token(&settings, &[Role::Agent, Role::Manager])?;
    let dir = settings.feedback.search_dir.clone();
    let _ = std::fs::remove_dir_all(&dir);
    // The first start only migrates the database for the generator.
    let running = start(&settings, 0).await?;
    let begun = Instant::now();
    let added = generate(&running.db, options.cases).await?;
    running.stop().await;
    if added > 0 {
        println!(
            "[{label}] generated {added} cases in {:.1} s",
            begun.elapsed().as_secs_f64()
        );
    }
    settings.feedback.search_dir = dir.clone();
    let _ = std::fs::remove_dir_all(&dir);
    let begun = Instant::now();
    let running = start(&settings, 0).await?;
    let channel = running.channel().await?;
    let mut client = FeedbackServiceClient::new(channel.clone());
    let build = built(&mut client, &token, begun).await?;
    let total = tickets::Entity::find()
        .count(&running.db)
        .await
        .map_err(db_fail("count"))?;
    println!(
        "[{label}] index of {total} cases built in {:.1} s ({:.0} cases/s), {:.1} MB on disk",
        build.as_secs_f64(),
        total as f64 / build.as_secs_f64().max(1e-9),
        dir_size(&dir) as f64 / 1e6
    );
    ask_index(&mut client, &token, options.queries)
        .await?
        .print(&label, "SearchCases (gRPC, 10 hits, ranked)");
    let db = running.db.clone();
    if db.get_database_backend() == DbBackend::Postgres {
        execute(&db, "CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
        hand_index(
            &db,
            &label,
            "xb_tickets_trigram",
            "gin (description gin_trgm_ops)",
        )
        .await?;
        hand_index(
            &db,
            &label,
            "xb_tickets_full_text",
            "gin (to_tsvector('english', description))",
        )
        .await?;
        execute(&db, "ANALYZE tickets").await?;
    }
    ask_by_substring(&db, options.queries)
        .await?
        .print(&label, "by hand: key words as substrings, newest");
    if db.get_database_backend() == DbBackend::Postgres {
        ask_by_full_text(&db, options.queries)
            .await?
            .print(&label, "by hand: English full-text, ts_rank");
    }
    let delays = fresh_delays(&channel, &token, options.fresh).await?;
    println!(
        "[{label}] a new call searchable after its commit: p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms ({} calls)",
        percentile(&delays, 0.5).as_secs_f64() * 1000.0,
        percentile(&delays, 0.99).as_secs_f64() * 1000.0,
        delays.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        delays.len()
    );
    running.stop().await;
    Ok(())
}
