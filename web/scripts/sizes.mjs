// What each visit transfers, from the build (dist/, gzip as served): the first load (the page
// and the entry's static imports), the signed-in shell on top of it, and each page on top of
// both (its lazy chunk and the static imports the shell did not already bring). Prints a
// Markdown table; `npm run build` first.
import { readFileSync, readdirSync, statSync } from "node:fs";

const dir = new URL("../dist/", import.meta.url);
const gz = (file) => statSync(new URL(`${file}.gz`, dir)).size;
const source = (file) => readFileSync(new URL(file, dir), "utf8");

/** A chunk and everything it imports statically, by file name under dist/. */
function closure(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const [, name] of source(file).matchAll(/(?:^|[;}\s])import\s*(?:[^"'()]*?from\s*)?["']\.\/([^"']+\.js)["']/g)) closure(`assets/${name}`, seen);
  return seen;
}
const total = (files) => [...files].reduce((sum, f) => sum + gz(f), 0);
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

const html = source("index.html");
const entry = /src="\/(assets\/index-[^"]+\.js)"/.exec(html)[1];
const first = closure(entry);
const files = readdirSync(new URL("assets/", dir)).filter((f) => f.endsWith(".js"));
const chunk = (name) => `assets/${files.find((f) => f.startsWith(`${name}-`))}`;
const shell = closure(chunk("shell"));
const base = new Set([...first, ...shell]);
console.log("| what | transferred (gzip) |\n|---|---|");
console.log(`| first load: sign-in (index.html and ${first.size} scripts) | ${kib(gz("index.html") + total(first))} |`);
console.log(`| then the signed-in shell (the component library) | ${kib(total([...shell].filter((f) => !first.has(f))))} |`);
// The pages are the shell's dynamic imports.
const pages = [...source(chunk("shell")).matchAll(/import\([`"']\.\/([A-Z][^`"']+\.js)[`"']\)/g)].map(([, f]) => f).sort();
for (const page of pages) {
  const own = [...closure(`assets/${page}`)].filter((f) => !base.has(f));
  console.log(`| then ${page.split("-")[0]} (${own.length} scripts) | ${kib(total(own))} |`);
}
