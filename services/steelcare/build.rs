//! Embeds the web console's built assets (`web/dist`, built by `npm run build` in `web/` and
//! committed) into the binary: writes `console_assets.rs` listing every file with its
//! content type and its gzip copy (`name.gz`, made by the build) if there is one. Without a
//! `web/dist` the list is empty and the server says the console was not built.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        walk(&dist, &mut files)?;
    } else {
        println!("cargo:warning=web/dist is missing: the console will not be served");
    }
    files.sort();
    let mut code = String::from(
        "/// The console's files: URL path, content type, bytes, gzip copy.\npub static ASSETS: &[Asset] = &[\n",
    );
    for file in files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "gz"))
    {
        let relative = file.strip_prefix(&dist)?;
        let url = format!(
            "/{}",
            relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        );
        let absolute = file.canonicalize()?;
        let mut gz = file.clone().into_os_string();
        gz.push(".gz");
        let gzip = match PathBuf::from(gz).canonicalize() {
            Ok(path) => format!("Some(include_bytes!({:?}))", path.display().to_string()),
            Err(_) => "None".to_owned(),
        };
        writeln!(
            code,
            "    Asset {{ path: {url:?}, content_type: {:?}, bytes: include_bytes!({:?}), gzip: {gzip} }},",
            content_type(file),
            absolute.display().to_string()
        )?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("console_assets.rs");
    std::fs::write(out, code)?;
    Ok(())
}
