//! Intake's domain: the records it keeps (stored as JSON) and the parsing of requests into
//! them, gathering every field violation at once (STYLE.md 8).

pub mod records;
pub mod requests;
pub mod validate;
