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

#[test]
fn every_message_the_code_names_is_in_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["services", "shared"] {
        sources(&root.join(dir), &mut files);
    }
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
