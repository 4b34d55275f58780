#!/usr/bin/env node
// Writes src/etf/format-elixir-unicode-tables.ts: for each Elixir release erldist formats for, which non-ASCII code points
// Elixir's identifier tokenizer (String.Tokenizer) accepts, and the script set of each. Elixir computes these at
// compile time from the Unicode data files in its repository (lib/elixir/unicode), so they change between releases;
// this script reads the same files at the release's tag and applies the same rules (UAX 31 categories, minus
// Pattern_Syntax/Pattern_White_Space, minus what UTS 39 IdentifierType does not list as Recommended or Inclusion;
// script sets from Scripts.txt and ScriptExtensions.txt, with UTS 39's augmentation of Han, Hiragana, Katakana,
// Hangul and Bopomofo). test/elixir/format-elixir.test.ts checks the classes against the peer's own tokenizer.
//
// Usage: node scripts/generate-elixir-unicode.mjs <elixir-lang/elixir git dir> [tag ...]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [gitDir, ...tagArgs] = process.argv.slice(2);
if (!gitDir) {
  console.error("usage: generate-elixir-unicode.mjs <elixir git dir> [tag ...]");
  process.exit(2);
}
// Each table is used from its release until the next one's (see identifierLookup in src/etf/format-elixir-unicode.ts).
const tags = tagArgs.length > 0 ? tagArgs : ["v1.14.0", "v1.18.3", "v1.20.3"];

function readAt(tag, file) {
  return execFileSync("git", ["--git-dir", gitDir, "show", `${tag}:lib/elixir/unicode/${file}`], { encoding: "utf8", maxBuffer: 64 << 20 });
}

function dataLines(text) {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

function rangeOf(field) {
  const [a, b] = field.trim().split("..");
  const first = parseInt(a, 16);
  return [first, b === undefined ? first : parseInt(b, 16)];
}

function tableFor(tag) {
  const category = new Map();
  let rangeStart;
  for (const line of dataLines(readAt(tag, "UnicodeData.txt"))) {
    const [cpHex, name, cat] = line.split(";");
    const cp = parseInt(cpHex, 16);
    if (name.endsWith(", First>")) rangeStart = cp;
    else if (name.endsWith(", Last>")) {
      for (let c = rangeStart; c <= cp; c++) category.set(c, cat);
      rangeStart = undefined;
    } else category.set(cp, cat);
  }
  const upper = new Set();
  const start = new Set();
  const cont = new Set();
  for (const [cp, cat] of category) {
    if (cat === "Lu" || cat === "Lt") upper.add(cp);
    else if (["Ll", "Lm", "Lo", "Nl"].includes(cat)) start.add(cp);
    else if (["Mn", "Mc", "Nd", "Pc"].includes(cat)) cont.add(cp);
  }
  const patterns = new Set();
  for (const line of dataLines(readAt(tag, "PropList.txt"))) {
    const [range, rest] = line.split(";");
    const prop = rest.split("#")[0].trim();
    const target = prop === "Other_ID_Start" ? start : prop === "Other_ID_Continue" ? cont : prop === "Pattern_White_Space" || prop === "Pattern_Syntax" ? patterns : undefined;
    if (!target) continue;
    const [a, b] = rangeOf(range);
    for (let c = a; c <= b; c++) target.add(c);
  }
  const restricted = new Set();
  for (const line of dataLines(readAt(tag, "IdentifierType.txt"))) {
    const [range, rest] = line.split(";");
    if (!rest.includes("#")) continue;
    const types = rest.split("#")[0].trim().split(/\s+/);
    if (types.includes("Inclusion") || types.includes("Recommended")) continue;
    const [a, b] = rangeOf(range);
    for (let c = a; c <= b; c++) restricted.add(c);
  }
  const keep = (set) => new Set([...set].filter((c) => c > 127 && !patterns.has(c) && !restricted.has(c)));
  const idUpper = keep(upper);
  const idStart = keep(start);
  const idContinue = keep(cont);
  const known = new Set([...idUpper, ...idStart, ...idContinue]);

  const aliases = new Map();
  for (const line of dataLines(readAt(tag, "PropertyValueAliases.txt"))) {
    const parts = line.split(/[; ]+/).filter(Boolean);
    if (parts[0] === "sc") aliases.set(parts[1], parts[2]);
  }
  const scriptsOf = new Map();
  for (const [file, names] of [["Scripts.txt", new Map()], ["ScriptExtensions.txt", aliases]]) {
    for (const line of dataLines(readAt(tag, file))) {
      const [range, rest] = line.split(";");
      if (!rest.includes("#")) continue;
      const scripts = rest.split("#")[0].trim().split(/\s+/).map((s) => names.get(s) ?? s);
      if (scripts.includes("Common") || scripts.includes("Inherited")) continue;
      const [a, b] = rangeOf(range);
      for (let c = a; c <= b; c++) if (known.has(c)) scriptsOf.set(c, scripts);
    }
  }
  const used = [...new Set([...scriptsOf.values()].flat())];
  const all = [...new Set(["Han with Bopomofo", "Japanese", "Korean", ...used])];
  const sorted = ["Latin", ...all.filter((s) => s !== "Latin").sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y))))];
  const bit = new Map(sorted.map((s, i) => [s, 1n << BigInt(i)]));
  const augmented = new Map(bit);
  const augmentation = { Han: ["Han with Bopomofo", "Japanese", "Korean"], Hiragana: ["Japanese"], Katakana: ["Japanese"], Hangul: ["Korean"], Bopomofo: ["Han with Bopomofo"] };
  for (const [script, additions] of Object.entries(augmentation)) {
    if (!augmented.has(script)) continue;
    augmented.set(script, additions.reduce((m, s) => m | bit.get(s), augmented.get(script)));
  }
  const top = (1n << BigInt(sorted.length)) - 1n;
  const maskOf = new Map();
  for (const [cp, scripts] of scriptsOf) maskOf.set(cp, scripts.reduce((m, s) => m | augmented.get(s), 0n));
  // Elixir's one custom normalization, µ (U+00B5, Common) to μ (U+03BC): μ takes the union of both script sets.
  maskOf.set(0x3bc, (maskOf.get(0xb5) ?? top) | (maskOf.get(0x3bc) ?? top));

  const masks = [];
  const maskIndex = new Map();
  const indexOfMask = (m) => {
    const key = m.toString(16);
    if (!maskIndex.has(key)) {
      maskIndex.set(key, masks.length);
      masks.push(key);
    }
    return maskIndex.get(key);
  };
  indexOfMask(top);
  // Runs over 128..0x10FFFF: class (U upper, S start, C continue only, N none) and script set.
  const runs = [];
  let previous;
  for (let cp = 128; cp <= 0x10ffff; cp++) {
    const cls = idUpper.has(cp) ? "U" : idStart.has(cp) ? "S" : idContinue.has(cp) ? "C" : "N";
    const mask = cls === "N" ? -1 : indexOfMask(maskOf.get(cp) ?? top);
    const key = `${cls}${mask}`;
    if (previous && previous.key === key) previous.length++;
    else runs.push((previous = { key, cls, mask, length: 1 }));
  }
  const encoded = runs.map((r) => `${r.cls}${r.length.toString(36)}${r.cls === "N" ? "" : `.${r.mask.toString(36)}`}`).join("");
  // Elixir before 1.18 lets Latin mix with one of these (UTS 39's highly restrictive level).
  const covers = ["Japanese", "Han with Bopomofo", "Korean"].map((s) => (bit.get("Latin") | bit.get(s)).toString(16));
  return { tag, scripts: sorted.length, masks, covers, runs: encoded, count: runs.length };
}

const tables = tags.map(tableFor);
for (const t of tables) console.error(`${t.tag}: ${t.count} runs, ${t.masks.length} script sets, ${t.runs.length} characters`);

const out = `// GENERATED by scripts/generate-elixir-unicode.mjs from the Unicode data files of elixir-lang/elixir at ${tags.join(", ")}.
// Do not edit: regenerate. For each release, the non-ASCII code points Elixir's identifier tokenizer accepts.
//
// runs: from U+0080 upward, one entry per run of code points: a class letter (U: may start an identifier and makes
// it an uppercase atom, S: may start one, C: may only continue one, N: none), the run's length in base 36 and, but
// for N, "." and the index (base 36) of the run's script set in masks. masks: script sets as hexadecimal bitmaps over
// the release's scripts (bit 0 is Latin; masks[0] is every script, as Common and Inherited characters have).

export interface IdentifierTable {
  /** The first Elixir release the table is for (it applies until the next table's). */
  readonly since: string;
  readonly masks: readonly string[];
  /** Latin with Japanese, with Han and Bopomofo, with Korean: the mixes Elixir allowed before 1.18. */
  readonly covers: readonly string[];
  readonly runs: string;
}

export const IDENTIFIER_TABLES: readonly IdentifierTable[] = [
${tables.map((t) => `  {\n    since: ${JSON.stringify(t.tag.replace(/^v/, ""))},\n    masks: ${JSON.stringify(t.masks)},\n    covers: ${JSON.stringify(t.covers)},\n    runs:\n      ${JSON.stringify(t.runs)},\n  },`).join("\n")}
];
`;
writeFileSync(fileURLToPath(new URL("../src/etf/format-elixir-unicode-tables.ts", import.meta.url)), out);
