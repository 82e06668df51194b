//! Who a recipient is: a person of the directory (by their subject: the technician id of a
//! technician, else the login; they have the console) or a customer contact not in it
//! (`contact:<phone>` or `contact:<e-mail>`), with their addresses, language and
//! preferences, and when quiet hours let a message go.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use steelcare_domain::Role;
use steelcare_i18n::Locale;
use steelcare_runtime::ApiError;
use steelcare_runtime::settings::parse_hhmm;
use steelcare_store::entity::{notify_preferences, people, technicians};

use crate::channels::Kind;
use crate::engine::db_err;

/// Someone a message can be for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The subject of a person, or `contact:…`.
    pub key: String,
    /// Whether they have the console (people of the directory, technicians).
    pub console: bool,
    /// Their language as the directory knows it.
    pub locale: Option<Locale>,
    /// Their e-mail address; empty when unknown.
    pub email: String,
    /// Their phone number; empty when unknown.
    pub phone: String,
}

/// A recipient's stored preferences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// The channels they chose beyond the console; empty: the defaults.
    pub channels: Vec<Kind>,
    /// The language they chose.
    pub locale: Option<Locale>,
    /// Quiet hours, local (start, end).
    pub quiet: Option<(NaiveTime, NaiveTime)>,
    /// Withhold everything the contract does not require.
    pub opted_out: bool,
}

impl Preferences {
    /// Read from a stored row.
    pub fn from_row(row: &notify_preferences::Model) -> Preferences {
        let names: Vec<String> = serde_json::from_str(&row.channels).unwrap_or_default();
        let quiet = match (&row.quiet_start, &row.quiet_end) {
            (Some(start), Some(end)) => parse_hhmm(start).zip(parse_hhmm(end)),
            _ => None,
        };
        Preferences {
            channels: names.iter().filter_map(|n| Kind::parse(n)).collect(),
            locale: row.locale.as_deref().and_then(Locale::parse),
            quiet,
            opted_out: row.opted_out,
        }
    }
}

/// The subject a person's tokens carry.
fn subject_of(row: &people::Model) -> String {
    row.technician_id
        .clone()
        .unwrap_or_else(|| row.login.clone())
}

fn of_person(row: &people::Model) -> Recipient {
    Recipient {
        key: subject_of(row),
        console: true,
        locale: row.locale.as_deref().and_then(Locale::parse),
        email: row.email.trim().to_owned(),
        phone: row.phone.trim().to_owned(),
    }
}

/// The enabled people of the directory.
pub async fn enabled_people(conn: &impl ConnectionTrait) -> Result<Vec<people::Model>, ApiError> {
    people::Entity::find()
        .filter(people::Column::Enabled.eq(true))
        .all(conn)
        .await
        .map_err(db_err)
}

/// Those of `people` holding any of `roles`.
pub fn holding(people: &[people::Model], roles: &[Role]) -> Vec<Recipient> {
    people
        .iter()
        .filter(|row| {
            row.roles
                .split(',')
                .filter_map(|r| r.parse::<Role>().ok())
                .any(|r| roles.contains(&r))
        })
        .map(of_person)
        .collect()
}

/// The enabled people with these subjects (technician ids or logins); a subject nobody
/// holds is a console-only recipient (a technician signing in with a token of its own).
pub async fn by_subjects(
    conn: &impl ConnectionTrait,
    subjects: &[String],
) -> Result<Vec<Recipient>, ApiError> {
    let rows = people_of(conn, subjects).await?;
    Ok(subjects
        .iter()
        .filter_map(|subject| as_subject(&rows, subject))
        .collect())
}

/// The people of the directory who may be `subjects`.
async fn people_of(
    conn: &impl ConnectionTrait,
    subjects: &[String],
) -> Result<Vec<people::Model>, ApiError> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    people::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(people::Column::Login.is_in(subjects.to_vec()))
                .add(people::Column::TechnicianId.is_in(subjects.to_vec())),
        )
        .all(conn)
        .await
        .map_err(db_err)
}

/// `subject` among `rows`: the person when enabled, nobody when disabled, a console-only
/// recipient when nobody holds it.
fn as_subject(rows: &[people::Model], subject: &str) -> Option<Recipient> {
    match rows
        .iter()
        .find(|r| subject_of(r) == subject || r.login == subject)
    {
        Some(row) if row.enabled => Some(of_person(row)),
        Some(_) => None,
        None => Some(Recipient {
            key: subject.to_owned(),
            console: true,
            locale: None,
            email: String::new(),
            phone: String::new(),
        }),
    }
}

/// Technicians by id: the person of the directory linked to each, else their register
/// entry's contact (the console is theirs either way: they sign in as the technician id); two
/// reads however many, and an id that names nobody is left out.
pub async fn technicians(
    conn: &impl ConnectionTrait,
    technician_ids: &[String],
) -> Result<HashMap<String, Recipient>, ApiError> {
    let rows = people_of(conn, technician_ids).await?;
    let mut found = HashMap::new();
    let mut unreachable = Vec::new();
    for id in technician_ids {
        match as_subject(&rows, id).filter(|r| !r.email.is_empty() || !r.phone.is_empty()) {
            Some(person) => {
                found.insert(id.clone(), person);
            }
            None => unreachable.push(id.clone()),
        }
    }
    if unreachable.is_empty() {
        return Ok(found);
    }
    let registered = technicians::Entity::find()
        .filter(technicians::Column::Id.is_in(unreachable))
        .all(conn)
        .await
        .map_err(db_err)?;
    for row in registered {
        let person: serde_json::Value = serde_json::from_str(&row.person).unwrap_or_default();
        let field = |name: &str| text_of(&person, name);
        let contact = Recipient {
            key: row.id.clone(),
            console: true,
            locale: None,
            email: field("email"),
            phone: field("phone"),
        };
        found.insert(row.id, contact);
    }
    Ok(found)
}

/// The text of a stored person reference's field `name`, trimmed; empty when absent.
fn text_of(person: &serde_json::Value, name: &str) -> String {
    person
        .get(name)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The customer contact a ticket names (its reporter, stored as a person reference): the
/// person of the directory when they are one, else `contact:<phone>` (or e-mail).
pub async fn contact(
    conn: &impl ConnectionTrait,
    reporter_json: &str,
) -> Result<Option<Recipient>, ApiError> {
    let reporter: serde_json::Value = serde_json::from_str(reporter_json).unwrap_or_default();
    let field = |name: &str| text_of(&reporter, name);
    let user = field("user_id");
    if !user.is_empty()
        && let Some(person) = by_subjects(conn, &[user]).await?.into_iter().next()
    {
        return Ok(Some(person));
    }
    let (phone, email) = (field("phone"), field("email"));
    let key = match (phone.is_empty(), email.is_empty()) {
        (false, _) => format!("contact:{phone}"),
        (true, false) => format!("contact:{email}"),
        (true, true) => return Ok(None),
    };
    Ok(Some(Recipient {
        key,
        console: false,
        locale: None,
        email,
        phone,
    }))
}

/// The stored preferences of `keys` (absent ones are the defaults).
pub async fn preferences(
    conn: &impl ConnectionTrait,
    keys: &[String],
) -> Result<HashMap<String, Preferences>, ApiError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = notify_preferences::Entity::find()
        .filter(notify_preferences::Column::Recipient.is_in(keys.to_vec()))
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|row| (row.recipient.clone(), Preferences::from_row(row)))
        .collect())
}

/// The channels a message on a topic goes out on to `recipient`: the console for people; then
/// their chosen channels, or by default e-mail (and SMS when it is urgent, or for a customer
/// contact), each only where an address is known and the deployment has the channel
/// (`has`). An opted-out recipient gets only what the contract requires.
pub fn channels_for(
    recipient: &Recipient,
    prefs: &Preferences,
    urgent: bool,
    required: bool,
    has: impl Fn(Kind) -> bool,
) -> Vec<Kind> {
    let mut out = Vec::new();
    if recipient.console {
        out.push(Kind::Console);
    }
    if prefs.opted_out && !required {
        return out;
    }
    let wanted = if prefs.channels.is_empty() {
        let mut defaults = vec![Kind::Email];
        if urgent || !recipient.console {
            defaults.push(Kind::Sms);
        }
        defaults
    } else {
        prefs.channels.clone()
    };
    for kind in wanted {
        let addressed = match kind {
            Kind::Email => !recipient.email.is_empty(),
            Kind::Sms => !recipient.phone.is_empty(),
            Kind::Console | Kind::Webhook => false,
        };
        if addressed && has(kind) && !out.contains(&kind) {
            out.push(kind);
        }
    }
    out
}

/// When a message may go, given quiet hours (local `start`..`end`, across midnight when the
/// end is earlier): `now` outside them, else the end of the quiet period.
pub fn after_quiet_hours(
    now: DateTime<Utc>,
    tz: Tz,
    quiet: (NaiveTime, NaiveTime),
) -> DateTime<Utc> {
    let (start, end) = quiet;
    if start == end {
        return now;
    }
    let local = now.with_timezone(&tz);
    let (day, time) = (local.date_naive(), local.time());
    let release_day = if start < end {
        if time < start || time >= end {
            return now;
        }
        day
    } else if time >= start {
        day.checked_add_days(Days::new(1)).unwrap_or(day)
    } else if time < end {
        day
    } else {
        return now;
    };
    tz.from_local_datetime(&release_day.and_time(end))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
    }

    fn shanghai(s: &str) -> DateTime<Utc> {
        let tz: Tz = chrono_tz::Asia::Shanghai;
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default();
        tz.from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn quiet_hours_across_midnight_hold_a_message_until_they_end() {
        let tz = chrono_tz::Asia::Shanghai;
        let night = (at(22, 0), at(7, 0));
        assert_eq!(
            after_quiet_hours(shanghai("2026-12-05 23:30"), tz, night),
            shanghai("2026-12-06 07:00")
        );
        assert_eq!(
            after_quiet_hours(shanghai("2026-12-06 03:00"), tz, night),
            shanghai("2026-12-06 07:00")
        );
        let day = shanghai("2026-12-06 07:00");
        assert_eq!(
            after_quiet_hours(day, tz, night),
            day,
            "the end is not quiet"
        );
        let noon = shanghai("2026-12-06 12:00");
        assert_eq!(after_quiet_hours(noon, tz, night), noon);
        let lunch = (at(12, 0), at(13, 30));
        assert_eq!(
            after_quiet_hours(shanghai("2026-12-06 12:10"), tz, lunch),
            shanghai("2026-12-06 13:30")
        );
    }

    fn person(email: &str, phone: &str) -> Recipient {
        Recipient {
            key: "p".into(),
            console: true,
            locale: None,
            email: email.into(),
            phone: phone.into(),
        }
    }

    #[test]
    fn channels_follow_addresses_preferences_urgency_and_opting_out() {
        let all = |_: Kind| true;
        let p = person("a@b.c", "138");
        let defaults = Preferences::default();
        assert_eq!(
            channels_for(&p, &defaults, false, false, all),
            vec![Kind::Console, Kind::Email]
        );
        assert_eq!(
            channels_for(&p, &defaults, true, false, all),
            vec![Kind::Console, Kind::Email, Kind::Sms]
        );
        let no_sms = |k: Kind| k != Kind::Sms;
        assert_eq!(
            channels_for(&p, &defaults, true, false, no_sms),
            vec![Kind::Console, Kind::Email]
        );
        let sms_only = Preferences {
            channels: vec![Kind::Sms],
            ..Preferences::default()
        };
        assert_eq!(
            channels_for(&person("", "138"), &sms_only, false, false, all),
            vec![Kind::Console, Kind::Sms]
        );
        let contact = Recipient {
            console: false,
            ..person("", "138")
        };
        let out = Preferences {
            opted_out: true,
            ..Preferences::default()
        };
        assert_eq!(channels_for(&contact, &out, false, false, all), vec![]);
        assert_eq!(
            channels_for(&contact, &out, false, true, all),
            vec![Kind::Sms],
            "what the contract requires still goes"
        );
    }
}
