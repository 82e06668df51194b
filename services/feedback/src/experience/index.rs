//! The search index's shape: its fields, the analyzer that splits Chinese into words (jieba)
//! and English into stems, and a case as a document and back.

use tantivy::schema::{
    FAST, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer,
};
use tantivy::{Index, TantivyDocument};

/// The version of the index's shape: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// The analyzer of the texts.
pub const ANALYZER: &str = "steelcare_words";

/// The texts of a case that are searched, by field name, in the order a hit shows them.
pub const TEXTS: [&str; 6] = [
    "phenomenon",
    "location",
    "findings",
    "cause",
    "plan",
    "work",
];

/// The fields of the index.
#[derive(Clone, Copy)]
pub struct Fields {
    pub ticket_id: tantivy::schema::Field,
    pub acceptance_number: tantivy::schema::Field,
    pub organization: tantivy::schema::Field,
    pub customer_id: tantivy::schema::Field,
    pub project_id: tantivy::schema::Field,
    pub project_name: tantivy::schema::Field,
    pub structure_type: tantivy::schema::Field,
    pub category: tantivy::schema::Field,
    pub member_type: tantivy::schema::Field,
    pub grid_axes: tantivy::schema::Field,
    pub root_cause: tantivy::schema::Field,
    pub state: tantivy::schema::Field,
    pub outcome: tantivy::schema::Field,
    pub created_ms: tantivy::schema::Field,
    pub recurred: tantivy::schema::Field,
    pub standard: tantivy::schema::Field,
    pub standard_note: tantivy::schema::Field,
    pub fix: tantivy::schema::Field,
    pub cost_currency: tantivy::schema::Field,
    pub cost_minor: tantivy::schema::Field,
    /// The searched texts, in the order of [`TEXTS`].
    pub texts: [tantivy::schema::Field; 6],
}

/// The schema and its fields.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let key = STRING | STORED;
    let texts = TEXTS.map(|name| b.add_text_field(name, words.clone()));
    let fields = Fields {
        ticket_id: b.add_text_field("ticket_id", key.clone()),
        acceptance_number: b.add_text_field("acceptance_number", key.clone()),
        organization: b.add_text_field("organization", STRING),
        customer_id: b.add_text_field("customer_id", key.clone()),
        project_id: b.add_text_field("project_id", key.clone()),
        project_name: b.add_text_field("project_name", STORED),
        structure_type: b.add_text_field("structure_type", key.clone()),
        category: b.add_text_field("category", key.clone()),
        member_type: b.add_text_field("member_type", key.clone()),
        grid_axes: b.add_text_field("grid_axes", key.clone()),
        root_cause: b.add_text_field("root_cause", key.clone()),
        state: b.add_text_field("state", key.clone()),
        outcome: b.add_text_field("outcome", key),
        created_ms: b.add_i64_field("created_ms", INDEXED | FAST | STORED),
        recurred: b.add_u64_field("recurred", INDEXED | STORED),
        standard: b.add_u64_field("standard", INDEXED | STORED),
        standard_note: b.add_text_field("standard_note", STORED),
        fix: b.add_text_field("fix", STORED),
        cost_currency: b.add_text_field("cost_currency", STORED),
        cost_minor: b.add_i64_field("cost_minor", STORED),
        texts,
    };
    (b.build(), fields)
}

/// Registers the analyzer with an index (each time one is opened).
pub fn register(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
}

/// Words: jieba's segmentation (which keeps Latin words whole), without the spaces and
/// punctuation it also answers, lower case, English stems ("bolts" finds "bolt").
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(WordsOnly)
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The words of a text as the index sees them (the terms a query of it looks for).
pub fn words(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out: Vec<String> = Vec::new();
    while stream.advance() {
        let word = &stream.token().text;
        if !out.contains(word) {
            out.push(word.clone());
        }
    }
    out
}

/// Drops the tokens without a letter or digit (the spaces and punctuation jieba answers).
#[derive(Clone, Copy)]
pub struct WordsOnly;

impl TokenFilter for WordsOnly {
    type Tokenizer<T: Tokenizer> = WordsOnlyTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordsOnlyTokenizer<T> {
        WordsOnlyTokenizer(tokenizer)
    }
}

/// [`WordsOnly`] over a tokenizer.
#[derive(Clone)]
pub struct WordsOnlyTokenizer<T>(T);

impl<T: Tokenizer> Tokenizer for WordsOnlyTokenizer<T> {
    type TokenStream<'a> = WordsOnlyStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordsOnlyStream(self.0.token_stream(text))
    }
}

/// The stream of [`WordsOnly`].
pub struct WordsOnlyStream<S>(S);

impl<S: TokenStream> TokenStream for WordsOnlyStream<S> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            if self.0.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// A case as the index holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseDoc {
    pub ticket_id: String,
    pub acceptance_number: String,
    /// The customer organisation whose case it is (empty: none).
    pub organization: String,
    pub customer_id: String,
    pub project_id: String,
    pub project_name: String,
    /// Structure type key (`portal_frame`).
    pub structure_type: String,
    /// Category key (`leakage`).
    pub category: String,
    /// Member type key of the location taxonomy (`gutter`).
    pub member_type: String,
    /// Grid axes as the customer gave them, normalised (upper case, no spaces).
    pub grid_axes: String,
    /// Root cause key (`workmanship`, `undetermined`).
    pub root_cause: String,
    /// Case state (`ARCHIVED`).
    pub state: String,
    /// Outcome key (`open`, `resolved`, `recurred`, `cancelled`).
    pub outcome: String,
    pub created_ms: i64,
    pub recurred: bool,
    pub standard: bool,
    pub standard_note: String,
    /// The latest plan's methods.
    pub fix: String,
    /// The agreed price: currency and minor units (empty currency: none).
    pub cost_currency: String,
    pub cost_minor: i64,
    /// The searched texts, in the order of [`TEXTS`].
    pub texts: [String; 6],
    /// The earlier case this one recurs from, when intake linked them (not indexed).
    pub related_case_id: Option<String>,
}

impl CaseDoc {
    /// The document of the case.
    pub fn to_document(&self, f: &Fields) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        for (field, value) in [
            (f.ticket_id, &self.ticket_id),
            (f.acceptance_number, &self.acceptance_number),
            (f.organization, &self.organization),
            (f.customer_id, &self.customer_id),
            (f.project_id, &self.project_id),
            (f.project_name, &self.project_name),
            (f.structure_type, &self.structure_type),
            (f.category, &self.category),
            (f.member_type, &self.member_type),
            (f.grid_axes, &self.grid_axes),
            (f.root_cause, &self.root_cause),
            (f.state, &self.state),
            (f.outcome, &self.outcome),
            (f.standard_note, &self.standard_note),
            (f.fix, &self.fix),
            (f.cost_currency, &self.cost_currency),
        ] {
            d.add_text(field, value);
        }
        for (field, text) in f.texts.iter().zip(&self.texts) {
            d.add_text(*field, text);
        }
        d.add_i64(f.created_ms, self.created_ms);
        d.add_i64(f.cost_minor, self.cost_minor);
        d.add_u64(f.recurred, u64::from(self.recurred));
        d.add_u64(f.standard, u64::from(self.standard));
        d
    }

    /// The case of a stored document.
    pub fn from_document(d: &TantivyDocument, f: &Fields) -> CaseDoc {
        let text = |field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let int = |field| d.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0);
        let flag = |field| d.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0) == 1;
        CaseDoc {
            ticket_id: text(f.ticket_id),
            acceptance_number: text(f.acceptance_number),
            organization: String::new(),
            customer_id: text(f.customer_id),
            project_id: text(f.project_id),
            project_name: text(f.project_name),
            structure_type: text(f.structure_type),
            category: text(f.category),
            member_type: text(f.member_type),
            grid_axes: text(f.grid_axes),
            root_cause: text(f.root_cause),
            state: text(f.state),
            outcome: text(f.outcome),
            created_ms: int(f.created_ms),
            recurred: flag(f.recurred),
            standard: flag(f.standard),
            standard_note: text(f.standard_note),
            fix: text(f.fix),
            cost_currency: text(f.cost_currency),
            cost_minor: int(f.cost_minor),
            texts: f.texts.map(text),
            related_case_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_split_into_words_and_english_into_stems() {
        let zh = words("天沟接缝处漏水，雨天滴水。");
        assert!(zh.contains(&"天沟".to_owned()), "{zh:?}");
        assert!(zh.contains(&"漏水".to_owned()), "{zh:?}");
        assert!(!zh.iter().any(|w| w == "，" || w == "。"), "{zh:?}");
        let en = words("Loose bolts at the column bases");
        assert!(en.contains(&"bolt".to_owned()), "{en:?}");
        assert!(en.contains(&"loos".to_owned()) || en.contains(&"loose".to_owned()));
        assert!(!en.iter().any(|w| w.trim().is_empty()), "{en:?}");
    }
}
