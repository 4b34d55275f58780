// The text side of Elixir's inspect: how atoms are written (Macro.inspect_atom/2 and the identifier tokenizer it
// asks, String.Tokenizer) and how strings are escaped (Code.Identifier.escape/4, String.printable?/2), per Elixir
// release. Kept apart from format-elixir.ts, which lays out terms.

import { Buffer } from "node:buffer";
import { identifierLookup } from "./format-elixir-unicode.js";

/** An Elixir release as [major, minor]. */
export type ElixirVersion = readonly [number, number];

export function atLeast(version: ElixirVersion, major: number, minor: number): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

// --- strings -------------------------------------------------------------------------------------------------------

/** One step of Erlang's <<C/utf8, _/binary>> match: the code point and its byte length, or undefined. */
function utf8At(bytes: Uint8Array, at: number): [number, number] | undefined {
  const b0 = bytes[at];
  if (b0 < 0x80) return [b0, 1];
  const need = b0 >= 0xf8 ? -1 : b0 >= 0xf0 ? 3 : b0 >= 0xe0 ? 2 : b0 >= 0xc0 ? 1 : -1;
  if (need < 0 || at + need >= bytes.length) return undefined;
  let cp = b0 & (0x3f >> need);
  for (let i = 1; i <= need; i++) {
    const b = bytes[at + i];
    if ((b & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (b & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF do not match /utf8.
  const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return [cp, need + 1];
}

const PRINTABLE_CONTROLS = new Set([0x0a, 0x0d, 0x09, 0x0b, 0x08, 0x0c, 0x1b, 0x7f, 0x07]);

/** String.printable?(bytes, limit): only the first `limit` characters are looked at. */
export function isPrintableBinary(bytes: Uint8Array, limit: number): boolean {
  let at = 0;
  let count = 0;
  while (at < bytes.length) {
    if (count === limit) return true;
    const b = bytes[at];
    if ((b >= 0x20 && b <= 0x7e) || PRINTABLE_CONTROLS.has(b)) {
      at++;
    } else {
      const decoded = utf8At(bytes, at);
      if (decoded === undefined) return false;
      const [cp, size] = decoded;
      if (!((cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff))) return false;
      at += size;
    }
    count++;
  }
  return true;
}

/**
 * A list element as the integer BEAM sees (a BigInt such as 32n travels as the integer 32), or undefined for anything
 * else; BigInts beyond any character come back as -1.
 */
export function integerElement(item: unknown): number | undefined {
  if (typeof item === "number") return Number.isInteger(item) ? item : undefined;
  if (typeof item === "bigint") return item >= 0n && item <= 0x10ffffn ? Number(item) : -1;
  return undefined;
}

/** List.ascii_printable?(list, limit) of a proper list: only the first `limit` elements are looked at. */
export function isAsciiPrintableList(list: readonly unknown[], limit: number): boolean {
  let count = 0;
  for (const element of list) {
    if (count === limit) return true;
    const item = integerElement(element);
    if (item === undefined || !((item >= 7 && item <= 13) || item === 27 || (item >= 32 && item <= 126))) return false;
    count++;
  }
  return true;
}

const DEFAULT_ESCAPES = new Map<number, string>([
  [0x07, "\\a"],
  [0x08, "\\b"],
  [0x7f, "\\d"],
  [0x1b, "\\e"],
  [0x0c, "\\f"],
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
  [0x0b, "\\v"],
  [0x5c, "\\\\"],
]);

/** The escapes Inspect.Regex passes to Code.Identifier.escape/4 (backslashes are the regex's own). */
export const REGEX_ESCAPES = new Map<number, string>([
  [0x07, "\\a"],
  [0x0c, "\\f"],
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
  [0x0b, "\\v"],
]);

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");

// Zero-width and look-alike spaces, bidirectional controls and the like that Elixir 1.18+ writes as \uXXXX.
function isConfusable(cp: number): boolean {
  return (
    cp === 0xfeff ||
    (cp >= 0x2061 && cp <= 0x2064) ||
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    (cp >= 0xfff9 && cp <= 0xfffc) ||
    cp === 0x200c ||
    cp === 0x200d ||
    cp === 0x034f ||
    cp === 0x00a0 ||
    cp === 0x200b ||
    cp === 0x2060 ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x205f
  );
}

function escapeCodePoint(cp: number, version: ElixirVersion): string {
  if (cp === 0) return "\\0";
  if (atLeast(version, 1, 18) ? isConfusable(cp) : cp === 0xfeff) return `\\u${hex(cp, 4)}`;
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)) {
    return String.fromCodePoint(cp);
  }
  if (cp < 0x100) return `\\x${hex(cp, 2)}`;
  if (cp < 0x10000) return `\\x{${hex(cp, 4)}}`;
  return `\\x{${hex(cp, 6)}}`;
}

/**
 * Code.Identifier.escape/4: the escaped text of `bytes` between `quote` characters, stopping after `limit`
 * characters; `truncated` when bytes were left.
 */
export function escapeBytes(
  bytes: Uint8Array,
  quote: number,
  limit: number,
  version: ElixirVersion,
  escapes: ReadonlyMap<number, string> = DEFAULT_ESCAPES,
): { text: string; truncated: boolean } {
  let text = "";
  let at = 0;
  let count = 0;
  while (at < bytes.length) {
    if (count === limit) return { text, truncated: true };
    const b = bytes[at];
    if (b === quote) {
      text += `\\${String.fromCharCode(b)}`;
      at++;
    } else if (b === 0x23 && bytes[at + 1] === 0x7b) {
      text += "\\#{";
      at += 2;
    } else {
      const decoded = utf8At(bytes, at);
      if (decoded === undefined) {
        text += `\\x${hex(b, 2)}`;
        at++;
      } else {
        const [cp, size] = decoded;
        text += escapes.get(cp) ?? escapeCodePoint(cp, version);
        at += size;
      }
    }
    count++;
  }
  return { text, truncated: false };
}

export function escapeText(text: string, quote: number, version: ElixirVersion): string {
  return escapeBytes(Buffer.from(text, "utf8"), quote, Infinity, version).text;
}

// --- atoms ---------------------------------------------------------------------------------------------------------

const NOT_CALLABLE = new Set(["%", "%{}", "{}", "<<>>", "...", "..", ".", "..//", "->"]);
const QUOTED_OPERATORS = new Set(["::", "^^^", "~~~", "<|>"]);
// Code.Identifier.unary_op/1 and binary_op/1 (less "//", which Macro.operator?/2 says is not one).
const OPERATORS = new Set([
  "&", "...", "!", "^", "not", "+", "-", "~~~", "@",
  "<-", "\\\\", "when", "::", "|", "=", "||", "|||", "or", "&&", "&&&", "and", "==", "!=", "=~", "===", "!==",
  "<", "<=", ">=", ">", "|>", "<<<", ">>>", "<~", "~>", "<<~", "~>>", "<~>", "<|>", "in", "^^^", "++", "--", "..",
  "<>", "+++", "---", "*", "/", "**", ".",
]);

type InnerClass = "not_callable" | "quoted_operator" | "unquoted_operator" | "alias" | "identifier" | "other";

const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const MICRO_SIGN = 0xb5;
const GREEK_MU = 0x3bc;

/** Elixir.Foo.Bar: "Elixir" and then pieces that start with an ASCII capital (Macro's valid_alias?/1). */
function isValidAlias(name: string): boolean {
  return /^Elixir(\.[A-Z][a-zA-Z0-9_]*)*$/.test(name);
}

/**
 * String.Tokenizer.tokenize/1 as Macro.classify_atom uses it: the token's kind and special marks, or undefined when
 * the name is not one whole identifier token.
 */
function tokenize(name: string, version: ElixirVersion): { kind: "alias" | "identifier" | "atom"; special: Set<string> } | undefined {
  const cps = [...name].map((ch) => ch.codePointAt(0)!);
  if (cps.length === 0) return undefined;
  const table = identifierLookup(version);
  const special = new Set<string>();
  let kind: "alias" | "identifier" | "atom";
  let ascii = true;
  let scripts: bigint;
  const acc: number[] = [];
  const head = cps[0];
  if (isUpper(head)) {
    kind = "alias";
    scripts = table.latin;
  } else if (isLower(head)) {
    kind = "identifier";
    scripts = table.latin;
  } else if (head === 0x5f) {
    kind = "identifier";
    scripts = table.all;
  } else {
    ascii = false;
    const cls = table.classOf(head);
    if (cls === "U") kind = "atom";
    else if (cls === "S") kind = "identifier";
    else if (head === MICRO_SIGN) {
      kind = "identifier";
      special.add("nfkc");
    } else return undefined;
    scripts = table.scriptsOf(head === MICRO_SIGN ? GREEK_MU : head);
  }
  acc.push(head === MICRO_SIGN ? GREEK_MU : head);
  let at = 1;
  for (; at < cps.length; at++) {
    const c = cps[at];
    if (c === 0x21 || c === 0x3f) {
      acc.push(c);
      special.add("punctuation");
      at++;
      break;
    }
    if (c === 0x40) {
      special.add("at");
      acc.push(c);
    } else if (isLower(c) || isUpper(c)) {
      scripts &= table.latin;
      acc.push(c);
    } else if (c === 0x5f || isDigit(c)) {
      acc.push(c);
    } else if (c <= 127) {
      break;
    } else if (table.classOf(c) !== "N") {
      scripts &= table.scriptsOf(c);
      ascii = false;
      acc.push(c);
    } else if (c === MICRO_SIGN) {
      scripts &= table.scriptsOf(GREEK_MU);
      special.add("nfkc");
      ascii = false;
      acc.push(GREEK_MU);
    } else {
      return undefined; // an unexpected token
    }
  }
  if (at < cps.length) return undefined; // more than one token
  if (!ascii) {
    const original = String.fromCodePoint(...acc);
    const normalized = original.normalize("NFC");
    if (normalized !== original) special.add("nfkc");
    const chars = [...normalized].map((ch) => ch.codePointAt(0)!);
    const mixed = atLeast(version, 1, 18) ? !chunksSingleScript(chars, table) : !highlyRestrictive(chars, table);
    if (scripts === 0n && mixed) return undefined; // a mixed-script identifier, which Elixir refuses
  }
  return { kind, special };
}

function scriptsOfChar(c: number, table: ReturnType<typeof identifierLookup>): bigint {
  if (isLower(c) || isUpper(c)) return table.latin;
  if (c === 0x5f || isDigit(c)) return table.all;
  return table.classOf(c) === "N" ? table.all : table.scriptsOf(c);
}

// Elixir 1.18+: each part between underscores must be of a single script (UTS 55-5).
function chunksSingleScript(chars: readonly number[], table: ReturnType<typeof identifierLookup>): boolean {
  let acc = table.all;
  for (const c of chars) {
    if (c === 0x5f) {
      if (acc === 0n) return false;
      acc = table.all;
    } else acc &= scriptsOfChar(c, table);
  }
  return acc !== 0n;
}

// Elixir 1.14-1.17: Latin may mix with Japanese, with Han and Bopomofo, or with Korean (UTS 39 highly restrictive).
function highlyRestrictive(chars: readonly number[], table: ReturnType<typeof identifierLookup>): boolean {
  return table.highlyRestrictive.some((cover) => chars.every((c) => (scriptsOfChar(c, table) & cover) !== 0n));
}

function innerClassify(name: string, version: ElixirVersion): InnerClass {
  if (NOT_CALLABLE.has(name)) return "not_callable";
  if (QUOTED_OPERATORS.has(name)) return "quoted_operator";
  if (OPERATORS.has(name)) return "unquoted_operator";
  if (isValidAlias(name)) return "alias";
  const token = tokenize(name, version);
  if (token === undefined) return "other";
  if (token.kind !== "identifier" || token.special.has("at")) return "not_callable";
  if (token.special.has("nfkc")) return "other";
  return "identifier";
}

/** Macro.classify_atom/1. */
function classifyAtom(name: string, version: ElixirVersion): "alias" | "identifier" | "unquoted" | "quoted" {
  const inner = innerClassify(name, version);
  if (inner === "alias" || inner === "identifier") return inner;
  return inner === "unquoted_operator" || inner === "not_callable" ? "unquoted" : "quoted";
}

const QUOTE = 0x22;

/** Macro.inspect_atom(:literal, atom): `:ok`, `:"with space"`, `Foo.Bar` for Elixir.Foo.Bar, `nil`. */
export function atomLiteral(name: string, version: ElixirVersion): string {
  if (name === "nil" || name === "true" || name === "false") return name;
  switch (classifyAtom(name, version)) {
    case "alias":
      if (name === "Elixir" || name === "Elixir.Elixir" || name.startsWith("Elixir.Elixir.")) return name;
      return name.slice("Elixir.".length);
    case "quoted":
      return `:"${escapeText(name, QUOTE, version)}"`;
    default:
      return `:${name}`;
  }
}

/** Macro.inspect_atom(:key, atom): `ok:`, `"with space":`. */
export function atomKey(name: string, version: ElixirVersion): string {
  switch (classifyAtom(name, version)) {
    case "alias":
      return `"${name}":`;
    case "quoted":
      return `"${escapeText(name, QUOTE, version)}":`;
    default:
      return `${name}:`;
  }
}

/** Macro.inspect_atom(:remote_call, atom): the function name in `&Mod.fun/1`. */
export function atomRemoteCall(name: string, version: ElixirVersion): string {
  const inner = innerClassify(name, version);
  if (inner === "identifier" || inner === "unquoted_operator" || inner === "quoted_operator") return name;
  if (inner === "not_callable" || inner === "alias") return `"${name}"`;
  return `"${escapeText(name, QUOTE, version)}"`;
}
