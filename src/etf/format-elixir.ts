// Elixir syntax for terms: what Kernel.inspect/1 prints on the peer, with its default options (Inspect.Opts:
// limit 50 items per collection before Elixir 1.19, a budget of 100 (1.19) or 200 (1.20) items over the whole term
// since; printable_limit 4096; pretty: false, so width 80 never applies and the text is one line). The rules follow
// Elixir's lib/elixir/lib/inspect.ex and inspect/algebra.ex release by release; what erldist cannot know of the
// peer (which struct modules it has loaded, its numbers for other nodes, the names of local funs) is described on
// ElixirFormatOptions and in the README.

import { Buffer } from "node:buffer";
import { atLeast, atomKey, atomLiteral, atomRemoteCall, escapeBytes, integerElement, isAsciiPrintableList, isPrintableBinary, type ElixirVersion } from "./format-elixir-atoms.js";
import { STANDARD_STRUCTS, binaryBytes, type Context, type Doc, type StructPrinter } from "./format-elixir-structs.js";
import { format } from "./format.js";
import { NativeRecord } from "./native-record.js";
import { Atom, BitBinary, ExportFun, Float, Fun, ImproperList, LocalTerm, Pid, Port, Reference, Tuple, atom } from "./types.js";

export interface ElixirFormatOptions {
  /**
   * The peer's Elixir version, as `System.version()` gives it ("1.18.3"); inspect differs between releases (charlists
   * `'abc'` before 1.15 and `~c"abc"` since, the item limit, escapes, Date and Regex forms, atom quoting). Releases
   * from 1.14 on are known. Default: the newest known, 1.20.
   */
  elixir?: string;
  /**
   * The peer's OTP major release (`System.otp_release()`). OTP 29 writes a map of more than 32 keys in the reverse
   * of the order Elixir lists it in, so with 29+ such maps print back to front, as the peer prints the map they
   * were decoded from. Default: older than 29.
   */
  otp?: number | string;
  /** The peer's node name: its own pids, ports and references print with node number 0, as the peer prints them. */
  node?: string | Atom;
  /**
   * The peer's numbers for other nodes (`#PID<N.80.0>`), by node name, if known. A node without a number is written
   * by name in that place (`#PID<app@10.42.0.5.80.0>`): a BEAM node numbers other nodes by the index of their name
   * in its atom table, which erldist cannot know.
   */
  nodeNumbers?: ReadonlyMap<string, number> | ((node: string) => number | undefined);
  /**
   * Field names of struct modules the peer has loaded, in definition order (what `Mod.__info__(:struct)` lists), by
   * module atom name: `{ "Elixir.Point": ["x", "y", "label"] }`. A map whose `__struct__` is such a module and whose
   * keys are exactly those fields prints as `%Point{x: 1, y: 2, label: nil}`; with other keys, as a map.
   */
  structs?: { readonly [module: string]: readonly string[] };
  /**
   * How to print a map whose `__struct__` is an alias atom (`Elixir.Foo`) neither in `structs` nor one of the
   * standard library's: `"struct"` (the default) assumes the peer has the module loaded with exactly those fields
   * and prints `%Foo{...}` with the fields in the map's own order; `"map"` prints it as Elixir prints a struct whose
   * module it does not have, `%{__struct__: Foo, ...}`.
   */
  unknownStructs?: "struct" | "map";
}

const NEWEST: ElixirVersion = [1, 20];
const PRINTABLE_LIMIT = 4096;
/** Maps of more than this many keys are hash maps in BEAM, listed in hash order. */
const FLAT_MAP_LIMIT = 32;

/**
 * The Elixir text of a term, as Kernel.inspect/1 prints it on a peer running the given Elixir (see the options).
 * JS values that encode as terms print as the term they encode to (`null` as nil; a plain object's undefined fields
 * are left out). Throws a TypeError for a value that has no Erlang form (undefined, a symbol, a function, NaN).
 */
export function formatElixir(term: unknown, options: ElixirFormatOptions = {}): string {
  return new ElixirPrinter(options).inspect(term);
}

type Entry = readonly [unknown, unknown];

const STRUCT_KEY = "__struct__";
const EXCEPTION_KEY = "__exception__";

function isAtomLike(value: unknown): value is Atom | boolean {
  return value instanceof Atom || typeof value === "boolean";
}

function atomName(value: Atom | boolean): string {
  return typeof value === "boolean" ? String(value) : value.name;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function parseVersion(text: string): ElixirVersion {
  const match = /^(\d+)\.(\d+)/.exec(text);
  if (!match) throw new TypeError(`not an Elixir version: ${JSON.stringify(text)} (expected what System.version() gives, e.g. "1.18.3")`);
  return [Number(match[1]), Number(match[2])];
}

/** The term's elements as a list, if it is one: [elements, tail], tail undefined for a proper list. */
function listParts(value: unknown): [readonly unknown[], unknown] | undefined {
  if (Array.isArray(value)) return [value, undefined];
  if (!(value instanceof ImproperList)) return undefined;
  let elements: unknown[] = value.elements;
  let tail: unknown = value.tail;
  // A tail that is itself a list continues the list, as the encoder writes it.
  for (;;) {
    if (Array.isArray(tail)) return [elements.concat(tail), undefined];
    if (!(tail instanceof ImproperList)) return [elements, tail];
    elements = elements.concat(tail.elements);
    tail = tail.tail;
  }
}

function isKeywordKey(key: unknown): boolean {
  return isAtomLike(key) && !atomName(key).startsWith("Elixir.");
}

/** Inspect.List.keyword?/1: a list of {atom, value} pairs whose atoms are not aliases. */
function isKeyword(elements: readonly unknown[]): boolean {
  return elements.every((e) => e instanceof Tuple && e.length === 2 && isKeywordKey(e.elements[0]));
}

/** IO.chardata_to_string/1 of a printable list (its first 4096 elements are ASCII; the rest may be any chardata). */
function chardataBytes(elements: readonly unknown[]): Uint8Array | undefined {
  const chunks: Buffer[] = [];
  const walk = (items: readonly unknown[]): boolean => {
    for (const item of items) {
      const code = integerElement(item);
      if (code !== undefined && code >= 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
        chunks.push(Buffer.from(String.fromCodePoint(code), "utf8"));
      } else if (code !== undefined) {
        return false;
      } else if (Array.isArray(item)) {
        if (!walk(item)) return false;
      } else {
        const bytes = binaryBytes(item);
        if (bytes === undefined) return false;
        chunks.push(Buffer.from(bytes));
      }
    }
    return true;
  };
  return walk(elements) ? Buffer.concat(chunks) : undefined;
}

/**
 * A float as Elixir prints it: integral values below 1.0e16 as `12.0`, else the shortest digits that read back to
 * the same float (erlang:float_to_list(F, [short])), in decimal from 1.0e-3 up and in scientific notation below.
 */
export function formatFloat(value: number): string {
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  if (abs >= 1 && abs < 1e16 && Number.isInteger(abs)) return `${sign}${BigInt(abs)}.0`;
  const [mantissa, exponentText] = abs.toExponential().split("e");
  const exponent = Number(exponentText);
  const digits = mantissa.replace(".", "");
  if (exponent < -3 || exponent >= 16) return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : "0"}e${exponent}`;
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  return `${sign}${whole}.${digits.slice(exponent + 1) || "0"}`;
}

class ElixirPrinter implements StructPrinter {
  readonly elixir: ElixirVersion;
  /** Elixir 1.19+ counts items over the whole term; before, each collection counts its own. */
  readonly countsOverall: boolean;
  private readonly defaultLimit: number;
  private readonly otp: number | undefined;
  private readonly nodeNumber: (node: string) => number | undefined;
  private readonly structs: { readonly [module: string]: readonly string[] };
  private readonly assumeStructs: boolean;

  constructor(options: ElixirFormatOptions) {
    this.elixir = options.elixir === undefined ? NEWEST : parseVersion(options.elixir);
    this.countsOverall = atLeast(this.elixir, 1, 19);
    this.defaultLimit = atLeast(this.elixir, 1, 20) ? 200 : this.countsOverall ? 100 : 50;
    this.otp = options.otp === undefined ? undefined : Number(options.otp);
    const peer = options.node === undefined ? undefined : typeof options.node === "string" ? options.node : options.node.name;
    const numbers = options.nodeNumbers;
    const known = numbers === undefined ? () => undefined : typeof numbers === "function" ? numbers : (node: string) => numbers.get(node);
    this.nodeNumber = (node) => (node === peer ? 0 : known(node));
    this.structs = options.structs ?? {};
    this.assumeStructs = (options.unknownStructs ?? "struct") === "struct";
  }

  inspect(term: unknown): string {
    return this.render(term, { limit: this.defaultLimit, asLists: false })[0];
  }

  inspectAlone(term: unknown): string {
    return this.inspect(term);
  }

  render(term: unknown, ctx: Context): Doc {
    const limit = ctx.limit;
    switch (typeof term) {
      case "number":
        if (!Number.isFinite(term)) throw new TypeError(`${term} has no Erlang form`);
        return [Number.isInteger(term) ? (Number.isSafeInteger(term) ? String(term === 0 ? 0 : term) : BigInt(term).toString()) : formatFloat(term), limit];
      case "bigint":
        return [term.toString(), limit];
      case "boolean":
        return [String(term), limit];
      case "string":
        return this.binary(Buffer.from(term, "utf8"), ctx);
      case "object":
        if (term === null) return ["nil", limit]; // as the encoder writes null with nilAsNull
        // No depth check: each level of nesting takes one from the item limit, which ends even a cyclic value.
        return this.object(term, ctx);
      default:
        throw new TypeError(`${typeof term === "undefined" ? "undefined" : `a ${typeof term}`} has no Erlang form`);
    }
  }

  private object(term: object, ctx: Context): Doc {
    const limit = ctx.limit;
    if (term instanceof Atom) return [atomLiteral(term.name, this.elixir), limit];
    if (term instanceof Float) return [formatFloat(term.value), limit];
    if (term instanceof Uint8Array) return this.binary(term, ctx);
    if (term instanceof BitBinary) return term.data.length === 0 || term.bits === 8 ? this.binary(term.data, ctx) : this.bitstring(term.data, term.bits, ctx);
    if (term instanceof Tuple) return this.container("{", "}", term.elements, undefined, ctx, (e, c) => this.render(e, c));
    const list = listParts(term);
    if (list !== undefined) return this.anyList(list[0], list[1], ctx);
    if (term instanceof Map) return this.map([...(term as Map<unknown, unknown>).entries()], ctx);
    if (term instanceof Pid) return [`#PID<${this.nodePart(term.node)}.${term.id}.${term.serial}>`, limit];
    if (term instanceof Port) return [`#Port<${this.nodePart(term.node)}.${term.id}>`, limit];
    if (term instanceof Reference) return [`#Reference<${this.nodePart(term.node)}.${[...term.ids].reverse().join(".")}>`, limit];
    if (term instanceof ExportFun) {
      return [`&${atomLiteral(term.module.name, this.elixir)}.${atomRemoteCall(term.function.name, this.elixir)}/${term.arity}`, limit];
    }
    // The peer adds the fun's name (` in Mod.fun/1`) from the module's code, which is not in the term.
    if (term instanceof Fun) return [`#Function<${term.index}.${term.oldUniq}/${term.arity} in ${atomLiteral(term.module.name, this.elixir)}>`, limit];
    // Elixir 1.20 leaves native records to io_lib:format("~p", [R]): Erlang syntax, lines broken at 80 columns.
    if (term instanceof NativeRecord) return [format(term, { otp: this.otp, nodeNumbers: this.nodeNumber }), limit];
    if (term instanceof LocalTerm) return [`#LocalTerm<${term.bytes.length} bytes>`, limit]; // opaque: only its node reads it
    if (isPlainObject(term)) {
      const entries: Entry[] = [];
      for (const [key, value] of Object.entries(term)) if (value !== undefined) entries.push([atom(key), value]);
      return this.map(entries, ctx);
    }
    throw new TypeError(`a ${term.constructor?.name ?? "object"} instance has no Erlang form`);
  }

  private nodePart(node: Atom): string {
    return String(this.nodeNumber(node.name) ?? node.name);
  }

  // --- binaries ------------------------------------------------------------------------------------------------------

  private binary(bytes: Uint8Array, ctx: Context): Doc {
    if (isPrintableBinary(bytes, PRINTABLE_LIMIT)) {
      const { text, truncated } = escapeBytes(bytes, 0x22, PRINTABLE_LIMIT, this.elixir);
      return [`"${text}"${truncated ? " <> ..." : ""}`, ctx.limit];
    }
    return this.bitstring(bytes, 8, ctx);
  }

  /** Inspect.BitString's bit syntax, `<<1, 2, 3::size(5)>>`: `bits` of the last byte belong to it. */
  private bitstring(data: Uint8Array, bits: number, ctx: Context): Doc {
    if (data.length === 0) return ["<<>>", ctx.limit];
    const parts: string[] = [];
    let counter = ctx.limit;
    for (let i = 0; i < data.length; i++) {
      if (counter === 0) {
        parts.push("...");
        break;
      }
      parts.push(i === data.length - 1 && bits < 8 ? `${data[i] >> (8 - bits)}::size(${bits})` : String(data[i]));
      counter--;
    }
    // Since 1.19 each byte counts against the overall limit.
    return [`<<${parts.join(", ")}>>`, this.countsOverall ? Math.max(0, ctx.limit - data.length) : ctx.limit];
  }

  // --- collections ---------------------------------------------------------------------------------------------------

  /**
   * Inspect.Algebra.container_doc: the items between `open` and `close`, "..." once the limit is spent. Before 1.19
   * each container counts down from the limit it was given; since, the count an item leaves carries on to the next.
   */
  private container(open: string, close: string, items: readonly unknown[], tail: unknown, ctx: Context, render: (item: unknown, ctx: Context) => Doc): Doc {
    if (items.length === 0 && tail === undefined) return [open + close, ctx.limit];
    const overall = this.countsOverall;
    const parts: string[] = [];
    let limit = ctx.limit;
    for (let i = 0; i < items.length; i++) {
      if (limit <= 0) {
        parts.push("...");
        break;
      }
      const [text, after] = render(items[i], { ...ctx, limit: limit - 1 });
      if (i === items.length - 1 && tail !== undefined) {
        // The last cell of an improper list: element and tail are one item (the tail's count is not handed on).
        const tailLimit = overall ? (after > 0 ? after - 1 : after) : limit - 1;
        parts.push(`${text} | ${render(tail, { ...ctx, limit: tailLimit })[0]}`);
      } else parts.push(text);
      limit = overall ? after : limit - 1;
    }
    return [open + parts.join(", ") + close, overall ? limit : ctx.limit];
  }

  list(elements: readonly unknown[], ctx: Context): Doc {
    return this.anyList(elements, undefined, ctx);
  }

  /** Inspect.List: a printable charlist, a keyword list, or the elements. */
  private anyList(elements: readonly unknown[], tail: unknown, ctx: Context): Doc {
    if (elements.length === 0) return tail === undefined ? ["[]", ctx.limit] : this.render(tail, ctx);
    if (!ctx.asLists && tail === undefined && isAsciiPrintableList(elements, PRINTABLE_LIMIT)) {
      const charlist = this.charlist(elements);
      if (charlist !== undefined) return [charlist, ctx.limit];
    }
    if (tail === undefined && isKeyword(elements)) {
      return this.container("[", "]", elements, undefined, ctx, (pair, c) => {
        const [key, value] = (pair as Tuple).elements;
        return this.keywordEntry(atomName(key as Atom | boolean), value, c);
      });
    }
    return this.container("[", "]", elements, tail, ctx, (e, c) => this.render(e, c));
  }

  /** A printable charlist: `~c"abc"` (1.15+) or `'abc'`; undefined where Elixir could not make text of it. */
  private charlist(elements: readonly unknown[]): string | undefined {
    const bytes = chardataBytes(elements);
    if (bytes === undefined) return undefined;
    const sigil = atLeast(this.elixir, 1, 15);
    const { text, truncated } = escapeBytes(bytes, sigil ? 0x22 : 0x27, PRINTABLE_LIMIT, this.elixir);
    const quoted = sigil ? `~c"${text}"` : `'${text}'`;
    return truncated ? `${quoted} ++ ...` : quoted;
  }

  private keywordEntry(key: string, value: unknown, ctx: Context): Doc {
    const [text, after] = this.render(value, ctx);
    return [`${atomKey(key, this.elixir)} ${text}`, after];
  }

  private map(entries: Entry[], ctx: Context): Doc {
    const struct = entries.find(([key]) => isAtomLike(key) && atomName(key) === STRUCT_KEY);
    if (struct !== undefined && isAtomLike(struct[1])) {
      const printed = this.struct(atomName(struct[1]), entries, ctx);
      if (printed !== undefined) return printed;
    }
    return this.plainMap(entries, ctx);
  }

  /** The entries in the order the peer lists them (see ElixirFormatOptions.otp). */
  private ordered<T>(entries: T[]): T[] {
    return this.otp !== undefined && this.otp >= 29 && entries.length > FLAT_MAP_LIMIT ? [...entries].reverse() : entries;
  }

  mapKeys(value: unknown): unknown[] | undefined {
    if (value instanceof Map) return this.ordered([...(value as Map<unknown, unknown>).keys()]);
    if (value !== null && typeof value === "object" && isPlainObject(value)) return this.ordered(Object.keys(value).map((k) => atom(k)));
    return undefined;
  }

  /** Inspect.Map: `%{a: 1}` when every key is an atom that can be a keyword key, else `%{"k" => 1}`. */
  private plainMap(entries: Entry[], ctx: Context): Doc {
    const list = this.ordered(entries);
    if (list.every(([key]) => isKeywordKey(key))) {
      return this.container("%{", "}", list, undefined, ctx, (entry, c) => this.keywordEntry(atomName((entry as Entry)[0] as Atom), (entry as Entry)[1], c));
    }
    return this.container("%{", "}", list, undefined, ctx, (entry, c) => {
      const [key, value] = entry as Entry;
      const [keyText, afterKey] = this.render(key, c);
      const [valueText, afterValue] = this.render(value, this.countsOverall ? { ...c, limit: afterKey } : c);
      return [`${keyText} => ${valueText}`, afterValue];
    });
  }

  structFields(module: string, fields: readonly string[], get: (field: string) => unknown, ctx: Context): Doc {
    return this.container(`%${atomLiteral(module, this.elixir)}{`, "}", fields, undefined, ctx, (field, c) => this.keywordEntry(field as string, get(field as string), c));
  }

  /** How the peer prints a map with `__struct__: module`, or undefined where it prints it as a map. */
  private struct(module: string, entries: Entry[], ctx: Context): Doc | undefined {
    const fields = new Map<string, unknown>();
    for (const [key, value] of entries) if (isAtomLike(key)) fields.set(atomName(key), value);
    const keys = entries.map(([key]) => key).filter((key) => !(isAtomLike(key) && atomName(key) === STRUCT_KEY));
    const exactly = (names: readonly string[], ignore?: string) => {
      const present = keys.filter((k) => !(isAtomLike(k) && atomName(k) === ignore));
      return present.length === names.length && present.every((k) => isAtomLike(k) && names.includes(atomName(k)));
    };
    const standard = STANDARD_STRUCTS[module];
    if (standard !== undefined) {
      // Since 1.19 (the release that counts items overall) a struct whose keys are not exactly its module's fields
      // prints as a map; before, the module's Inspect implementation gets it and needs only what it matches on.
      const names = standard.fields(this.elixir);
      const fits = this.countsOverall ? exactly(names) : (standard.needs ?? names).every((n) => fields.has(n));
      return fits ? standard.print(this, fields, ctx) : undefined;
    }
    const known = this.structs[module];
    if (known !== undefined) {
      // Inspect.Any leaves out __exception__.
      const names = known.filter((f) => f !== EXCEPTION_KEY);
      return exactly(names, EXCEPTION_KEY) ? this.structFields(module, names, (f) => fields.get(f), ctx) : undefined;
    }
    if (this.assumeStructs && /^Elixir(\.[A-Z][a-zA-Z0-9_]*)+$/.test(module) && keys.every(isAtomLike)) {
      const names = this.ordered(keys.map((key) => atomName(key as Atom))).filter((n) => n !== EXCEPTION_KEY);
      return this.structFields(module, names, (f) => fields.get(f), ctx);
    }
    return undefined;
  }
}
