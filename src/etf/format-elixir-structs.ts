// How Elixir's standard library prints its structs (their Inspect implementations, release by release): Date, Time,
// NaiveDateTime and DateTime as sigils, Date.Range, MapSet, Range, Regex and Version.Requirement as expressions, URI
// and Version as structs that leave out fields holding their defaults. Used by format-elixir.ts.

import { Buffer } from "node:buffer";
import { REGEX_ESCAPES, atLeast, escapeBytes, type ElixirVersion } from "./format-elixir-atoms.js";
import { Atom, BitBinary, Tuple } from "./types.js";

/** [text, limit left]: what Inspect.Algebra.to_doc_with_opts/2 returns, flattened, since nothing breaks lines. */
export type Doc = [string, number];

export interface Context {
  /** The item limit the term is printed under (Inspect.Opts.limit). */
  readonly limit: number;
  /** Inside MapSet.new(...), where Elixir prints lists as lists (charlists: :as_lists). */
  readonly asLists: boolean;
}

/** What the struct printers need of the formatter. */
export interface StructPrinter {
  readonly elixir: ElixirVersion;
  /** Elixir 1.19+: items are counted over the whole term, so a printer hands on the count it leaves. */
  readonly countsOverall: boolean;
  /** Kernel.inspect/1 of a term on its own, with fresh options (as Date.Range's implementation calls it). */
  inspectAlone(term: unknown): string;
  /** Inspect.Algebra.to_doc of a nested term. */
  render(term: unknown, ctx: Context): Doc;
  /** Inspect.List.inspect of a proper list. */
  list(elements: readonly unknown[], ctx: Context): Doc;
  /** Inspect.Any's `%Mod{field: value, ...}` of the given fields, in order. */
  structFields(module: string, fields: readonly string[], get: (field: string) => unknown, ctx: Context): Doc;
  /** The keys of a map term in the order Elixir lists them, or undefined when it is not a map. */
  mapKeys(value: unknown): unknown[] | undefined;
}

const NIL = "nil";

function isInteger(value: unknown): value is number | bigint {
  return typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
}

/** The bytes of a whole binary (a string is its UTF-8), or undefined for anything else. */
export function binaryBytes(value: unknown): Uint8Array | undefined {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) return value;
  if (value instanceof BitBinary && (value.data.length === 0 || value.bits === 8)) return value.data;
  return undefined;
}

function binaryText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  const bytes = binaryBytes(value);
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** @derive {Inspect, optional: [...]}: optional fields are left out while they hold their default. */
function derived(printer: StructPrinter, module: string, names: readonly string[], isDefault: ReadonlyMap<string, (v: unknown) => boolean>, fields: ReadonlyMap<string, unknown>, ctx: Context): Doc {
  // Before 1.19 a missing field reads as nil (Map.get/2), as the derived implementation reads it.
  const value = (name: string) => (fields.has(name) ? fields.get(name) : new Atom(NIL));
  const shown = names.filter((name) => !(isDefault.get(name)?.(value(name)) ?? false));
  return printer.structFields(module, shown, value, ctx);
}

export interface StandardStruct {
  /** The struct's fields in the given release. */
  fields(version: ElixirVersion): readonly string[];
  /** What the Inspect implementation matches on (before 1.19, which checks nothing else); default: every field. */
  needs?: readonly string[];
  /** The text, or undefined where the peer's Inspect implementation would raise (erldist then prints a map). */
  print(printer: StructPrinter, fields: ReadonlyMap<string, unknown>, ctx: Context): Doc | undefined;
}

const ISO = "Elixir.Calendar.ISO";

function isIso(value: unknown): boolean {
  return value instanceof Atom && value.name === ISO;
}

function inRange(value: unknown, min: number, max: number): value is number | bigint {
  return isInteger(value) && value >= min && value <= max;
}

/** Calendar.ISO's zero_pad/2. */
function zeroPad(value: number | bigint, count: number): string {
  const text = (value < 0 ? -BigInt(value) : BigInt(value)).toString().padStart(count, "0");
  return value < 0 ? `-${text}` : text;
}

function isoDate(year: unknown, month: unknown, day: unknown): string | undefined {
  if (!isInteger(year) || !isInteger(month) || !isInteger(day)) return undefined;
  return `${zeroPad(year, 4)}-${zeroPad(month, 2)}-${zeroPad(day, 2)}`;
}

function isoTime(hour: unknown, minute: unknown, second: unknown, microsecond: unknown): string | undefined {
  if (!inRange(hour, 0, 23) || !inRange(minute, 0, 59) || !inRange(second, 0, 59)) return undefined;
  if (!(microsecond instanceof Tuple) || microsecond.length !== 2) return undefined;
  const [value, precision] = microsecond.elements;
  if (!inRange(value, 0, 999_999) || !inRange(precision, 0, 6)) return undefined;
  const base = `${zeroPad(hour, 2)}:${zeroPad(minute, 2)}:${zeroPad(second, 2)}`;
  return Number(precision) === 0 ? base : `${base}.${zeroPad(value, 6).slice(0, Number(precision))}`;
}

const inYearRange = (year: unknown) => inRange(year, -9999, 9999);

const DATE_FIELDS = ["year", "month", "day", "calendar"];
const TIME_FIELDS = ["hour", "minute", "second", "microsecond", "calendar"];
const NAIVE_FIELDS = ["year", "month", "day", "hour", "minute", "second", "microsecond", "calendar"];
const DATETIME_FIELDS = [
  "year", "month", "day", "hour", "minute", "second", "time_zone", "zone_abbr", "utc_offset", "std_offset", "microsecond", "calendar",
];
const URI_FIELDS = ["scheme", "authority", "userinfo", "host", "port", "path", "query", "fragment"];
const VERSION_FIELDS = ["major", "minor", "patch", "pre", "build"];

const isNil = (v: unknown) => v instanceof Atom && v.name === "nil";
const isEmptyList = (v: unknown) => Array.isArray(v) && v.length === 0;

export const STANDARD_STRUCTS: { readonly [module: string]: StandardStruct } = {
  "Elixir.Date": {
    fields: () => DATE_FIELDS,
    print(printer, f, ctx) {
      if (!isIso(f.get("calendar"))) return undefined;
      const [year, month, day] = ["year", "month", "day"].map((k) => f.get(k));
      const text = isoDate(year, month, day);
      if (text === undefined) return undefined;
      if (atLeast(printer.elixir, 1, 17) && !inYearRange(year)) return [`Date.new!(${year}, ${month}, ${day})`, ctx.limit];
      return [`~D[${text}]`, ctx.limit];
    },
  },
  "Elixir.Time": {
    fields: () => TIME_FIELDS,
    print(_printer, f, ctx) {
      if (!isIso(f.get("calendar"))) return undefined;
      const text = isoTime(f.get("hour"), f.get("minute"), f.get("second"), f.get("microsecond"));
      return text === undefined ? undefined : [`~T[${text}]`, ctx.limit];
    },
  },
  "Elixir.NaiveDateTime": {
    fields: () => NAIVE_FIELDS,
    print(printer, f, ctx) {
      if (!isIso(f.get("calendar"))) return undefined;
      const [year, month, day, hour, minute, second, microsecond] = NAIVE_FIELDS.map((k) => f.get(k));
      if (atLeast(printer.elixir, 1, 18) && !inYearRange(year)) {
        if (![year, month, day, hour, minute, second].every(isInteger)) return undefined;
        const inspected = printer.inspectAlone(microsecond);
        return [`NaiveDateTime.new!(${year}, ${month}, ${day}, ${hour}, ${minute}, ${second}, ${inspected})`, ctx.limit];
      }
      const date = isoDate(year, month, day);
      const time = isoTime(hour, minute, second, microsecond);
      return date === undefined || time === undefined ? undefined : [`~N[${date} ${time}]`, ctx.limit];
    },
  },
  "Elixir.DateTime": {
    fields: () => DATETIME_FIELDS,
    print(printer, f, ctx) {
      if (!isIso(f.get("calendar"))) return undefined;
      const [year, month, day, hour, minute, second, timeZone, zoneAbbr, utcOffset, stdOffset, microsecond] = DATETIME_FIELDS.map((k) => f.get(k));
      const zone = binaryText(timeZone);
      const abbr = binaryText(zoneAbbr);
      if (zone === undefined || abbr === undefined || !isInteger(utcOffset) || !isInteger(stdOffset)) return undefined;
      const date = isoDate(year, month, day);
      const time = isoTime(hour, minute, second, microsecond);
      if (date === undefined || time === undefined) return undefined;
      const utc = BigInt(utcOffset) === 0n && BigInt(stdOffset) === 0n && zone === "Etc/UTC";
      let offset = "Z";
      if (!utc) {
        const total = BigInt(utcOffset) + BigInt(stdOffset);
        const seconds = total < 0n ? -total : total;
        offset = `${total < 0n ? "-" : "+"}${zeroPad(seconds / 3600n, 2)}:${zeroPad((seconds % 3600n) / 60n, 2)}`;
      }
      const formatted = `${date} ${time}${offset}${zone === "Etc/UTC" ? "" : ` ${abbr} ${zone}`}`;
      const sigil = utc && (!atLeast(printer.elixir, 1, 18) || inYearRange(year));
      return [sigil ? `~U[${formatted}]` : `#DateTime<${formatted}>`, ctx.limit];
    },
  },
  "Elixir.Date.Range": {
    fields: () => ["first", "last", "first_in_iso_days", "last_in_iso_days", "step"],
    needs: ["first", "last", "step"],
    print(printer, f, ctx) {
      const step = f.get("step");
      if (!isInteger(step)) return undefined;
      const range = `Date.range(${printer.inspectAlone(f.get("first"))}, ${printer.inspectAlone(f.get("last"))}`;
      return [step === 1 || step === 1n ? `${range})` : `${range}, ${step})`, ctx.limit];
    },
  },
  "Elixir.MapSet": {
    fields: (v) => (atLeast(v, 1, 15) ? ["map"] : ["map", "version"]),
    needs: ["map"],
    print(printer, f, ctx) {
      const keys = printer.mapKeys(f.get("map"));
      if (keys === undefined) return undefined;
      const [text, after] = printer.list(keys, { ...ctx, asLists: true });
      return [`MapSet.new(${text})`, printer.countsOverall ? after : ctx.limit];
    },
  },
  "Elixir.Range": {
    fields: () => ["first", "last", "step"],
    print(printer, f, ctx) {
      const [first, last, step] = ["first", "last", "step"].map((k) => f.get(k));
      if (!isInteger(first) || !isInteger(last) || !isInteger(step)) return undefined;
      const text = (v: unknown) => printer.render(v, ctx)[0];
      const plain = (step === 1 || step === 1n) && last >= first;
      return [plain ? `${text(first)}..${text(last)}` : `${text(first)}..${text(last)}//${text(step)}`, ctx.limit];
    },
  },
  "Elixir.Regex": {
    fields: (v) => (atLeast(v, 1, 19) ? ["re_pattern", "source", "opts"] : ["re_pattern", "source", "opts", "re_version"]),
    needs: ["source", "opts"],
    print(printer, f, ctx) {
      return regex(printer, f.get("source"), f.get("opts"), ctx);
    },
  },
  "Elixir.URI": {
    fields: () => URI_FIELDS,
    needs: [],
    print(printer, f, ctx) {
      return derived(printer, "Elixir.URI", URI_FIELDS, new Map([["authority", isNil]]), f, ctx);
    },
  },
  "Elixir.Version": {
    fields: () => VERSION_FIELDS,
    needs: [],
    print(printer, f, ctx) {
      return derived(printer, "Elixir.Version", VERSION_FIELDS, new Map([["pre", isEmptyList], ["build", isNil]]), f, ctx);
    },
  },
  "Elixir.Version.Requirement": {
    fields: () => ["source", "lexed"],
    needs: ["source"],
    print(_printer, f, ctx) {
      const source = binaryText(f.get("source"));
      return source === undefined ? undefined : [`Version.parse_requirement!("${source}")`, ctx.limit];
    },
  },
};

/** Inspect.Regex: `~r/source/flags`, or `Regex.compile!(source, options)` for options without a sigil flag. */
function regex(printer: StructPrinter, source: unknown, options: unknown, ctx: Context): Doc | undefined {
  const bytes = binaryBytes(source);
  if (bytes === undefined) return undefined;
  const version = printer.elixir;
  const list = Array.isArray(options) ? options : undefined;
  let flags: string | undefined;
  if (atLeast(version, 1, 17)) {
    if (list === undefined) return undefined;
    flags = regexFlags(list, version);
  } else if (list === undefined) {
    flags = binaryText(options);
    if (flags === undefined) return undefined;
  }
  if (flags === undefined) {
    return [`Regex.compile!(${printer.render(source, ctx)[0]}, ${printer.list(list!, ctx)[0]})`, ctx.limit];
  }
  const normalized = normalizeRegex(bytes, atLeast(version, 1, 16));
  return [`~r/${escapeBytes(normalized, 0x2f, Infinity, version, REGEX_ESCAPES).text}/${flags}`, ctx.limit];
}

/** The sigil's flags for Regex options (in the reverse of their order, as Elixir collects them), or undefined. */
function regexFlags(options: readonly unknown[], version: ElixirVersion): string | undefined {
  const flags: string[] = [];
  const is = (v: unknown, name: string) => v instanceof Atom && v.name === name;
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    const next = options[i + 1];
    if (is(o, "dotall") && next instanceof Tuple && next.length === 2 && is(next.elements[0], "newline") && is(next.elements[1], "anycrlf")) {
      flags.unshift("s");
      i++;
    } else if (is(o, "unicode") && is(next, "ucp")) {
      flags.unshift("u");
      i++;
    } else if (is(o, "caseless")) flags.unshift("i");
    else if (is(o, "extended")) flags.unshift("x");
    else if (is(o, "firstline")) flags.unshift("f");
    else if (is(o, "ungreedy")) flags.unshift("U");
    else if (is(o, "multiline")) flags.unshift("m");
    else if (is(o, "export") && atLeast(version, 1, 19)) flags.unshift("E");
    else return undefined;
  }
  return flags.join("");
}

/** Inspect.Regex's normalize/2: escapes the sigil re-adds (`\/`, and `\#{` since 1.16) are taken off first. */
function normalizeRegex(bytes: Uint8Array, interpolation: boolean): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x5c && bytes[i + 1] === 0x5c) {
      out.push(0x5c, 0x5c);
      i++;
    } else if (b === 0x5c && bytes[i + 1] === 0x2f) {
      out.push(0x2f);
      i++;
    } else if (interpolation && b === 0x5c && bytes[i + 1] === 0x23 && bytes[i + 2] === 0x7b) {
      out.push(0x23, 0x7b);
      i += 2;
    } else out.push(b);
  }
  return Uint8Array.from(out);
}

