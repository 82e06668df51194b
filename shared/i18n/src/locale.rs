//! Which of the shipped locales a reader gets.

use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use unic_langid::LanguageIdentifier;

use crate::catalogue::catalogue;

/// One of the shipped locales (an index into the catalogue; cheap to copy).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Locale(pub(crate) u8);

impl Locale {
    /// The locale of developer messages (a status's message, logs): English, always shipped.
    pub fn english() -> Locale {
        catalogue().english()
    }

    /// Chinese (zh-CN): the language of the API's `*_zh` fields and the usual default.
    pub fn chinese() -> Locale {
        Locale::parse("zh-CN").unwrap_or_else(Locale::english)
    }

    /// The shipped locale `tag` names (`zh-CN`, `zh`, `en-GB` → `en`), if any.
    pub fn parse(tag: &str) -> Option<Locale> {
        let id: LanguageIdentifier = tag.trim().parse().ok()?;
        best(&[id])
    }

    /// The best shipped locale for an `accept-language` value (`zh-CN,zh;q=0.9,en;q=0.8`):
    /// the first the reader accepts, by their weights; `None` when they accept none of ours.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        best(&accepted(accept_language))
    }

    /// Its BCP 47 tag as shipped (`zh-CN`).
    pub fn tag(self) -> &'static str {
        catalogue().tag(self)
    }

    /// Every shipped locale.
    pub fn all() -> impl Iterator<Item = Locale> {
        (0..catalogue().len()).filter_map(|i| u8::try_from(i).ok().map(Locale))
    }
}

/// A tag naming none of the shipped locales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLocale(pub String);

impl std::fmt::Display for UnknownLocale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shipped: Vec<&str> = Locale::all().map(Locale::tag).collect();
        write!(
            f,
            "{:?} is not a shipped locale ({})",
            self.0,
            shipped.join(", ")
        )
    }
}

impl std::error::Error for UnknownLocale {}

/// [`Locale::parse`], refusing with the shipped tags named (settings, the command line).
impl std::str::FromStr for Locale {
    type Err = UnknownLocale;

    fn from_str(tag: &str) -> Result<Self, Self::Err> {
        Locale::parse(tag).ok_or_else(|| UnknownLocale(tag.to_owned()))
    }
}

impl std::fmt::Debug for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// The tags of an `accept-language` value, most wanted first (by `q`, then by order; `q=0`
/// and tags that do not parse are dropped). Fluent's own parser ignores the weights.
fn accepted(header: &str) -> Vec<LanguageIdentifier> {
    let mut weighted: Vec<(f32, LanguageIdentifier)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let id = tag.parse().ok()?;
            (q > 0.0 && tag != "*").then_some((q, id))
        })
        .collect();
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0));
    weighted.into_iter().map(|(_, id)| id).collect()
}

fn best(requested: &[LanguageIdentifier]) -> Option<Locale> {
    if requested.is_empty() {
        return None;
    }
    let catalogue = catalogue();
    let available = catalogue.ids();
    let chosen = negotiate_languages(requested, available, None, NegotiationStrategy::Lookup);
    let first = chosen.first()?;
    let index = available.iter().position(|a| a == *first)?;
    u8::try_from(index).ok().map(Locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(header: &str) -> Option<&'static str> {
        Locale::negotiate(header).map(Locale::tag)
    }

    #[test]
    fn a_browser_header_picks_the_first_shipped_locale_by_weight() {
        assert_eq!(tag("zh-CN,zh;q=0.9,en;q=0.8"), Some("zh-CN"));
        assert_eq!(tag("en-US,en;q=0.9"), Some("en"));
        assert_eq!(tag("fr-FR, en;q=0.5"), Some("en"));
        assert_eq!(tag("en;q=0.2, zh;q=0.8"), Some("zh-CN"));
        assert_eq!(tag("zh;q=0, en"), Some("en"));
        assert_eq!(tag("*"), None);
    }

    #[test]
    fn chinese_variants_read_chinese() {
        for header in ["zh", "zh-Hans", "zh-Hans-CN", "zh-TW", "zh-HK", "zh-SG"] {
            assert_eq!(tag(header), Some("zh-CN"), "{header}");
        }
    }

    #[test]
    fn a_language_we_do_not_ship_or_garbage_is_none() {
        assert_eq!(tag("fr-FR"), None);
        assert_eq!(tag(""), None);
        assert_eq!(tag("!!!"), None);
        assert_eq!(Locale::parse("de"), None);
        assert_eq!(Locale::parse("en-GB").map(Locale::tag), Some("en"));
    }
}
