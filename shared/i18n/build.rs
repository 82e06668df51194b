//! Embeds every `locales/<tag>/*.ftl` file: a new locale is a new folder, not code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut locales: Vec<_> = std::fs::read_dir(&root)
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    locales.retain(|p| p.is_dir());
    locales.sort();
    let mut out = String::from("/// Every shipped locale: its tag and its files (name, text).\n");
    out.push_str("pub(crate) static SOURCES: &[(&str, &[(&str, &str)])] = &[\n");
    for dir in &locales {
        println!("cargo:rerun-if-changed={}", dir.display());
        let Some(tag) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "ftl"));
        files.sort();
        let _ = writeln!(out, "    ({tag:?}, &[");
        for file in &files {
            println!("cargo:rerun-if-changed={}", file.display());
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "        ({name:?}, include_str!({:?})),",
                file.display().to_string()
            );
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("sources.rs");
    if let Err(err) = std::fs::write(&target, out) {
        panic!("cannot write {}: {err}", target.display());
    }
}
