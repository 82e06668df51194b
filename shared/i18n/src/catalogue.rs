//! The shipped Fluent files, loaded once into one bundle per locale.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use unic_langid::LanguageIdentifier;

use crate::locale::Locale;
use crate::message::{Arg, Msg};

mod sources {
    include!(concat!(env!("OUT_DIR"), "/sources.rs"));
}

/// The English locale's tag: developer messages, and the fallback for a missing text.
const ENGLISH: &str = "en";
/// The chrono pattern of a date and time, per locale (a message of each locale's files).
const DATETIME_FORMAT: &str = "format-datetime";
/// The chrono pattern of a date, per locale.
const DATE_FORMAT: &str = "format-date";
/// What goes between the items of a list, per locale.
const LIST_SEPARATOR: &str = "format-list-separator";
/// What goes between the clauses of a sentence, per locale.
const CLAUSE_SEPARATOR: &str = "format-clause-separator";

/// Every locale's bundle, and what was wrong with the shipped files.
pub struct Catalogue {
    locales: Vec<Shipped>,
    ids: Vec<LanguageIdentifier>,
    english: u8,
    problems: Vec<Problem>,
}

struct Shipped {
    tag: &'static str,
    bundle: FluentBundle<FluentResource>,
    /// Each message id and the variables its text uses.
    variables: BTreeMap<String, BTreeSet<String>>,
}

/// Something wrong with the shipped catalogue (the completeness test lists them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Which locale and file.
    pub locale: String,
    /// What.
    pub what: String,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::load);

/// The shipped catalogue.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

impl Catalogue {
    fn load() -> Catalogue {
        let mut problems = Vec::new();
        let mut locales = Vec::new();
        let mut ids = Vec::new();
        for (tag, files) in sources::SOURCES {
            let Ok(id) = tag.parse::<LanguageIdentifier>() else {
                problems.push(Problem {
                    locale: (*tag).to_owned(),
                    what: "not a BCP 47 language tag".to_owned(),
                });
                continue;
            };
            locales.push(load_locale(tag, id.clone(), files, &mut problems));
            ids.push(id);
        }
        let english = locales
            .iter()
            .position(|l| l.tag == ENGLISH)
            .and_then(|i| u8::try_from(i).ok())
            .unwrap_or(0);
        let mut catalogue = Catalogue {
            locales,
            ids,
            english,
            problems,
        };
        catalogue.compare_locales();
        catalogue
    }

    /// Every key in one locale and not another, and every key whose variables differ.
    fn compare_locales(&mut self) {
        let Some(reference) = self.locales.get(usize::from(self.english)) else {
            self.problems.push(Problem {
                locale: ENGLISH.to_owned(),
                what: "the English locale is not shipped".to_owned(),
            });
            return;
        };
        let mut found = Vec::new();
        for other in &self.locales {
            if other.tag == reference.tag {
                continue;
            }
            for (key, vars) in &reference.variables {
                match other.variables.get(key) {
                    None => found.push(Problem {
                        locale: other.tag.to_owned(),
                        what: format!("{key} is missing (it is in {})", reference.tag),
                    }),
                    Some(theirs) if theirs != vars => found.push(Problem {
                        locale: other.tag.to_owned(),
                        what: format!("{key} uses {theirs:?}, {} uses {vars:?}", reference.tag),
                    }),
                    Some(_) => {}
                }
            }
            for key in other.variables.keys() {
                if !reference.variables.contains_key(key) {
                    found.push(Problem {
                        locale: reference.tag.to_owned(),
                        what: format!("{key} is missing (it is in {})", other.tag),
                    });
                }
            }
        }
        self.problems.extend(found);
    }

    /// What is wrong with the shipped files: parse errors, duplicates, keys in one locale and
    /// not another, placeholders that differ. Empty when the catalogue is whole.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Whether every locale has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.locales.iter().all(|l| l.variables.contains_key(key))
    }

    /// `msg` in `locale`; a text missing there comes from English, and a key missing
    /// everywhere is returned as itself (the completeness test keeps that from shipping).
    pub fn render(&self, locale: Locale, msg: &Msg) -> String {
        let primary = self.locales.get(usize::from(locale.0));
        let english = self.locales.get(usize::from(self.english));
        for (shipped, used) in [(primary, locale), (english, Locale(self.english))] {
            let Some(shipped) = shipped else { continue };
            let Some(pattern) = shipped.bundle.get_message(&msg.key).and_then(|m| m.value()) else {
                continue;
            };
            let args = self.args(used, msg);
            let mut errors = Vec::new();
            return shipped
                .bundle
                .format_pattern(pattern, Some(&args), &mut errors)
                .into_owned();
        }
        msg.key.to_string()
    }

    fn args<'a>(&self, locale: Locale, msg: &'a Msg) -> FluentArgs<'a> {
        let mut args = FluentArgs::with_capacity(msg.args.len());
        for (name, arg) in &msg.args {
            let value = match arg {
                Arg::Text(text) => FluentValue::from(text.as_str()),
                Arg::Int(n) => FluentValue::from(*n),
                Arg::Number(n) => FluentValue::from(*n),
                Arg::Msg(inner) => FluentValue::from(self.render(locale, inner)),
                Arg::Time { at, tz } => {
                    let zone = tz.parse().unwrap_or_else(|_| crate::time_zone());
                    let pattern = self.render(locale, &Msg::new(DATETIME_FORMAT));
                    FluentValue::from(at.with_timezone(&zone).format(&pattern).to_string())
                }
                Arg::List(items) | Arg::Clauses(items) => {
                    let separator = match arg {
                        Arg::List(_) => LIST_SEPARATOR,
                        _ => CLAUSE_SEPARATOR,
                    };
                    let separator = self.render(locale, &Msg::new(separator));
                    let texts: Vec<String> =
                        items.iter().map(|item| self.render(locale, item)).collect();
                    FluentValue::from(texts.join(&separator))
                }
                Arg::Date(date) => {
                    let pattern = self.render(locale, &Msg::new(DATE_FORMAT));
                    FluentValue::from(date.format(&pattern).to_string())
                }
                Arg::Written(versions) => {
                    let tag = self.tag(locale);
                    versions
                        .iter()
                        .find(|(t, _)| t == tag)
                        .or_else(|| versions.first())
                        .map_or_else(
                            || FluentValue::from(""),
                            |(_, text)| FluentValue::from(text.as_str()),
                        )
                }
            };
            args.set(name.as_ref(), value);
        }
        args
    }

    pub(crate) fn english(&self) -> Locale {
        Locale(self.english)
    }

    pub(crate) fn tag(&self, locale: Locale) -> &'static str {
        self.locales
            .get(usize::from(locale.0))
            .map_or(ENGLISH, |l| l.tag)
    }

    pub(crate) fn ids(&self) -> &[LanguageIdentifier] {
        &self.ids
    }

    pub(crate) fn len(&self) -> usize {
        self.locales.len()
    }
}

fn load_locale(
    tag: &'static str,
    id: LanguageIdentifier,
    files: &[(&str, &'static str)],
    problems: &mut Vec<Problem>,
) -> Shipped {
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    let mut variables = BTreeMap::new();
    for (name, text) in files {
        let problem = |what: String| Problem {
            locale: format!("{tag}/{name}"),
            what,
        };
        let resource = match FluentResource::try_new((*text).to_owned()) {
            Ok(resource) => resource,
            Err((resource, errors)) => {
                for err in errors {
                    problems.push(problem(format!("does not parse: {err:?}")));
                }
                resource
            }
        };
        for entry in resource.entries() {
            if let ast::Entry::Message(message) = entry {
                let mut used = BTreeSet::new();
                if let Some(pattern) = &message.value {
                    pattern_variables(pattern, &mut used);
                } else {
                    problems.push(problem(format!("{} has no text", message.id.name)));
                }
                if variables.insert(message.id.name.to_owned(), used).is_some() {
                    problems.push(problem(format!("{} is defined twice", message.id.name)));
                }
            }
        }
        if let Err(errors) = bundle.add_resource(resource) {
            for err in errors {
                problems.push(problem(format!("{err:?}")));
            }
        }
    }
    Shipped {
        tag,
        bundle,
        variables,
    }
}

fn pattern_variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_variables(expression, out);
        }
    }
}

fn expression_variables(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Inline(inline) => inline_variables(inline, out),
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, out);
            for variant in variants {
                pattern_variables(&variant.value, out);
            }
        }
    }
}

fn inline_variables(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_owned());
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for arg in &arguments.positional {
                inline_variables(arg, out);
            }
        }
        _ => {}
    }
}
