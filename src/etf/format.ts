// Terms as text for people: format(term) writes what `io_lib:format("~tp", [Term])` writes on a BEAM node (the
// shell's and the logger's notation), or with { syntax: "elixir" } what Elixir's inspect/1 writes. JS values that
// encode as terms format as the term they encode to. Every term type's util.inspect uses it.

import { Buffer } from "node:buffer";
import { inspect as nodeInspect } from "node:util";
import { formatElixir, type ElixirFormatOptions } from "./format-elixir.js";
import { integerElement } from "./format-elixir-atoms.js";
import { NativeRecord } from "./native-record.js";
import {
  atomText,
  binaryShape,
  charCount,
  ertsAtomText,
  ertsRawAtomText,
  floatText,
  isPrintableChar,
  stringText,
  type PrintableRange,
} from "./format-text.js";
import {
  bytesLayout,
  fieldLayout,
  leaf,
  listLayout,
  mapLayout,
  pairLayout,
  printLayout,
  recordLayout,
  tupleLayout,
  type FieldLayout,
  type Layout,
  type PairLayout,
} from "./format-layout.js";
import {
  Atom,
  BitBinary,
  ExportFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  Pid,
  Port,
  Reference,
  Tuple,
  setTermInspector,
  type Encodable,
} from "./types.js";

/** The newest OTP release whose ~tp output erldist reproduces, and the default of {@link FormatOptions.otp}. */
export const FORMAT_OTP_DEFAULT = 29;

/**
 * Options of {@link format}. With `syntax: "elixir"` they go to the Elixir formatter as they are (see
 * ElixirFormatOptions for the fields only it reads: `elixir`, `structs`, `unknownStructs`); `lineLength` and
 * `printableRange` are the Erlang syntax's only.
 */
export interface FormatOptions extends ElixirFormatOptions {
  /** `"erlang"` (the default): as `io_lib:format("~tp", [T])` writes it. `"elixir"`: as Elixir's `inspect/1`. */
  syntax?: "erlang" | "elixir";
  /**
   * The peer's OTP release, whose output to reproduce (default {@link FORMAT_OTP_DEFAULT} for the Erlang syntax).
   * It matters for few terms: from OTP 27 the atoms `maybe` and `else` are quoted; from OTP 28 a binary that starts
   * as UTF-8 but holds a character that is not printable is written as bytes even where its bytes would read as
   * Latin-1 text.
   */
  otp?: number | string;
  /** Where lines break, as ~p's field width (default 80); `Infinity` (or 0) writes everything on one line. */
  lineLength?: number;
  /**
   * The peer's `io:printable_range()`: `"latin1"` (OTP's default, `erl +pc latin1`) or `"unicode"`
   * (`erl +pc unicode`). It decides which lists print as strings (`"abc"`) and which binaries print as text.
   */
  printableRange?: PrintableRange;
  /**
   * How the peer numbers nodes in pids, references and ports (`<N.80.0>`, 0 for itself), by node name. A node
   * this does not know about is written by name in that place, `<app@10.42.0.5.80.0>`, since a BEAM node's
   * numbers are its own (the index of the node's name in its atom table) and erldist cannot know them.
   */
  nodeNumbers?: ReadonlyMap<string, number> | ((node: string) => number | undefined);
  /** The peer's node name: its pids, references and ports print with 0 for the node, as it prints its own. */
  node?: string | Atom;
}

interface Context {
  readonly otp: number;
  readonly range: PrintableRange;
  readonly nodeNumber: (node: string) => number | undefined;
  /** For util.inspect: a JS value with no Erlang form is shown as Node shows it instead of throwing. */
  readonly lenient: boolean;
}

/** As deep as the encoder goes; deeper is almost certainly a cycle (the JS stack usually ends it sooner). */
const MAX_FORMAT_DEPTH = 10_000;
const TOO_DEEP = new RangeError(`nested deeper than ${MAX_FORMAT_DEPTH}`);

/** Maps of more than this many pairs are HAMTs in BEAM, which it writes to the wire in reverse of its print order. */
const FLATMAP_LIMIT = 32;

/**
 * The term as text. With the default Erlang syntax, exactly what `io_lib:format("~tp", [Term])` writes on the
 * peer's release (see {@link FormatOptions}), wrapped at 80 columns as ~tp wraps. Throws a TypeError for a value
 * that has no Erlang form (undefined, a symbol, a function, NaN).
 */
export function format(term: Encodable, options?: FormatOptions): string {
  if (options?.syntax === "elixir") return formatElixir(term, options);
  return formatErlang(term, options, false);
}

function formatErlang(term: unknown, options: FormatOptions | undefined, lenient: boolean): string {
  const numbers = options?.nodeNumbers;
  const known = numbers === undefined ? () => undefined : typeof numbers === "function" ? numbers : (node: string) => numbers.get(node);
  const self = options?.node === undefined ? undefined : String(options.node);
  const context: Context = {
    otp: options?.otp === undefined ? FORMAT_OTP_DEFAULT : Number(options.otp),
    range: options?.printableRange ?? "latin1",
    nodeNumber: self === undefined ? known : (node) => known(node) ?? (node === self ? 0 : undefined),
    lenient,
  };
  try {
    return printLayout(measure(term, context, 0), options?.lineLength ?? 80);
  } catch (err) {
    if (!(err instanceof RangeError && (err === TOO_DEEP || /call stack/i.test(err.message)))) throw err;
    // Past the JS stack or MAX_FORMAT_DEPTH: one clear error rather than "Maximum call stack size exceeded".
    if (lenient) return "#Term<nested too deeply to format>";
    throw new RangeError("format: the term is nested too deeply to format (a cycle?)", { cause: err });
  }
}

// util.inspect of every term type (console.log(tuple(atom("ok"), 1)) shows {ok,1}).
setTermInspector((value) => formatErlang(value, undefined, true));

function text(value: string): Layout {
  return leaf(value, charCount(value));
}

function noForm(value: unknown, what: string, context: Context): Layout {
  if (context.lenient) return text(nodeInspect(value));
  throw new TypeError(`${what} has no Erlang form`);
}

function isAtomLike(value: unknown): boolean {
  return value instanceof Atom || typeof value === "boolean" || value === null;
}

/**
 * Builds the layout tree of a term: the text of its atomic parts and the length of every part. Compound terms
 * recurse through one helper each (loops, no callbacks), so that deep terms take few stack frames per level.
 */
function measure(term: unknown, context: Context, depth: number): Layout {
  switch (typeof term) {
    case "number":
      if (Number.isInteger(term)) return text(Number.isSafeInteger(term) ? String(term === 0 ? 0 : term) : BigInt(term).toString());
      if (!Number.isFinite(term)) return noForm(term, String(term), context);
      return text(floatText(term));
    case "bigint":
      return text(term.toString());
    case "boolean":
      return text(term ? "true" : "false");
    case "string":
      return binary(Buffer.from(term, "utf8"), context);
    case "object":
      break;
    default:
      return noForm(term, typeof term === "undefined" ? "undefined" : `a ${typeof term}`, context);
  }
  if (term === null) return text("nil"); // Elixir's nil, as the encoder writes null with nilAsNull
  if (depth > MAX_FORMAT_DEPTH) throw TOO_DEEP;
  if (term instanceof Atom) return text(atomText(term.name, context.otp));
  if (term instanceof Tuple) return tuple(term.elements, context, depth + 1);
  if (Array.isArray(term)) return list(term, undefined, context, depth + 1);
  if (term instanceof Uint8Array) return binary(term, context);
  if (term instanceof Map) return map([...term], context, depth + 1);
  if (term instanceof Float) return text(floatText(term.value));
  if (term instanceof ImproperList) return list(term.elements, term.tail, context, depth + 1);
  if (term instanceof BitBinary) return bitBinary(term, context);
  if (term instanceof Pid) return text(`<${nodePart(term.node, context)}.${term.id}.${term.serial}>`);
  if (term instanceof Reference) return text(`#Ref<${nodePart(term.node, context)}.${[...term.ids].reverse().join(".")}>`);
  if (term instanceof Port) return text(`#Port<${nodePart(term.node, context)}.${term.id}>`);
  if (term instanceof ExportFun) {
    return text(`fun ${ertsAtomText(term.module.name)}:${ertsAtomText(term.function.name)}/${term.arity}`);
  }
  if (term instanceof Fun) return text(`#Fun<${ertsRawAtomText(term.module.name)}.${term.oldIndex}.${term.oldUniq}>`);
  if (term instanceof NativeRecord) return nativeRecord(term, context, depth + 1);
  if (term instanceof LocalTerm) return text(`#LocalTerm<${term.bytes.length} bytes>`); // opaque: only its node reads it
  const proto = Object.getPrototypeOf(term);
  if (proto === Object.prototype || proto === null) {
    const pairs: Array<[unknown, unknown]> = [];
    for (const key of Object.keys(term)) {
      const value = (term as Record<string, unknown>)[key];
      if (value !== undefined) pairs.push([new Atom(key), value]); // left out, as the encoder does with nilAsNull
    }
    return map(pairs, context, depth + 1);
  }
  return noForm(term, `a ${term.constructor?.name ?? "object"} instance`, context);
}

function nodePart(node: Atom, context: Context): string {
  return String(context.nodeNumber(node.name) ?? node.name);
}

function tuple(elements: readonly unknown[], context: Context, depth: number): Layout {
  if (elements.length === 0) return text("{}");
  const items = new Array<Layout>(elements.length);
  for (let i = 0; i < elements.length; i++) items[i] = measure(elements[i], context, depth);
  return tupleLayout(items, elements.length > 1 && isAtomLike(elements[0]));
}

/** A list, flattened as the encoder writes it: an ImproperList whose tail is a list continues into that list. */
function list(elements: readonly unknown[], tail: unknown, context: Context, depth: number): Layout {
  let all: readonly unknown[] = elements;
  let end = tail;
  while (end instanceof ImproperList || (Array.isArray(end) && end.length > 0)) {
    if (Array.isArray(end)) {
      all = all.concat(end);
      end = undefined;
    } else {
      all = all.concat(end.elements);
      end = end.tail;
    }
  }
  const proper = end === undefined || (Array.isArray(end) && end.length === 0);
  if (all.length === 0) return proper ? text("[]") : measure(end, context, depth);
  if (proper && isPrintableList(all, context.range)) return text(stringText(all.map(Number)));
  const items = new Array<Layout>(all.length);
  for (let i = 0; i < all.length; i++) items[i] = measure(all[i], context, depth);
  return listLayout(items, proper ? undefined : measure(end, context, depth));
}

function isPrintableList(elements: readonly unknown[], range: PrintableRange): boolean {
  for (const c of elements) {
    const code = integerElement(c);
    if (code === undefined || !isPrintableChar(code, range)) return false;
  }
  return true;
}

function map(pairs: Array<[unknown, unknown]>, context: Context, depth: number): Layout {
  if (pairs.length === 0) return text("#{}");
  // A decoded map holds the peer's wire order; ~tp prints big maps (HAMTs) in the reverse of it.
  if (pairs.length > FLATMAP_LIMIT) pairs.reverse();
  const layouts = new Array<PairLayout>(pairs.length);
  for (let i = 0; i < pairs.length; i++) layouts[i] = pairLayout(measure(pairs[i][0], context, depth), measure(pairs[i][1], context, depth));
  return mapLayout(layouts);
}

function binary(bytes: Uint8Array, context: Context): Layout {
  if (bytes.length === 0) return text("<<>>");
  const shape = binaryShape(bytes, context.otp, context.range);
  if (shape.kind === "latin1") return text(`<<${stringText(shape.chars)}>>`);
  if (shape.kind === "utf8") return text(`<<${stringText(shape.chars)}/utf8>>`);
  const items = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) items[i] = String(bytes[i]);
  return bytesLayout(items);
}

function bitBinary(value: BitBinary, context: Context): Layout {
  const { data, bits } = value;
  if (data.length === 0 || bits === 8) return binary(data, context);
  const items: string[] = [];
  for (let i = 0; i < data.length - 1; i++) items.push(String(data[i]));
  items.push(`${data[data.length - 1] >> (8 - bits)}:${bits}`); // the last byte's high `bits` bits
  return bytesLayout(items);
}

function nativeRecord(record: NativeRecord<Encodable>, context: Context, depth: number): Layout {
  const name = `#${atomText(record.module.name, context.otp)}:${atomText(record.name.name, context.otp)}`;
  const fields = new Array<FieldLayout>(record.fieldNames.length);
  for (let i = 0; i < fields.length; i++) {
    const fieldName = atomText(record.fieldNames[i].name, context.otp);
    fields[i] = fieldLayout(fieldName, charCount(fieldName), measure(record.values[i], context, depth));
  }
  return recordLayout(name, charCount(name), fields);
}
