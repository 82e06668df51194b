//! The catalogue is whole: every locale has every message with the same placeholders, and
//! every message the code names exists.

use std::path::{Path, PathBuf};

use steelcare_i18n::{Locale, catalogue, msg};

#[test]
fn every_locale_has_every_message_with_the_same_placeholders() {
    let problems = catalogue().problems();
    assert!(problems.is_empty(), "{problems:#?}");
    let tags: Vec<&str> = Locale::all().map(Locale::tag).collect();
    assert!(tags.contains(&"zh-CN") && tags.contains(&"en"), "{tags:?}");
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The catalogue's own crate names example keys in its tests and docs.
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "i18n")
            {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every literal that follows `marker` in `text` (`msg!("key"` → `key`).
fn literals_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = text[at + marker.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            rest.split('"').next()
        })
        .collect()
}

/// The workspace's root and every Rust file of its services and shared crates.
fn workspace_sources() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["services", "shared"] {
        sources(&root.join(dir), &mut files);
    }
    (root, files)
}

#[test]
fn every_message_the_code_names_is_in_the_catalogue() {
    let (_, files) = workspace_sources();
    assert!(files.len() > 50, "{}", files.len());
    let mut missing = Vec::new();
    let mut named = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let keys = literals_after(&text, "msg!(")
            .into_iter()
            .chain(literals_after(&text, "Msg::new("))
            .map(str::to_owned)
            // Entities a NOT_FOUND names, and labels built from stored names.
            .chain(
                literals_after(&text, "not_found(")
                    .into_iter()
                    .map(|e| format!("entity-{}", e.replace(['_', ' '], "-"))),
            )
            .chain(
                literals_after(&text, "entity: ")
                    .into_iter()
                    .map(|e| format!("entity-{}", e.replace(['_', ' '], "-"))),
            );
        for key in keys {
            named += 1;
            if !catalogue().has(&key) {
                missing.push(format!("{}: {key}", file.display()));
            }
        }
    }
    assert!(
        named > 300,
        "only {named} messages found: is the scan broken?"
    );
    assert!(missing.is_empty(), "not in the catalogue: {missing:#?}");
}

#[test]
fn texts_render_in_the_readers_language_with_their_facts() {
    let (Some(zh), Some(en)) = (Locale::parse("zh-CN"), Locale::parse("en")) else {
        panic!("zh-CN and en are shipped");
    };
    let m = msg!("field-too-long", max = 200);
    assert_eq!(m.render(en), "at most 200 characters");
    assert_eq!(m.render(zh), "最多 200 个字符");
    let day = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
    let m = msg!("field-calibration-expired", until = day);
    assert_eq!(
        m.render(en),
        "calibration expired on 30 Jun 2025; the measurement is refused"
    );
    assert_eq!(
        m.render(zh),
        "仪器检定已于 2025年6月30日 过期，该测量不予接受"
    );
    let list = steelcare_i18n::Arg::List(vec![msg!("role-agent"), msg!("role-dispatcher")]);
    let m = msg!("error-roles-needed", roles = list);
    assert_eq!(
        m.render(en),
        "this call needs one of the roles agent, dispatcher"
    );
    assert_eq!(m.render(zh), "此操作需要以下角色之一：客服专员、调度员");
    // A key nobody shipped reads as itself rather than vanishing.
    assert_eq!(msg!("no-such-key").render(zh), "no-such-key");
}

/// Sentences a person reads, still built in code rather than taken from the catalogue: the
/// files and how many. A file gaining one fails this test; a file losing one must lower its
/// count here (a ratchet). Empty when every text comes from the catalogue.
const NOT_YET_IN_THE_CATALOGUE: &[(&str, usize)] = &[
    // Developer- and operator-facing (English by design): details that are logged or go into
    // ErrorInfo, checks of the shipped data tables and of the configuration, the stream's
    // closing status, and the reasons of `CaseStateChanged` events (an English developer
    // text by the event's contract; people read the records themselves).
    ("services/acceptance/src/grpc.rs", 2),
    ("services/feedback/src/visits.rs", 2),
    // The experience base: a lock statement, and the detail of UNAVAILABLE while the index is
    // first built (logged; people read the status's catalogue text).
    ("services/feedback/src/experience/follow.rs", 1),
    ("services/feedback/src/experience/mod.rs", 1),
    ("services/repair/src/grpc/plans.rs", 2),
    // The console's missing-build note, and its content security policy (a header value).
    ("services/steelcare/src/console.rs", 3),
    ("services/steelcare/src/integration.rs", 2),
    ("services/intake/src/batch.rs", 2),
    ("services/intake/src/store.rs", 2),
    ("shared/runtime/src/auth.rs", 6),
    // Why a single sign-on token was refused: the developer's detail (people read the
    // catalogue's "token invalid" or "expired").
    ("shared/runtime/src/oidc.rs", 9),
    ("shared/runtime/src/error.rs", 1),
    ("shared/runtime/src/attachments.rs", 1),
    ("shared/domain/src/calendar.rs", 5),
    ("shared/domain/src/tolerance.rs", 3),
    ("shared/domain/src/classify.rs", 1),
    ("shared/domain/src/cost.rs", 2),
    // The command line's answer, and a hashing failure that becomes an internal (logged) error.
    ("services/steelcare/src/identity.rs", 1),
    ("shared/runtime/src/identity.rs", 1),
];

/// Whether a string literal reads as a sentence for a person: four words or more of letters,
/// or Chinese.
fn is_sentence(literal: &str) -> bool {
    if literal
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    {
        return true;
    }
    let sql = [
        "SELECT ",
        " FROM ",
        "CASE WHEN",
        "CAST(",
        "SUM(",
        "WITH ",
        " IN (",
        "technicians.",
    ];
    if sql.iter().any(|k| literal.contains(k)) {
        return false;
    }
    let words: Vec<&str> = literal.split_whitespace().collect();
    words.len() >= 4
        && literal.chars().next().is_some_and(char::is_alphabetic)
        && words
            .iter()
            .filter(|w| {
                w.chars()
                    .all(|c| c.is_alphabetic() || ",.;:'()-".contains(c))
            })
            .count()
            >= 3
}

/// The string literals of a line (escaped quotes kept inside).
fn string_literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    literal.push(c);
                    if let Some(next) = chars.next() {
                        literal.push(next);
                    }
                }
                '"' => break,
                _ => literal.push(c),
            }
        }
        out.push(literal);
    }
    out
}

/// Lines that speak to developers or operators, not to the people who use the product: logs,
/// panics, internal errors (logged, never returned), error types' Display, doc comments.
fn for_developers(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("//")
        || t.starts_with("#[")
        || [
            "tracing::",
            "panic!",
            "unreachable!",
            ".expect(",
            "Internal(",
            "eprintln!",
            "println!",
            "writeln!",
            "write!(f",
        ]
        .iter()
        .any(|marker| line.contains(marker))
}

/// Files that speak only to operators (configuration, the command line, telemetry, the
/// database's own objects, what a notification channel's provider answered — a delivery's
/// last error, which an administrator passes on to the provider): English stays.
fn operator_file(path: &Path) -> bool {
    let p = path.to_string_lossy();
    [
        "settings.rs",
        "/settings/",
        "/notify/src/channels/",
        "/notify/src/send.rs",
        "/notify/src/deliveries.rs",
        "cli.rs",
        "call.rs",
        "metrics.rs",
        "telemetry.rs",
        "health.rs",
        "startup.rs",
        "build.rs",
        "/migration",
        "/bus/",
        "/store/",
        "/tools/",
    ]
    .iter()
    .any(|marker| p.contains(marker))
}

#[test]
fn no_person_facing_sentence_is_built_outside_the_catalogue() {
    let (root, files) = workspace_sources();
    let mut found: Vec<(String, usize, Vec<String>)> = Vec::new();
    for file in files.iter().filter(|f| !operator_file(f)) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut previous = "";
        // Parentheses still open of a developer call (a log macro over several lines).
        let mut open = 0i32;
        let mut sentences = Vec::new();
        for line in code.lines() {
            let depth = |l: &str| l.matches('(').count() as i32 - l.matches(')').count() as i32;
            if for_developers(line) {
                open = depth(line).max(0);
            } else if open > 0 {
                open = (open + depth(line)).max(0);
            } else if !for_developers(previous) {
                sentences.extend(string_literals(line).into_iter().filter(|l| is_sentence(l)));
            }
            previous = line;
        }
        if !sentences.is_empty() {
            let name = file
                .strip_prefix(&root)
                .unwrap_or(file)
                .to_string_lossy()
                .into_owned();
            found.push((name, sentences.len(), sentences));
        }
    }
    let mut wrong = Vec::new();
    for (name, count, sentences) in &found {
        let allowed = NOT_YET_IN_THE_CATALOGUE
            .iter()
            .find(|(f, _)| f == name)
            .map_or(0, |(_, n)| *n);
        if *count != allowed {
            wrong.push(format!(
                "{name}: {count} (listed: {allowed}): {sentences:?}"
            ));
        }
    }
    for (name, allowed) in NOT_YET_IN_THE_CATALOGUE {
        if !found.iter().any(|(f, _, _)| f == name) {
            wrong.push(format!("{name}: 0 (listed: {allowed})"));
        }
    }
    assert!(
        wrong.is_empty(),
        "person-facing sentences built outside the catalogue (put them in \
         shared/i18n/locales, or correct NOT_YET_IN_THE_CATALOGUE):\n{}",
        wrong.join("\n")
    );
}
