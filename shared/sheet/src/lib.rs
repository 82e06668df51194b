//! Spreadsheets in and out, for onboarding a contractor's customers, projects and technicians.
//!
//! A sheet is its first worksheet (or a CSV file): a header row, then one row per record (or
//! per item of a record, see [`group`]). Headers are matched to a service's column keys by the
//! key itself (`contract_number`) or by the column's label in any language of the catalogue
//! (`sheet-column-contract_number`: "Contract number", "合同编号"), so that a sheet exported
//! in one language imports in the other. What a row means is the owning service's business;
//! this crate only reads cells as text and writes them back.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::NaiveDate;
use steelcare_i18n::{Locale, Msg, msg};
use steelcare_proto::common::v1::{ImportReport, SheetFile, SheetFormat, SheetProblem};
use steelcare_runtime::{ApiError, FieldViolation};

/// Most data rows a sheet may hold.
pub const MAX_ROWS: usize = 100_000;

/// The two formats read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Office Open XML workbook.
    Xlsx,
    /// Comma-separated values in UTF-8 with a header row.
    Csv,
}

impl Format {
    /// The format of a file's bytes: a zip container is a workbook, anything else is CSV.
    pub fn detect(content: &[u8]) -> Format {
        if content.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }

    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The advisory lock keys that make imports of one kind run one at a time (two imports of the
/// same sheet at once would both find a customer missing and both create it).
pub mod locks {
    /// Customer sheets.
    pub const CUSTOMERS: i64 = 0x5343_5348_0001;
    /// Project sheets.
    pub const PROJECTS: i64 = 0x5343_5348_0002;
    /// Technician sheets.
    pub const TECHNICIANS: i64 = 0x5343_5348_0003;
}

/// The catalogue id of a column's header.
pub fn column_label(key: &str) -> Msg {
    Msg::owned(format!("sheet-column-{key}"))
}

/// A problem of a sheet, at a row (1 is the header row) and, where known, a column.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The spreadsheet row number.
    pub row: usize,
    /// The column's key, when the problem is in one.
    pub column: Option<&'static str>,
    /// The API field the column fills, when the problem came from the API's own check.
    pub field: Option<String>,
    /// What is wrong.
    pub message: Msg,
}

impl Problem {
    /// A problem of a cell.
    pub fn at(row: &Row, column: &'static str, message: Msg) -> Problem {
        Problem {
            row: row.number,
            column: Some(column),
            field: None,
            message,
        }
    }

    /// The API's field violations of a record, each placed at the row and column `locate`
    /// gives for its field path.
    pub fn from_violations(
        violations: Vec<FieldViolation>,
        locate: impl Fn(&str) -> (usize, Option<&'static str>),
    ) -> Vec<Problem> {
        violations
            .into_iter()
            .map(|v| {
                let (row, column) = locate(&v.field);
                Problem {
                    row,
                    column,
                    field: Some(v.field),
                    message: v.description,
                }
            })
            .collect()
    }
}

/// Adds the API's problems of a record to what the sheet itself found, leaving out those of
/// a cell already reported (a number the sheet could not read is also "required" to the API:
/// saying so twice would only repeat it).
pub fn add_api_problems(found: &mut Vec<Problem>, api: Vec<Problem>) {
    let fresh: Vec<Problem> = api
        .into_iter()
        .filter(|p| !found.iter().any(|o| o.row == p.row && o.column == p.column))
        .collect();
    found.extend(fresh);
}

/// What an import writes (`changes`, record by record) and what it reports.
#[derive(Debug)]
pub struct Plan<C> {
    /// The records to create or change.
    pub changes: Vec<C>,
    /// Counts and problems.
    pub outcome: Outcome,
}

impl<C> Default for Plan<C> {
    fn default() -> Self {
        Plan {
            changes: Vec::new(),
            outcome: Outcome::default(),
        }
    }
}

/// What an import did, record by record.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Records created.
    pub created: usize,
    /// Records changed.
    pub updated: usize,
    /// Records that already matched.
    pub unchanged: usize,
    /// Records refused.
    pub refused: usize,
    /// Every problem.
    pub problems: Vec<Problem>,
}

impl Outcome {
    /// Refuses a record for `problems` (a record with none is not refused).
    pub fn refuse(&mut self, problems: Vec<Problem>) {
        if !problems.is_empty() {
            self.refused += 1;
            self.problems.extend(problems);
        }
    }

    /// The report a caller reading `locale` gets, problems by row then column.
    pub fn report(mut self, table: &Table, locale: Locale, validate_only: bool) -> ImportReport {
        let mut problems = std::mem::take(&mut self.problems);
        problems.extend(table.problems.iter().cloned());
        problems.sort_by_key(|p| (p.row, p.column.map(|c| table.cell(p.row, Some(c)))));
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        ImportReport {
            rows: count(table.rows.len()),
            created: count(self.created),
            updated: count(self.updated),
            unchanged: count(self.unchanged),
            refused: count(self.refused),
            problems: problems
                .into_iter()
                .map(|p| SheetProblem {
                    row: count(p.row),
                    cell: table.cell(p.row, p.column),
                    column: p.column.map(|c| table.header(c)).unwrap_or_default(),
                    field: p.field.unwrap_or_default(),
                    message: p.message.render(locale),
                })
                .collect(),
            validate_only,
        }
    }
}

/// A data row: its number in the sheet and its cells by column key.
#[derive(Debug, Clone)]
pub struct Row {
    /// The spreadsheet row number (the header is row 1).
    pub number: usize,
    cells: HashMap<&'static str, String>,
}

impl Row {
    /// The trimmed text of a column ("" when absent or empty).
    pub fn get(&self, key: &str) -> &str {
        self.cells.get(key).map_or("", String::as_str)
    }

    /// A row made of cells, for tests and for callers that build rows themselves.
    pub fn new(number: usize, cells: impl IntoIterator<Item = (&'static str, String)>) -> Row {
        Row {
            number,
            cells: cells.into_iter().collect(),
        }
    }
}

/// A sheet read against a service's columns.
#[derive(Debug, Clone)]
pub struct Table {
    /// Data rows, empty ones left out.
    pub rows: Vec<Row>,
    /// Where each known column was found: key → (letter, header as written).
    pub headers: HashMap<&'static str, (String, String)>,
    /// Problems of the header row (unknown or repeated columns, required ones missing).
    pub problems: Vec<Problem>,
}

impl Table {
    /// The A1 reference of a column on a row ("C7"), or the row alone ("7").
    pub fn cell(&self, row: usize, column: Option<&str>) -> String {
        match column.and_then(|c| self.headers.get(c)) {
            Some((letter, _)) => format!("{letter}{row}"),
            None => row.to_string(),
        }
    }

    /// The header of a column as the sheet writes it (the key when the sheet lacks it).
    pub fn header(&self, column: &str) -> String {
        self.headers
            .get(column)
            .map_or_else(|| column.to_owned(), |(_, h)| h.clone())
    }
}

/// Reads a sheet's first worksheet against `columns`; `required` must all be present.
/// Errors: a file that is neither a workbook nor UTF-8 CSV, or holds more than [`MAX_ROWS`].
pub fn read(
    content: &[u8],
    columns: &[&'static str],
    required: &[&'static str],
) -> Result<Table, Msg> {
    if content.starts_with(b"\xD0\xCF\x11\xE0") {
        // The binary workbook of Excel 97–2003.
        return Err(msg!("sheet-old-xls"));
    }
    let grid = match Format::detect(content) {
        Format::Xlsx => read_xlsx(content)?,
        Format::Csv => read_csv(content)?,
    };
    let mut lines = grid.into_iter();
    let Some((header_row, header)) = lines.next() else {
        return Err(msg!("sheet-empty"));
    };
    let (index, headers, problems) = match_headers(header_row, &header, columns, required);
    let mut rows = Vec::new();
    for (number, cells) in lines {
        let cells: HashMap<&'static str, String> = index
            .iter()
            .filter_map(|(i, key)| {
                let text = cells.get(*i).map(|c| c.trim()).unwrap_or("");
                (!text.is_empty()).then(|| (*key, text.to_owned()))
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(msg!("sheet-too-many-rows", max = MAX_ROWS));
        }
        rows.push(Row { number, cells });
    }
    Ok(Table {
        rows,
        headers,
        problems,
    })
}

type Grid = Vec<(usize, Vec<String>)>;

/// Column `i` (0-based) as a spreadsheet letter: 0 → A, 27 → AB.
fn letter(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Lower-case, without spaces, underscores or hyphens: "Contract No." ≈ "contract_no.".
fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

type HeaderMatch = (
    Vec<(usize, &'static str)>,
    HashMap<&'static str, (String, String)>,
    Vec<Problem>,
);

fn match_headers(
    row: usize,
    header: &[String],
    columns: &[&'static str],
    required: &[&'static str],
) -> HeaderMatch {
    let names: Vec<(&'static str, Vec<String>)> = columns
        .iter()
        .map(|key| {
            let mut known = vec![fold(key)];
            known.extend(Locale::all().map(|l| fold(&column_label(key).render(l))));
            (*key, known)
        })
        .collect();
    let mut index = Vec::new();
    let mut found: HashMap<&'static str, (String, String)> = HashMap::new();
    let mut problems = Vec::new();
    for (i, written) in header.iter().enumerate() {
        let written = written.trim();
        if written.is_empty() {
            continue;
        }
        let folded = fold(written);
        let Some((key, _)) = names.iter().find(|(_, known)| known.contains(&folded)) else {
            problems.push(Problem {
                row,
                column: None,
                field: None,
                message: msg!("sheet-unknown-column", column = written.to_owned()),
            });
            continue;
        };
        if let Some((first, _)) = found.get(key) {
            problems.push(Problem {
                row,
                column: Some(key),
                field: None,
                message: msg!(
                    "sheet-column-twice",
                    column = written.to_owned(),
                    first = first.clone()
                ),
            });
            continue;
        }
        found.insert(key, (letter(i), written.to_owned()));
        index.push((i, *key));
    }
    for key in required {
        if !found.contains_key(key) {
            problems.push(Problem {
                row,
                column: None,
                field: None,
                message: msg!("sheet-missing-column", column = column_label(key)),
            });
        }
    }
    (index, found, problems)
}

fn read_csv(content: &[u8]) -> Result<Grid, Msg> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    if std::str::from_utf8(content).is_err() {
        // Excel on Chinese Windows saves "CSV" in GBK: ask for the UTF-8 kind.
        return Err(msg!("sheet-not-utf8"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(content);
    let mut grid = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| {
            let line = err.position().map_or(0, |p| p.line());
            msg!("sheet-unreadable-csv", line = line)
        })?;
        let line = record
            .position()
            .map_or(grid.len() + 1, |p| p.line() as usize);
        grid.push((line, record.iter().map(str::to_owned).collect()));
        if grid.len() > MAX_ROWS + 1 {
            return Err(msg!("sheet-too-many-rows", max = MAX_ROWS));
        }
    }
    Ok(grid)
}

fn read_xlsx(content: &[u8]) -> Result<Grid, Msg> {
    let mut book: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(content)).map_err(|_| msg!("sheet-unreadable-xlsx"))?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(_)) => return Err(msg!("sheet-unreadable-xlsx")),
        None => return Err(msg!("sheet-empty")),
    };
    if range.height() > MAX_ROWS + 1 {
        return Err(msg!("sheet-too-many-rows", max = MAX_ROWS));
    }
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let pad = first_col as usize;
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut texts = vec![String::new(); pad];
            texts.extend(cells.iter().map(cell_text));
            (first_row as usize + i + 1, texts)
        })
        .collect())
}

/// A cell as text: whole numbers without ".0" (phone numbers typed as numbers), dates as
/// YYYY-MM-DD, errors as nothing.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.date().to_string(),
            Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => d.as_f64().to_string(),
        },
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// A date as people write it in a sheet: 2024-05-01, 2024/5/1, 2024.5.1 or 2024年5月1日.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = text
        .trim()
        .trim_end_matches('日')
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let [y, m, d] = parts[..] else {
        return None;
    };
    NaiveDate::from_ymd_opt(
        y.trim().parse().ok()?,
        m.trim().parse().ok()?,
        d.trim().parse().ok()?,
    )
}

/// A number cell (the type's default when empty); a problem when it is not one.
pub fn number<T: std::str::FromStr + Default>(
    row: &Row,
    column: &'static str,
    out: &mut Vec<Problem>,
) -> T {
    let text = row.get(column);
    if text.is_empty() {
        return T::default();
    }
    text.parse().unwrap_or_else(|_| {
        out.push(Problem::at(row, column, msg!("sheet-not-a-number")));
        T::default()
    })
}

/// A date cell, when given; a problem when it is not a date.
pub fn date(row: &Row, column: &'static str, out: &mut Vec<Problem>) -> Option<NaiveDate> {
    let text = row.get(column);
    if text.is_empty() {
        return None;
    }
    let parsed = parse_date(text);
    if parsed.is_none() {
        out.push(Problem::at(row, column, msg!("sheet-not-a-date")));
    }
    parsed
}

/// Two cells that go together (a latitude and its longitude): one without the other is a
/// problem at the empty one.
pub fn both_or_neither(
    row: &Row,
    (first, has_first): (&'static str, bool),
    (second, has_second): (&'static str, bool),
    out: &mut Vec<Problem>,
) {
    if has_first != has_second {
        let missing = if has_first { second } else { first };
        out.push(Problem::at(row, missing, msg!("field-required")));
    }
}

/// A list in one cell, split at commas, semicolons, 、 and line breaks (ASCII or full width).
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', ';', '，', '；', '、', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The value of a protobuf enum written in a cell: its short name (`portal_frame`), its full
/// name, or its label in any language; `name_of` gives the protobuf name of each value.
pub fn enum_value(
    text: &str,
    enum_name: &str,
    name_of: impl Fn(i32) -> Option<&'static str>,
) -> Option<i32> {
    let wanted = fold(text);
    (1..128).find(|n| {
        name_of(*n).is_some_and(|full| {
            let id = steelcare_i18n::enum_label_id(enum_name, full);
            let short = id.rsplit('-').next().unwrap_or(full);
            fold(full) == wanted
                || fold(short) == wanted
                || Locale::all().any(|l| fold(&Msg::owned(id.clone()).render(l)) == wanted)
        })
    })
}

/// The label of an enum value in `locale`, as written on export.
pub fn enum_text(enum_name: &str, full_name: &str, locale: Locale) -> String {
    steelcare_i18n::enum_label(enum_name, full_name).render(locale)
}

/// Rows that describe one record: the rows sharing a key, in sheet order. Rows without the key
/// are returned apart, for the caller to report.
pub fn group<'a>(rows: &'a [Row], key: &str) -> (Vec<(String, Vec<&'a Row>)>, Vec<&'a Row>) {
    let mut order: Vec<(String, Vec<&Row>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut keyless = Vec::new();
    for row in rows {
        let k = row.get(key);
        if k.is_empty() {
            keyless.push(row);
            continue;
        }
        match at.get(k) {
            Some(&i) => order[i].1.push(row),
            None => {
                at.insert(k.to_owned(), order.len());
                order.push((k.to_owned(), vec![row]));
            }
        }
    }
    (order, keyless)
}

/// The rows of a group whose `columns` disagree with the group's first row (an empty cell
/// agrees: merged cells read empty below their first row).
pub fn disagreements(rows: &[&Row], columns: &[&'static str]) -> Vec<Problem> {
    let Some((first, rest)) = rows.split_first() else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for row in rest {
        for column in columns {
            let text = row.get(column);
            if !text.is_empty() && text != first.get(column) {
                problems.push(Problem::at(
                    row,
                    column,
                    msg!("sheet-differs-from-row", row = first.number),
                ));
            }
        }
    }
    problems
}

/// Reads an uploaded sheet; an unreadable file is INVALID_ARGUMENT at `sheet.content`.
pub fn read_upload(
    content: &[u8],
    columns: &[&'static str],
    required: &[&'static str],
) -> Result<Table, ApiError> {
    if content.is_empty() {
        return Err(ApiError::invalid("sheet.content", msg!("sheet-no-file")));
    }
    read(content, columns, required).map_err(|m| ApiError::invalid("sheet.content", m))
}

/// The format an export request asks for (.xlsx unless .csv is asked).
pub fn export_format(asked: i32) -> Format {
    if asked == SheetFormat::Csv as i32 {
        Format::Csv
    } else {
        Format::Xlsx
    }
}

/// An exported sheet named `<stem>-<day>.<ext>`.
pub fn export(
    format: Format,
    stem: &str,
    day: NaiveDate,
    columns: &[&'static str],
    locale: Locale,
    rows: &[Vec<Cell>],
) -> Result<SheetFile, ApiError> {
    let content = write(format, columns, locale, rows).map_err(ApiError::Internal)?;
    Ok(SheetFile {
        content,
        file_name: format!("{stem}-{day}.{}", format.extension()),
        media_type: format.media_type().to_owned(),
    })
}

/// The row and column of a field path of a record made of `rows`: each item of the list
/// `list` (e.g. `contacts`) is one row, so `contacts[2].phone` is on the third row; any other
/// field is on the first. `columns` maps a field path without its indexes
/// (`contacts[].phone`) to its column.
pub fn locate(
    rows: &[&Row],
    list: &str,
    columns: &[(&str, &'static str)],
    field: &str,
) -> (usize, Option<&'static str>) {
    let mut row = rows.first().map_or(1, |r| r.number);
    if let Some(rest) = field.strip_prefix(list).and_then(|r| r.strip_prefix('['))
        && let Some((index, _)) = rest.split_once(']')
        && let Some(item) = index.parse::<usize>().ok().and_then(|i| rows.get(i))
    {
        row = item.number;
    }
    let mut generic = String::with_capacity(field.len());
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                generic.push('[');
            }
            ']' => {
                in_index = false;
                generic.push(']');
            }
            _ if in_index => {}
            c => generic.push(c),
        }
    }
    let column = columns.iter().find(|(f, _)| *f == generic).map(|(_, c)| *c);
    (row, column)
}

/// A cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A calendar date.
    Date(NaiveDate),
    /// Nothing.
    Empty,
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        if text.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text.to_owned())
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::from(text.as_str())
    }
}

/// Writes a header row and rows. The header is each column's label in `locale`.
pub fn write(
    format: Format,
    columns: &[&'static str],
    locale: Locale,
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, String> {
    let header: Vec<String> = columns
        .iter()
        .map(|c| column_label(c).render(locale))
        .collect();
    match format {
        Format::Csv => write_csv(&header, rows),
        Format::Xlsx => write_xlsx(&header, rows),
    }
}

fn write_csv(header: &[String], rows: &[Vec<Cell>]) -> Result<Vec<u8>, String> {
    // The byte-order mark makes Excel read the file as UTF-8 (Chinese stays Chinese).
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(header).map_err(|e| e.to_string())?;
        for row in rows {
            writer
                .write_record(row.iter().map(|cell| match cell {
                    Cell::Text(t) => t.clone(),
                    Cell::Number(n) => n.to_string(),
                    Cell::Date(d) => d.to_string(),
                    Cell::Empty => String::new(),
                }))
                .map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn write_xlsx(header: &[String], rows: &[Vec<Cell>]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{ExcelDateTime, Format as Style, Workbook};
    let e = |err: rust_xlsxwriter::XlsxError| err.to_string();
    let mut book = Workbook::new();
    let bold = Style::new().set_bold();
    let date = Style::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet();
    for (c, text) in header.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, text, &bold)
            .map_err(e)?;
        sheet
            .set_column_width(c as u16, (text.chars().count() as f64 * 1.6).max(12.0))
            .map_err(e)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(e)?;
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|err| err.to_string())?;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(t) => {
                    sheet.write_string(r, c, t).map_err(e)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n).map_err(e)?;
                }
                Cell::Date(d) => {
                    use chrono::Datelike;
                    let at =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(e)?;
                    sheet
                        .write_datetime_with_format(r, c, &at, &date)
                        .map_err(e)?;
                }
                Cell::Empty => {}
            }
        }
    }
    book.save_to_buffer().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [&str; 3] = ["contract_number", "project_name", "completion_date"];

    fn rows_of(table: &Table) -> Vec<(usize, String, String, String)> {
        table
            .rows
            .iter()
            .map(|r| {
                (
                    r.number,
                    r.get("contract_number").to_owned(),
                    r.get("project_name").to_owned(),
                    r.get("completion_date").to_owned(),
                )
            })
            .collect()
    }

    fn sample() -> Vec<Vec<Cell>> {
        vec![
            vec![
                Cell::from("HT-001"),
                Cell::from("苏州物流仓库"),
                Cell::Date(NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()),
            ],
            vec![Cell::Number(13800138000.0), Cell::Empty, Cell::Empty],
        ]
    }

    #[test]
    fn a_written_sheet_reads_back_the_same_in_both_formats_and_languages() {
        for format in [Format::Csv, Format::Xlsx] {
            for locale in Locale::all() {
                let bytes = write(format, &COLUMNS, locale, &sample()).unwrap();
                assert_eq!(Format::detect(&bytes), format);
                let table = read(&bytes, &COLUMNS, &["contract_number"]).unwrap();
                assert!(table.problems.is_empty(), "{:?}", table.problems);
                assert_eq!(
                    rows_of(&table),
                    [
                        (
                            2,
                            "HT-001".into(),
                            "苏州物流仓库".into(),
                            "2024-05-01".into()
                        ),
                        (3, "13800138000".into(), String::new(), String::new()),
                    ],
                    "{format:?} {locale:?}"
                );
                assert_eq!(table.cell(3, Some("project_name")), "B3");
            }
        }
    }

    #[test]
    fn headers_are_matched_loosely_and_problems_named() {
        let csv = "Contract Number,Colour,project_name,PROJECT\n,,,\nA-1,red,x,y\n";
        let table = read(csv.as_bytes(), &COLUMNS, &["completion_date"]).unwrap();
        let problems: Vec<String> = table.problems.iter().map(|p| p.message.english()).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("Colour"), "{problems:?}");
        assert!(problems[1].contains("PROJECT"), "{problems:?}");
        assert!(
            problems[2].contains("Completion acceptance date"),
            "{problems:?}"
        );
        // The empty row is skipped; the data row keeps its own number.
        assert_eq!(
            rows_of(&table),
            [(3, "A-1".into(), "x".into(), String::new())]
        );
    }

    #[test]
    fn a_gbk_csv_and_a_broken_workbook_are_refused_with_a_reason() {
        let gbk = [0xBA, 0xCF, 0xCD, 0xAC, b'\n'];
        let err = read(&gbk, &COLUMNS, &[]).unwrap_err();
        assert!(err.english().contains("UTF-8"), "{}", err.english());
        let err = read(b"PK\x03\x04broken", &COLUMNS, &[]).unwrap_err();
        assert!(err.english().contains(".xlsx"), "{}", err.english());
        let err = read(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", &COLUMNS, &[]).unwrap_err();
        assert!(err.english().contains("Excel 97"), "{}", err.english());
    }

    #[test]
    fn dates_lists_and_enum_labels_read_as_people_write_them() {
        let may = NaiveDate::from_ymd_opt(2024, 5, 1);
        for text in ["2024-05-01", "2024/5/1", "2024.5.1", "2024年5月1日"] {
            assert_eq!(parse_date(text), may, "{text}");
        }
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(
            split_list("杭州、苏州; Ningbo,"),
            ["杭州", "苏州", "Ningbo"]
        );
        let name_of = |n: i32| match n {
            1 => Some("SKILL_STRUCTURAL_SURVEY"),
            3 => Some("SKILL_WELDING"),
            _ => None,
        };
        assert_eq!(enum_value("welding", "Skill", name_of), Some(3));
        assert_eq!(enum_value("Structural survey", "Skill", name_of), Some(1));
        assert_eq!(enum_value("焊接", "Skill", name_of), Some(3));
        assert_eq!(enum_value("painting", "Skill", name_of), None);
    }

    #[test]
    fn a_field_path_is_placed_at_its_row_and_column() {
        let rows = [Row::new(4, []), Row::new(9, [])];
        let rows: Vec<&Row> = rows.iter().collect();
        let columns = [
            ("organization_name", "organization_name"),
            ("contacts[].phone", "contact_phone"),
        ];
        assert_eq!(
            locate(&rows, "contacts", &columns, "contacts[1].phone"),
            (9, Some("contact_phone"))
        );
        assert_eq!(
            locate(&rows, "contacts", &columns, "organization_name"),
            (4, Some("organization_name"))
        );
        assert_eq!(
            locate(&rows, "contacts", &columns, "contacts[7].email"),
            (4, None)
        );
    }

    #[test]
    fn a_latitude_without_its_longitude_is_a_problem_at_the_empty_cell() {
        let row = Row::new(5, [("latitude", "31.3".to_owned())]);
        let mut out = Vec::new();
        both_or_neither(&row, ("latitude", true), ("longitude", false), &mut out);
        both_or_neither(&row, ("latitude", true), ("longitude", true), &mut out);
        both_or_neither(&row, ("latitude", false), ("longitude", false), &mut out);
        let at: Vec<(usize, Option<&str>)> = out.iter().map(|p| (p.row, p.column)).collect();
        assert_eq!(at, [(5, Some("longitude"))]);
    }

    #[test]
    fn column_letters_go_past_z() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
    }
}
