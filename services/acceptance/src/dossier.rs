//! `dossier.html`: one page a person can print, with Chinese and English labels — the case
//! summary, the timeline, measurements with their verdicts, the agreed plan, the agreement,
//! every signature, the photos, and the list of documents with their SHA-256. It reads only
//! the archived documents, so it shows what the archive holds. An archive is written once and
//! kept for years, for any reader: every label and value name comes from the catalogue in
//! both Chinese and English ([`bilingual`]), times in the deployment's zone.

use chrono::{DateTime, Utc};
use steelcare_domain::money::Amount;
use steelcare_domain::{ProblemCategory, SeverityTier};
use steelcare_i18n::{Arg, Locale, Msg, enum_label};
use steelcare_store::entity::archive_documents;

/// A catalogue text as an archive writes it: Chinese, then English (once when they agree).
pub fn bilingual(message: &Msg) -> String {
    let (zh, en) = (message.render(Locale::chinese()), message.english());
    if zh == en { zh } else { format!("{zh} / {en}") }
}

/// The label `key`, in both languages.
fn label(key: &'static str) -> String {
    bilingual(&Msg::new(key))
}

/// A protobuf enum value's label in both languages (the value itself when the catalogue has
/// none, so that nothing is dropped).
fn enum_value(enum_name: &str, value: &serde_json::Value) -> String {
    let name = text(value);
    bilingual_or(&enum_label(enum_name, &name), name)
}

/// `label` in both languages, or `fallback` when the catalogue has no such label.
fn bilingual_or(label: &Msg, fallback: String) -> String {
    if steelcare_i18n::catalogue().has(&label.key) {
        bilingual(label)
    } else {
        fallback
    }
}

/// A proto JSON timestamp (RFC 3339) as the page's locale writes it, in the deployment's zone.
fn when(value: &serde_json::Value) -> String {
    let raw = text(value);
    DateTime::parse_from_rfc3339(&raw).map_or(raw, |t| {
        Msg::new("dossier-time")
            .with("at", Arg::at(t.with_timezone(&Utc)))
            .render(Locale::chinese())
    })
}

/// A proto JSON `Money` as an amount with its currency.
fn money(value: &serde_json::Value) -> String {
    let minor = text(&value["amount_minor"]).parse::<i64>().unwrap_or(0);
    Amount::parse(&text(&value["currency_code"]), minor)
        .map_or_else(|_| String::new(), |a| a.to_string())
}

/// A text a record keeps in Chinese and in English (a clause), as the page writes both.
fn both_texts(zh: &serde_json::Value, en: &serde_json::Value) -> String {
    let (zh, en) = (text(zh), text(en));
    if zh.is_empty() || zh == en {
        en
    } else {
        format!("{zh} / {en}")
    }
}

/// The parts of a structured text (a ticket's location or description) that are filled in,
/// joined; a plain text as it is.
fn parts(value: &serde_json::Value, fields: &[&str]) -> String {
    let Some(object) = value.as_object() else {
        return text(value);
    };
    let filled: Vec<String> = fields
        .iter()
        .map(|f| object.get(*f).map(text).unwrap_or_default())
        .filter(|t| !t.is_empty())
        .collect();
    filled.join("; ")
}

/// A column that holds JSON as text (a ticket's location and description), read as JSON.
fn json_column(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// What an audited call did, as its label names it (`/….IntakeService/CreateTicket` →
/// "受理报修 / Ticket taken in"); the call's name when the catalogue has no label for it.
fn operation(rpc: &str) -> String {
    let name = rpc.rsplit('/').next().unwrap_or(rpc);
    bilingual_or(&Msg::owned(format!("operation-{name}")), rpc.to_owned())
}

/// A table's header row of labels.
fn header(keys: &[&'static str]) -> String {
    let cells: String = keys
        .iter()
        .map(|k| format!("<th>{}</th>", esc(&label(k))))
        .collect();
    format!("<tr>{cells}</tr>")
}

/// What the page says of the archive itself (its manifest lists the page, so the page cannot
/// show the manifest's hash; it shows the previous archive's).
pub struct Heading<'a> {
    /// Archive number.
    pub archive_number: &'a str,
    /// Ticket id.
    pub ticket_id: &'a str,
    /// How the case ended.
    pub ending: &'a str,
    /// When archived.
    pub archived_at: DateTime<Utc>,
    /// Who archived it.
    pub archived_by: &'a str,
    /// The previous archive's manifest SHA-256.
    pub previous_sha256: Option<&'a str>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn docs_of<'a>(
    documents: &'a [archive_documents::Model],
    files: &'a [(String, Vec<u8>)],
    kind: &'a str,
) -> impl Iterator<Item = (&'a archive_documents::Model, serde_json::Value)> + 'a {
    documents
        .iter()
        .filter(move |d| d.kind == kind)
        .filter_map(move |d| {
            let bytes = files.iter().find(|(p, _)| p == &d.path)?;
            Some((d, serde_json::from_slice(&bytes.1).ok()?))
        })
}

fn measurement_rows(out: &mut String, source: &str, list: &serde_json::Value) {
    for m in list.as_array().into_iter().flatten() {
        let j = &m["judgement"];
        let verdict = if j["passed"].as_bool() == Some(true) {
            format!("✔ {}", label("dossier-pass"))
        } else {
            format!("✘ {}", label("dossier-fail"))
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} … {} {}</td><td>{}</td><td class=\"small\">{}</td></tr>\n",
            esc(source),
            esc(&text(&m["member"])),
            esc(&text(&m["location"])),
            esc(&m["readings"].as_array().map(|r| r.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()),
            esc(&text(&j["lower_limit"])),
            esc(&text(&j["upper_limit"])),
            esc(&text(&j["unit"])),
            esc(&verdict),
            esc(&both_texts(&j["source_zh"], &j["source"])),
        ));
    }
}

fn signature_rows(out: &mut String, source: &str, list: &serde_json::Value) {
    let items: Vec<&serde_json::Value> = match list {
        serde_json::Value::Array(a) => a.iter().collect(),
        serde_json::Value::Object(_) => vec![list],
        _ => Vec::new(),
    };
    for s in items {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(source),
            esc(&text(&s["signer"]["display_name"])),
            esc(&enum_value("SignatureRole", &s["role"])),
            esc(&when(&s["signed_time"])),
            esc(&if s["dissent"].as_bool() == Some(true) {
                format!("{}: {}", label("dossier-dissent"), text(&s["opinion"]))
            } else {
                text(&s["opinion"])
            }),
        ));
    }
}

/// Renders the dossier page of an archive from its documents' bytes (`files`: path, bytes).
pub fn render(
    archive: &Heading<'_>,
    documents: &[archive_documents::Model],
    files: &[(String, Vec<u8>)],
) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    let title = bilingual(&Msg::new("dossier-title").with("number", archive.archive_number));
    out.push_str(&format!("<title>{}</title>", esc(&title)));
    out.push_str("<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top}th{background:#eee;text-align:left}.small{font-size:.8em}img{max-width:45%;margin:.3em;border:1px solid #ccc}@media print{h2{page-break-after:avoid}}</style></head><body>\n");
    out.push_str(&format!("<h1>{}</h1>\n", esc(&title)));
    summary(&mut out, archive, documents, files);
    timeline(&mut out, documents, files);
    measurements(&mut out, documents, files);
    plan_and_agreement(&mut out, documents, files);
    signatures(&mut out, documents, files);
    photos(&mut out, documents);
    contents(&mut out, documents);
    out.push_str("</body></html>\n");
    out
}

/// The summary: the case as taken in, how it ended, who archived it and the chain.
fn summary(
    out: &mut String,
    archive: &Heading<'_>,
    documents: &[archive_documents::Model],
    files: &[(String, Vec<u8>)],
) {
    let intake = docs_of(documents, files, "DOCUMENT_KIND_INTAKE_RECORD")
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default();
    let t = &intake["ticket"];
    out.push_str(&format!(
        "<h2>{}</h2><table>\n",
        esc(&label("dossier-summary"))
    ));
    let category = text(&t["category"]);
    let tier = text(&t["tier"]);
    let archived_at = serde_json::Value::String(archive.archived_at.to_rfc3339());
    for (key, value) in [
        ("dossier-acceptance-number", text(&t["acceptance_number"])),
        ("dossier-ticket", archive.ticket_id.to_owned()),
        (
            "dossier-customer",
            text(&intake["customer"]["organization_name"]),
        ),
        ("dossier-project", text(&intake["project"]["name"])),
        (
            "dossier-category",
            category
                .parse::<ProblemCategory>()
                .map_or(category.clone(), |c| bilingual(&c.label())),
        ),
        (
            "dossier-tier",
            tier.parse::<SeverityTier>()
                .map_or(tier.clone(), |c| bilingual(&c.label())),
        ),
        (
            "dossier-location",
            parts(
                &json_column(&t["location"]),
                &["description", "grid_axes", "member_id"],
            ),
        ),
        (
            "dossier-description",
            parts(
                &json_column(&t["description"]),
                &["phenomenon", "extent", "accompanying_signs"],
            ),
        ),
        (
            "dossier-ending",
            enum_value("CaseEnding", &archive.ending.into()),
        ),
        ("dossier-archived", when(&archived_at)),
        ("dossier-archived-by", archive.archived_by.to_owned()),
        (
            "dossier-previous-sha",
            archive.previous_sha256.unwrap_or_default().to_owned(),
        ),
    ] {
        out.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            esc(&label(key)),
            esc(&value)
        ));
    }
    out.push_str("</table>\n");
}

/// The timeline: the audit trail and each record's time, in order.
fn timeline(out: &mut String, documents: &[archive_documents::Model], files: &[(String, Vec<u8>)]) {
    out.push_str(&format!(
        "<h2>{}</h2><table>{}\n",
        esc(&label("dossier-timeline")),
        header(&["dossier-when", "dossier-what", "dossier-who"])
    ));
    let mut events: Vec<(String, String, String)> = Vec::new();
    if let Some((_, trail)) = docs_of(documents, files, "DOCUMENT_KIND_CLASSIFICATION").next() {
        for e in trail["audit_trail"].as_array().into_iter().flatten() {
            events.push((
                text(&e["created_at"]),
                operation(&text(&e["rpc"])),
                text(&e["subject"]),
            ));
        }
    }
    for d in documents.iter().filter(|d| d.attachment_id.is_none()) {
        if let Some((_, bytes)) = files.iter().find(|(p, _)| p == &d.path)
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
        {
            let at = ["create_time", "sign_time", "open_time", "complete_time"]
                .iter()
                .map(|k| text(&v[*k]))
                .find(|w| !w.is_empty());
            if let Some(at) = at {
                events.push((at, d.title.clone(), String::new()));
            }
        }
    }
    events.sort();
    for (at, what, who) in events {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&when(&serde_json::Value::String(at))),
            esc(&what),
            esc(&who)
        ));
    }
    out.push_str("</table>\n");
}

/// Every measurement of the survey, the key steps, the self-inspection and the acceptance rounds, with its verdict.
fn measurements(
    out: &mut String,
    documents: &[archive_documents::Model],
    files: &[(String, Vec<u8>)],
) {
    out.push_str(&format!(
        "<h2>{}</h2><table>{}\n",
        esc(&label("dossier-measurements")),
        header(&[
            "dossier-source",
            "dossier-member",
            "dossier-location",
            "dossier-readings",
            "dossier-limits",
            "dossier-verdict",
            "dossier-clause",
        ])
    ));
    for (kind, field) in [
        ("DOCUMENT_KIND_SURVEY_REPORT", "measurements"),
        ("DOCUMENT_KIND_KEY_STEP_INSPECTION", "measurements"),
        ("DOCUMENT_KIND_SELF_INSPECTION", "measurements"),
        ("DOCUMENT_KIND_ACCEPTANCE_ROUND", "measurements"),
    ] {
        for (d, v) in docs_of(documents, files, kind) {
            measurement_rows(out, &d.title, &v[field]);
        }
    }
    out.push_str("</table>\n");
}

/// The agreed plan and the agreement.
fn plan_and_agreement(
    out: &mut String,
    documents: &[archive_documents::Model],
    files: &[(String, Vec<u8>)],
) {
    if let Some((_, plan)) = docs_of(documents, files, "DOCUMENT_KIND_REPAIR_PLAN")
        .filter(|(_, v)| v["_status"] == "agreed")
        .last()
    {
        let c = &plan["content"];
        let version = plan["version"].as_i64().unwrap_or(0);
        out.push_str(&format!(
            "<h2>{}</h2>",
            esc(&bilingual(
                &Msg::new("dossier-agreed-plan").with("version", version)
            ))
        ));
        for (key, field) in [
            ("dossier-objective", "objective"),
            ("dossier-scope", "scope"),
            ("dossier-methods", "methods"),
        ] {
            out.push_str(&format!(
                "<p><b>{}:</b> {}</p>",
                esc(&label(key)),
                esc(&text(&c[field]))
            ));
        }
        out.push_str("<ol>\n");
        for step in c["steps"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "<li>{}{} — {}</li>\n",
                esc(&text(&step["step_id"])),
                if step["key_step"].as_bool() == Some(true) {
                    format!(" ({})", esc(&label("dossier-key-step")))
                } else {
                    String::new()
                },
                esc(&text(&step["description"]))
            ));
        }
        out.push_str("</ol>\n");
    }
    if let Some((_, agreement)) = docs_of(documents, files, "DOCUMENT_KIND_AGREEMENT").next() {
        let cost = &agreement["cost"];
        let bearing = bilingual(
            &Msg::new("dossier-cost-bearing")
                .with("customer", money(&cost["customer_pays"]))
                .with("contractor", money(&cost["contractor_bears"])),
        );
        out.push_str(&format!(
            "<h2>{}</h2><p><b>{}:</b> {}</p><p>{}</p><p>{}</p>\n",
            esc(&label("dossier-agreement")),
            esc(&label("dossier-cost")),
            esc(&bearing),
            esc(&text(&cost["reasoning_zh"])),
            esc(&text(&cost["reasoning_en"])),
        ));
    }
}

/// Every signature on every record.
fn signatures(
    out: &mut String,
    documents: &[archive_documents::Model],
    files: &[(String, Vec<u8>)],
) {
    out.push_str(&format!(
        "<h2>{}</h2><table>{}\n",
        esc(&label("dossier-signatures")),
        header(&[
            "dossier-document",
            "dossier-signer",
            "dossier-role",
            "dossier-when",
            "dossier-opinion",
        ])
    ));
    for d in documents.iter().filter(|d| d.attachment_id.is_none()) {
        if let Some((_, bytes)) = files.iter().find(|(p, _)| p == &d.path)
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
        {
            signature_rows(out, &d.title, &v["signatures"]);
            signature_rows(out, &d.title, &v["customer_signature"]);
        }
    }
    out.push_str("</table>\n");
}

/// The photos.
fn photos(out: &mut String, documents: &[archive_documents::Model]) {
    out.push_str(&format!(
        "<h2>{}</h2><div>\n",
        esc(&label("dossier-photos"))
    ));
    for d in documents
        .iter()
        .filter(|d| d.attachment_id.is_some() && d.content_type.starts_with("image/"))
    {
        out.push_str(&format!(
            "<img src=\"{}\" alt=\"{}\" title=\"{}\">\n",
            esc(&d.path),
            esc(&d.title),
            esc(&d.title)
        ));
    }
    out.push_str("</div>\n");
}

/// The contents, with each document's hash.
fn contents(out: &mut String, documents: &[archive_documents::Model]) {
    out.push_str(&format!(
        "<h2>{}</h2><table><tr><th>#</th><th>{}</th><th>{}</th><th>SHA-256</th></tr>\n",
        esc(&label("dossier-contents")),
        esc(&label("dossier-document")),
        esc(&label("dossier-path"))
    ));
    for d in documents {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"small\">{}</td></tr>\n",
            d.sequence,
            esc(&d.title),
            esc(&d.path),
            esc(&d.sha256)
        ));
    }
    out.push_str("</table>");
}
