//! `dossier.html`: one page a person can print, with Chinese and English labels — the case
//! summary, the timeline, measurements with their verdicts, the agreed plan, the agreement,
//! every signature, the photos, and the list of documents with their SHA-256. It reads only
//! the archived documents, so it shows what the archive holds.

use chrono::{DateTime, Utc};
use steelcare_store::entity::archive_documents;

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
            "✔ 合格 / pass"
        } else {
            "✘ 不合格 / fail"
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
            verdict,
            esc(&text(&j["source"])),
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
            esc(&text(&s["role"])),
            esc(&text(&s["signed_time"])),
            esc(&format!(
                "{}{}",
                if s["dissent"].as_bool() == Some(true) {
                    "异议 / dissent: "
                } else {
                    ""
                },
                text(&s["opinion"])
            )),
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
    out.push_str(&format!(
        "<title>{} 案件档案 / Case dossier</title>",
        esc(archive.archive_number)
    ));
    out.push_str("<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top}th{background:#eee;text-align:left}.small{font-size:.8em}img{max-width:45%;margin:.3em;border:1px solid #ccc}@media print{h2{page-break-after:avoid}}</style></head><body>\n");
    out.push_str(&format!(
        "<h1>案件档案 / Case dossier {}</h1>\n",
        esc(archive.archive_number)
    ));
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
    out.push_str("<h2>概况 / Summary</h2><table>\n");
    for (label, value) in [
        (
            "受理编号 / Acceptance number",
            text(&t["acceptance_number"]),
        ),
        ("工单 / Ticket", archive.ticket_id.to_owned()),
        (
            "客户 / Customer",
            text(&intake["customer"]["organization_name"]),
        ),
        ("项目 / Project", text(&intake["project"]["name"])),
        ("类别 / Category", text(&t["category"])),
        ("等级 / Tier", text(&t["tier"])),
        ("部位 / Location", text(&t["location"])),
        ("问题描述 / Description", text(&t["description"])),
        ("结案方式 / Ending", archive.ending.to_owned()),
        ("归档时间 / Archived", archive.archived_at.to_rfc3339()),
        ("归档人 / Archived by", archive.archived_by.to_owned()),
        (
            "上一档案清单哈希 / Previous archive's manifest SHA-256",
            archive.previous_sha256.unwrap_or_default().to_owned(),
        ),
    ] {
        out.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            esc(label),
            esc(&value)
        ));
    }
    out.push_str("</table>\n");
}

/// The timeline: the audit trail and each record's time, in order.
fn timeline(out: &mut String, documents: &[archive_documents::Model], files: &[(String, Vec<u8>)]) {
    out.push_str("<h2>时间线 / Timeline</h2><table><tr><th>时间 / When</th><th>操作 / What</th><th>操作人 / Who</th></tr>\n");
    let mut events: Vec<(String, String, String)> = Vec::new();
    if let Some((_, trail)) = docs_of(documents, files, "DOCUMENT_KIND_CLASSIFICATION").next() {
        for e in trail["audit_trail"].as_array().into_iter().flatten() {
            events.push((text(&e["created_at"]), text(&e["rpc"]), text(&e["subject"])));
        }
    }
    for d in documents.iter().filter(|d| d.attachment_id.is_none()) {
        if let Some((_, bytes)) = files.iter().find(|(p, _)| p == &d.path)
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
        {
            let when = ["create_time", "sign_time", "open_time", "complete_time"]
                .iter()
                .map(|k| text(&v[*k]))
                .find(|w| !w.is_empty());
            if let Some(when) = when {
                events.push((when, d.title.clone(), String::new()));
            }
        }
    }
    events.sort();
    for (when, what, who) in events {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&when),
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
    out.push_str("<h2>测量与判定 / Measurements and verdicts</h2><table><tr><th>来源 / Record</th><th>构件 / Member</th><th>位置 / Location</th><th>读数 / Readings</th><th>允许范围 / Limits</th><th>判定 / Verdict</th><th>依据 / Clause</th></tr>\n");
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
        out.push_str(&format!(
            "<h2>维修方案 / Agreed plan (v{})</h2><p><b>目标 / Objective:</b> {}</p><p><b>范围 / Scope:</b> {}</p><p><b>方法 / Methods:</b> {}</p><ol>\n",
            esc(&text(&plan["version"])),
            esc(&text(&c["objective"])),
            esc(&text(&c["scope"])),
            esc(&text(&c["methods"])),
        ));
        for step in c["steps"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "<li>{}{} — {}</li>\n",
                esc(&text(&step["step_id"])),
                if step["key_step"].as_bool() == Some(true) {
                    " (关键工序 / key step)"
                } else {
                    ""
                },
                esc(&text(&step["description"]))
            ));
        }
        out.push_str("</ol>\n");
    }
    if let Some((_, agreement)) = docs_of(documents, files, "DOCUMENT_KIND_AGREEMENT").next() {
        let cost = &agreement["cost"];
        out.push_str(&format!(
            "<h2>处理协议 / Agreement</h2><p><b>费用承担 / Cost:</b> {} / {}</p><p>{}</p><p>{}</p>\n",
            esc(&text(&cost["customer_pays"]["amount_minor"])),
            esc(&text(&cost["contractor_bears"]["amount_minor"])),
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
    out.push_str("<h2>签字 / Signatures</h2><table><tr><th>文件 / Record</th><th>签字人 / Signer</th><th>身份 / Role</th><th>时间 / When</th><th>意见 / Opinion</th></tr>\n");
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
    out.push_str("<h2>照片 / Photos</h2><div>\n");
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
    out.push_str("<h2>目录 / Contents</h2><table><tr><th>#</th><th>文件 / Document</th><th>路径 / Path</th><th>SHA-256</th></tr>\n");
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
