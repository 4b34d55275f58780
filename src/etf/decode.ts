// Decoder of the External Term Format. Every byte is untrusted: each read is bounds-checked, a claimed length is
// checked against the bytes that remain before anything is allocated for it, nesting is bounded, and compressed
// terms are inflated only up to a limit. Failures are DecodeErrors with the offset of the offending byte.

import { Buffer, isUtf8 } from "node:buffer";
import { inflateSync } from "node:zlib";
import { DecodeError, type DecodeErrorReason } from "./errors.js";
import { NativeRecord, repeatedFieldIndex } from "./native-record.js";
// Tags are named (./tags.js) except in the switches and tests of the hot paths, which use the numbers with the
// name beside them: V8 compiles a switch on imported constants as a chain of loads and compares, but on literals
// as a jump table (a small message decodes in a fifth fewer instructions).
import * as T from "./tags.js";
import { viewOfArrayBuffer } from "../common/buffer-view.js";
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
  internForDecode,
  type Term,
} from "./types.js";

/** Options of {@link decode} and {@link decodeTerm}. */
export interface DecodeOptions {
  /** Deepest nesting of tuples, lists, maps, funs and native records accepted (default 1000). */
  maxDepth?: number;
  /** Largest uncompressed size a compressed term may claim, in bytes (default 256 MiB). */
  maxInflatedSize?: number;
  /** Copy binaries out of the input instead of returning views into it (default false: views, no copy). */
  copyBinaries?: boolean;
  /** Decode floats to plain numbers instead of {@link Float}; lossy (1.0 re-encodes as the integer 1). */
  floatsAsNumbers?: boolean;
  /** Atoms of the distribution header's atom cache, indexed as ATOM_CACHE_REF refers to them. */
  atomCache?: ReadonlyArray<Atom | undefined>;
  /**
   * Decode a binary that is valid UTF-8 to a JS string (Elixir's strings), any other binary to a Buffer as usual
   * (default false). Lossless: a string encodes back to the same binary. Binary map keys are strings either way.
   */
  binariesAsStrings?: boolean;
  /**
   * Decode the atom `nil` (Elixir's nil) to `null` (default false). Lossless when the encoder has `nilAsNull` too,
   * which writes `null` as `nil`.
   */
  nilAsNull?: boolean;
}

/**
 * How terms map to JS values for people rather than for exact protocol work (Elixir's strings and nil): the
 * decode options of that name, also understood by {@link EncodeOptions} (`nilAsNull`) and by a node's `terms`.
 */
export type TermOptions = Pick<DecodeOptions, "binariesAsStrings" | "nilAsNull">;

const DEFAULT_MAX_DEPTH = 1000;
const DEFAULT_MAX_INFLATED = 256 * 1024 * 1024;

// Decoder state lives in module variables: decoding never re-enters user code, and this is measurably faster than
// passing a state object. decodeCompressed saves and restores it around the inner term.
let buf: Buffer = Buffer.alloc(0);
/**
 * `buf.buffer` and `buf.byteOffset`, read on the first binary of a decode (the getters are not free, and most
 * control messages have no binary): undefined until then.
 */
let bufArray: ArrayBufferLike | undefined;
let bufOffset = 0;
let pos = 0;
let end = 0;
let maxDepth = DEFAULT_MAX_DEPTH;
let maxInflated = DEFAULT_MAX_INFLATED;
let copyBinaries = false;
let floatsAsNumbers = false;
let binariesAsStrings = false;
let nilAsNull = false;
let atomCache: ReadonlyArray<Atom | undefined> | undefined;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(reason: DecodeErrorReason, offset: number, detail: string, cause?: unknown): never {
  throw new DecodeError(reason, offset, detail, cause === undefined ? undefined : { cause });
}

// need() is called on every read, and V8 inlines it only while it stays this small: the message is built elsewhere.
function need(n: number): void {
  if (end - pos < n) truncated(n);
}

function truncated(n: number): never {
  return fail("truncated", pos, `needs ${n} more byte(s) but only ${end - pos} remain`);
}

// The readers below copy the input and the cursor to locals first: every use of a module variable is a load from
// memory (and a store for pos++), where locals stay in registers.
function u16(): number {
  const input = buf;
  const at = pos;
  pos = at + 2;
  return (input[at] << 8) | input[at + 1];
}

function u32(): number {
  const input = buf;
  const at = pos;
  pos = at + 4;
  return ((input[at] << 24) | (input[at + 1] << 16) | (input[at + 2] << 8) | input[at + 3]) >>> 0;
}

function i32(): number {
  const input = buf;
  const at = pos;
  pos = at + 4;
  return (input[at] << 24) | (input[at + 1] << 16) | (input[at + 2] << 8) | input[at + 3];
}

function toInput(input: Uint8Array): Buffer {
  if (Buffer.isBuffer(input)) return input;
  if (!(input instanceof Uint8Array)) throw new TypeError("decode expects a Buffer or Uint8Array");
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Drops what was derived from `buf` (its ArrayBuffer, the float view): called whenever `buf` changes. */
function forgetInputViews(): void {
  bufArray = undefined;
  floatView = undefined;
}

function setup(input: Uint8Array, offset: number, options: DecodeOptions | undefined): void {
  buf = toInput(input);
  forgetInputViews();
  floatsRead = 0;
  pos = offset;
  end = buf.length;
  if (options === undefined) {
    // The commonest case (every control message): the defaults, without reading an options object.
    maxDepth = DEFAULT_MAX_DEPTH;
    maxInflated = DEFAULT_MAX_INFLATED;
    copyBinaries = false;
    floatsAsNumbers = false;
    binariesAsStrings = false;
    nilAsNull = false;
    atomCache = undefined;
    return;
  }
  maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  maxInflated = options?.maxInflatedSize ?? DEFAULT_MAX_INFLATED;
  copyBinaries = options?.copyBinaries ?? false;
  floatsAsNumbers = options?.floatsAsNumbers ?? false;
  binariesAsStrings = options?.binariesAsStrings === true;
  nilAsNull = options?.nilAsNull === true;
  atomCache = options?.atomCache;
}

function release(): void {
  // Do not keep the caller's input (possibly large) reachable after decoding.
  buf = EMPTY;
  forgetInputViews();
  atomCache = undefined;
}
const EMPTY = Buffer.alloc(0);

/**
 * Decodes one term in the External Term Format. The input must start with the version byte 131 and hold exactly
 * one term. Throws {@link DecodeError} for anything else.
 */
export function decode(input: Uint8Array, options?: DecodeOptions): Term {
  setup(input, 0, options);
  try {
    if (end === 0) fail("truncated", 0, "the input is empty");
    if (buf[0] !== 131 /* VERSION */) fail("bad_version", 0, `expected version byte 131, found ${buf[0]}`);
    pos = 1;
    const term = pos < end && buf[pos] === 80 /* COMPRESSED */ ? decodeCompressed(0) : readTerm(0);
    if (pos !== end) fail("trailing_bytes", pos, `${end - pos} byte(s) after the end of the term`);
    return term;
  } catch (err) {
    throw stackOverflowAsDecodeError(err);
  } finally {
    release();
  }
}

/** The JS stack can run out before maxDepth when decode is called from deep inside other code: same error. */
function stackOverflowAsDecodeError(err: unknown): unknown {
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new DecodeError("too_deep", pos, "terms nest deeper than the JavaScript stack allows", { cause: err });
  }
  return err;
}

/**
 * Decodes one term without a version byte, starting at `offset`, as the distribution protocol sends control
 * messages after a distribution header. Returns the term and the offset just past it.
 */
export function decodeTerm(input: Uint8Array, offset: number, options?: DecodeOptions): { term: Term; offset: number } {
  setup(input, offset, options);
  try {
    const term = readTerm(0);
    return { term, offset: pos };
  } catch (err) {
    throw stackOverflowAsDecodeError(err);
  } finally {
    release();
  }
}

function decodeCompressed(depth: number): Term {
  const start = pos;
  pos++;
  need(4);
  const size = u32();
  if (size > maxInflated) {
    fail("too_large", start, `compressed term claims ${size} bytes, more than maxInflatedSize (${maxInflated})`);
  }
  let inflated: Buffer;
  try {
    inflated = inflateSync(buf.subarray(pos, end), { maxOutputLength: Math.max(size, 1) });
  } catch (err) {
    return fail("bad_compression", pos, `the zlib data does not inflate to ${size} bytes`, err);
  }
  if (inflated.length !== size) {
    fail("bad_compression", pos, `the zlib data inflates to ${inflated.length} bytes, not the claimed ${size}`);
  }
  const outer = { buf, pos, end };
  buf = inflated;
  forgetInputViews();
  pos = 0;
  end = inflated.length;
  let term: Term;
  try {
    term = readTerm(depth);
    if (pos !== end) fail("trailing_bytes", pos, `${end - pos} byte(s) after the end of the compressed term`);
  } catch (err) {
    if (err instanceof DecodeError) {
      // Offsets inside the inflated data mean little to the caller: report them relative to it, say so.
      throw new DecodeError(err.reason, outer.pos, `inside the compressed term, at inflated byte ${err.offset}: ${err.detail}`);
    }
    throw err;
  }
  buf = outer.buf;
  forgetInputViews();
  pos = outer.end;
  end = outer.end;
  return term;
}

/** An atom's text. UTF-8 atoms must be valid UTF-8 (BEAM refuses others too); latin-1 ones map byte to char. */
function readString(start: number, length: number, latin1: boolean): string {
  if (length < 32) {
    let s = "";
    for (let i = start; i < start + length; i++) {
      const c = buf[i];
      if (c >= 0x80 && !latin1) return utf8Text(start, length);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return latin1 ? buf.toString("latin1", start, start + length) : utf8Text(start, length);
}

function utf8Text(start: number, length: number): string {
  const bytes = buf.subarray(start, start + length);
  if (!isUtf8(bytes)) fail("bad_value", start, "an atom's text is not valid UTF-8");
  return bytes.toString("utf8");
}

/**
 * A cheap hash of a short byte run for the caches below: length and a few sampled bytes (a hit is confirmed by
 * comparing every byte, so a weak hash only costs a miss).
 */
function sampleHash(start: number, length: number, salt: number): number {
  if (length === 0) return salt;
  const last = start + length - 1;
  let hash = Math.imul(length ^ (salt << 8), 0x9e3779b1);
  hash = Math.imul(hash ^ buf[start], 0x01000193);
  hash = Math.imul(hash ^ buf[last], 0x01000193);
  hash = Math.imul(hash ^ buf[start + (length >>> 1)], 0x01000193);
  hash = Math.imul(hash ^ buf[last - (length >>> 2)], 0x01000193);
  return hash ^ (hash >>> 15);
}

/** True when `known` holds exactly the `length` input bytes at `start` (a cache hit). */
function sameBytesAt(known: Uint8Array, start: number, length: number): boolean {
  if (known.length !== length) return false;
  const input = buf;
  for (let i = 0; i < length; i++) if (known[i] !== input[start + i]) return false;
  return true;
}

// Recently decoded atoms, found by their bytes so that a hit builds no string and does no Map lookup. Fixed size
// (a collision replaces the slot), so peers cannot grow it.
const RECENT_SIZE = 4096;
const recentHash = new Int32Array(RECENT_SIZE);
const recentBytes = new Array<Uint8Array | undefined>(RECENT_SIZE).fill(undefined);
const recentAtoms = new Array<Atom | undefined>(RECENT_SIZE).fill(undefined);

/** The atom whose text is `length` bytes at `start` (latin-1 or UTF-8 as the tag says). */
function atomAt(start: number, length: number, latin1: boolean): Atom {
  const hash = sampleHash(start, length, latin1 ? 1 : 2);
  const slot = hash & (RECENT_SIZE - 1);
  const known = recentBytes[slot];
  if (known !== undefined && recentHash[slot] === hash && sameBytesAt(known, start, length)) return recentAtoms[slot]!;
  const value = internForDecode(readString(start, length, latin1));
  recentHash[slot] = hash;
  recentBytes[slot] = Uint8Array.prototype.slice.call(buf, start, start + length);
  recentAtoms[slot] = value;
  return value;
}

const TRUE_ATOM = internForDecode("true");
const FALSE_ATOM = internForDecode("false");
const NIL_ATOM = internForDecode("nil");

/** In term position, the atoms true and false are JS booleans, and with nilAsNull, nil is null. */
function asTermAtom(value: Atom): Atom | boolean | null {
  if (value === TRUE_ATOM) return true;
  if (value === FALSE_ATOM) return false;
  if (nilAsNull && (value === NIL_ATOM || value.name === "nil")) return null;
  return value.name === "true" ? true : value.name === "false" ? false : value;
}

/** Reads an atom where the format requires one (node names, fun modules); never turns it into a boolean. */
function readAtom(): Atom {
  const start = pos;
  need(1);
  const tag = buf[pos++];
  let length: number;
  let latin1 = false;
  switch (tag) {
    case 119: // SMALL_ATOM_UTF8
      need(1);
      length = buf[pos++];
      break;
    case 118: // ATOM_UTF8
      need(2);
      length = u16();
      break;
    case 115: // SMALL_ATOM
      need(1);
      length = buf[pos++];
      latin1 = true;
      break;
    case 100: // ATOM
      need(2);
      length = u16();
      latin1 = true;
      break;
    case 82: // ATOM_CACHE_REF
      return cachedAtom(start);
    default:
      return fail("bad_tag", start, `expected an atom, found tag ${tag}`);
  }
  need(length);
  const value = atomAt(pos, length, latin1);
  pos += length;
  return value;
}

function cachedAtom(start: number): Atom {
  need(1);
  const index = buf[pos++];
  const cached = atomCache?.[index];
  if (cached === undefined) fail("atom_cache", start, `atom cache reference ${index} has no entry`);
  return cached;
}

/** Reads an integer where the format requires SMALL_INTEGER or INTEGER (fun fields). */
function readSmallInteger(): number {
  const start = pos;
  need(1);
  const tag = buf[pos++];
  if (tag === 97 /* SMALL_INTEGER */) {
    need(1);
    return buf[pos++];
  }
  if (tag === 98 /* INTEGER */) {
    need(4);
    return i32();
  }
  return fail("bad_tag", start, `expected an integer, found tag ${tag}`);
}

function readPid(): Pid {
  const start = pos;
  need(1);
  const tag = buf[pos++];
  if (tag !== 88 /* NEW_PID */ && tag !== 103 /* PID */) fail("bad_tag", start, `expected a pid, found tag ${tag}`);
  return pidBody(tag);
}

function pidBody(tag: number): Pid {
  const node = readAtom();
  if (tag === 88 /* NEW_PID */) {
    need(12);
    return new Pid(node, u32(), u32(), u32());
  }
  need(9);
  return new Pid(node, u32(), u32(), buf[pos++]);
}

function bigBody(length: number, start: number): number | bigint {
  need(1 + length);
  const sign = buf[pos++];
  if (sign > 1) fail("bad_value", start, `bignum sign byte must be 0 or 1, found ${sign}`);
  const digits = pos;
  pos += length;
  if (length <= 6) {
    let value = 0;
    for (let i = length - 1; i >= 0; i--) value = value * 256 + buf[digits + i];
    return sign === 0 ? value : -value || 0;
  }
  // Little-endian digits to a hex string, most significant first: linear time for any length.
  let hex = "";
  for (let i = length - 1; i >= 0; i--) hex += HEX[buf[digits + i]];
  let big = BigInt("0x" + hex);
  if (sign === 1) big = -big;
  return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A view of `length` input bytes at `start` (no copy). */
function inputView(start: number, length: number): Buffer {
  if (bufArray === undefined) {
    bufArray = buf.buffer;
    bufOffset = buf.byteOffset;
  }
  return viewOfArrayBuffer(bufArray, bufOffset + start, length);
}

function binaryAt(start: number, length: number): Buffer {
  const view = inputView(start, length);
  return copyBinaries ? Buffer.from(view) : view;
}

/**
 * A DataView of the input, made at its FLOAT_VIEW_AFTER'th float: V8 compiles DataView's getFloat64 to one
 * byte-swapped load, where assembling a float from bytes takes sixteen bounds-checked accesses, but making the
 * view costs about as much as a few floats. Reset for each input.
 */
let floatView: DataView | undefined;
let floatsRead = 0;
const FLOAT_VIEW_AFTER = 4;

function float64(): number {
  const at = pos;
  pos = at + 8;
  if (floatView !== undefined) return floatView.getFloat64(at);
  if (++floatsRead >= FLOAT_VIEW_AFTER) {
    if (bufArray === undefined) {
      bufArray = buf.buffer;
      bufOffset = buf.byteOffset;
    }
    floatView = new DataView(bufArray, bufOffset, end);
    return floatView.getFloat64(at);
  }
  const input = buf;
  if (littleEndian) {
    f64Bytes[7] = input[at];
    f64Bytes[6] = input[at + 1];
    f64Bytes[5] = input[at + 2];
    f64Bytes[4] = input[at + 3];
    f64Bytes[3] = input[at + 4];
    f64Bytes[2] = input[at + 5];
    f64Bytes[1] = input[at + 6];
    f64Bytes[0] = input[at + 7];
  } else {
    for (let i = 0; i < 8; i++) f64Bytes[i] = input[at + i];
  }
  return f64[0];
}

function floatValue(value: number, start: number): Float | number {
  if (!Number.isFinite(value)) fail("bad_value", start, "floats must be finite (no NaN or infinity)");
  return floatsAsNumbers ? value : new Float(value);
}

function readTerm(depth: number): Term {
  if (pos >= end) fail("truncated", pos, "expected a term but the input ended");
  // Only the commonest tags are decoded here; each of the rest has its own function, which keeps this frame
  // small (deep terms recurse through it) and the hot path short.
  switch (buf[pos++]) {
    case 97: // SMALL_INTEGER
      need(1);
      return buf[pos++];
    case 98: // INTEGER
      need(4);
      return i32();
    case 119: // SMALL_ATOM_UTF8
      return readSmallAtomUtf8();
    case 100: // ATOM: OTP 25's term_to_binary/1 still writes latin-1 atoms this way
      pos--;
      return asTermAtom(readAtom());
    case 104: // SMALL_TUPLE
      need(1);
      return readTupleElements(buf[pos++], depth, pos - 2);
    case 82: // ATOM_CACHE_REF: every atom of a message from BEAM, after its first
      return asTermAtom(cachedAtom(pos - 1));
    case 88: // NEW_PID
      return pidBody(88 /* NEW_PID */);
    case 106: // NIL
      return [];
    case 108: // LIST
      return readList(depth, pos - 1);
    case 109: // BINARY
      return binariesAsStrings ? readBinaryText() : readBinary();
    case 116: // MAP
      return readMap(depth, pos - 1);
    case 70: { // NEW_FLOAT
      const start = pos - 1;
      need(8);
      return floatValue(float64(), start);
    }
    default:
      return readOther(buf[pos - 1], depth, pos - 1);
  }
}

function readSmallAtomUtf8(): Atom | boolean | null {
  need(1);
  const length = buf[pos++];
  need(length);
  const value = atomAt(pos, length, false);
  pos += length;
  return asTermAtom(value);
}

function readTupleElements(arity: number, depth: number, start: number): Tuple {
  need(arity); // every element takes at least one byte
  if (depth >= maxDepth) tooDeep(start);
  const elements = new Array<Term>(arity);
  for (let i = 0; i < arity; i++) elements[i] = readTerm(depth + 1);
  return new Tuple(elements);
}

function tooDeep(start: number): never {
  return fail("too_deep", start, `terms nest deeper than maxDepth (${maxDepth})`);
}

function readBinary(): Buffer {
  need(4);
  const length = u32();
  need(length);
  const data = binaryAt(pos, length);
  pos += length;
  return data;
}

/** With binariesAsStrings: the binary as a string when it is valid UTF-8, else as readBinary gives it. */
function readBinaryText(): string | Buffer {
  need(4);
  const length = u32();
  need(length);
  const start = pos;
  pos += length;
  return textOrBinary(start, length);
}

function textOrBinary(start: number, length: number): string | Buffer {
  if (length < 32) {
    // Short ASCII, the common case, without making a view; anything else is checked as a whole below.
    let text = "";
    let i = start;
    for (; i < start + length; i++) {
      const c = buf[i];
      if (c >= 0x80) break;
      text += String.fromCharCode(c);
    }
    if (i === start + length) return text;
  }
  const bytes = inputView(start, length);
  if (isUtf8(bytes)) return bytes.toString("utf8");
  return copyBinaries ? Buffer.from(bytes) : bytes;
}

function readMap(depth: number, start: number): Map<Term, Term> {
  need(4);
  const arity = u32();
  if (arity > (end - pos) / 2) fail("truncated", pos, `map claims ${arity} pairs but only ${end - pos} bytes remain`);
  if (depth >= maxDepth) tooDeep(start);
  const map = new Map<Term, Term>();
  for (let i = 0; i < arity; i++) {
    const key = pos < end && buf[pos] === 109 /* BINARY */ ? readBinaryKey() : readTerm(depth + 1);
    map.set(key, readTerm(depth + 1));
  }
  return map;
}

// Binary map keys that are UTF-8 text decode to JS strings, which encode back to the same binary: so that
// `map.get("name")` works on Elixir-style maps (a Buffer key could only be found by identity). Short keys repeat
// across maps, so recent ones are found by their bytes and the same string (already hashed) is reused.
const KEY_CACHE_SIZE = 1024;
const MAX_CACHED_KEY = 64;
const keyHash = new Int32Array(KEY_CACHE_SIZE);
const keyBytes = new Array<Uint8Array | undefined>(KEY_CACHE_SIZE).fill(undefined);
const keyText = new Array<string>(KEY_CACHE_SIZE).fill("");

function readBinaryKey(): string | Buffer {
  pos++;
  need(4);
  const length = u32();
  need(length);
  const start = pos;
  pos += length;
  if (length > MAX_CACHED_KEY) {
    const bytes = inputView(start, length);
    return isUtf8(bytes) ? bytes.toString("utf8") : copyBinaries ? Buffer.from(bytes) : bytes;
  }
  const hash = sampleHash(start, length, 3);
  const slot = hash & (KEY_CACHE_SIZE - 1);
  const known = keyBytes[slot];
  if (known !== undefined && keyHash[slot] === hash && sameBytesAt(known, start, length)) return keyText[slot];
  let ascii = true;
  let text = "";
  for (let i = start; i < start + length; i++) {
    const c = buf[i];
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    text += String.fromCharCode(c);
  }
  if (!ascii) {
    const bytes = inputView(start, length);
    if (!isUtf8(bytes)) return copyBinaries ? Buffer.from(bytes) : bytes;
    text = bytes.toString("utf8");
  }
  keyHash[slot] = hash;
  keyBytes[slot] = Uint8Array.prototype.slice.call(buf, start, start + length);
  keyText[slot] = text;
  return text;
}

function readOther(tag: number, depth: number, start: number): Term {
  switch (tag) {
    case 118: // ATOM_UTF8
    case 100: // ATOM
    case 115: { // SMALL_ATOM
      pos--;
      return asTermAtom(readAtom());
    }
    case 82: // ATOM_CACHE_REF
      return asTermAtom(cachedAtom(start));
    case 105: // LARGE_TUPLE
      need(4);
      return readTupleElements(u32(), depth, start);
    case 107: { // STRING
      need(2);
      const length = u16();
      need(length);
      const chars = new Array<number>(length);
      for (let i = 0; i < length; i++) chars[i] = buf[pos + i];
      pos += length;
      return chars;
    }
    case 70: // NEW_FLOAT
      need(8);
      return floatValue(float64(), start);
    case 99: { // FLOAT
      need(31);
      const text = buf.toString("latin1", pos, pos + 31);
      pos += 31;
      const nul = text.indexOf("\0");
      const digits = (nul === -1 ? text : text.slice(0, nul)).trim();
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(digits)) {
        fail("bad_value", start, "FLOAT_EXT does not hold a decimal float");
      }
      return floatValue(Number(digits), start);
    }
    case 110: // SMALL_BIG
      need(1);
      return bigBody(buf[pos++], start);
    case 111: // LARGE_BIG
      need(4);
      return bigBody(u32(), start);
    case 88: // NEW_PID
    case 103: // PID
      return pidBody(tag);
    case 90: // NEWER_REFERENCE
    case 114: { // NEW_REFERENCE
      need(2);
      const count = u16();
      if (count < 1 || count > 5) fail("bad_value", start, `a reference has 1 to 5 id words, not ${count}`);
      const node = readAtom();
      let creation: number;
      if (tag === 90 /* NEWER_REFERENCE */) {
        need(4);
        creation = u32();
      } else {
        need(1);
        creation = buf[pos++];
      }
      need(4 * count);
      const ids = new Array<number>(count);
      for (let i = 0; i < count; i++) ids[i] = u32();
      return new Reference(node, creation, ids);
    }
    case 101: { // REFERENCE
      const node = readAtom();
      need(5);
      const id = u32();
      return new Reference(node, buf[pos++], [id]);
    }
    case 89: { // NEW_PORT
      const node = readAtom();
      need(8);
      return new Port(node, u32(), u32());
    }
    case 120: { // V4_PORT
      const node = readAtom();
      need(12);
      const high = u32();
      const low = u32();
      const id = high < 0x200000 ? high * 0x100000000 + low : (BigInt(high) << 32n) | BigInt(low);
      return new Port(node, id, u32());
    }
    case 102: { // PORT
      const node = readAtom();
      need(5);
      return new Port(node, u32(), buf[pos++]);
    }
    case 77: { // BIT_BINARY
      need(5);
      const length = u32();
      const bits = buf[pos++];
      if (length === 0 ? bits !== 0 : bits < 1 || bits > 8) {
        fail("bad_value", start, `a bitstring's last byte holds 1 to 8 bits, not ${bits}`);
      }
      need(length);
      const whole = bits === 8 || length === 0;
      // A whole-byte BIT_BINARY_EXT is just a binary, so it follows binariesAsStrings as BINARY_EXT does.
      const data = whole && binariesAsStrings ? textOrBinary(pos, length) : binaryAt(pos, length);
      pos += length;
      return whole ? data : new BitBinary(data as Buffer, bits);
    }
    case 112: // NEW_FUN
      return readFun(depth, start);
    case 67: // RECORD
      return readNativeRecord(depth, start);
    case 113: { // EXPORT
      const module = readAtom();
      const name = readAtom();
      const arityStart = pos;
      need(2);
      if (buf[pos] !== T.SMALL_INTEGER) fail("bad_tag", arityStart, "an export fun's arity must be a SMALL_INTEGER");
      pos++;
      return new ExportFun(module, name, buf[pos++]);
    }
    case 121: { // LOCAL
      const bytes = copyBinaries ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end);
      pos = end;
      return new LocalTerm(bytes);
    }
    case 80: // COMPRESSED
      return fail("bad_tag", start, "a compressed term (tag 80) may only follow the version byte");
    default:
      return fail("bad_tag", start, `unknown tag ${tag}`);
  }
}

function readList(depth: number, start: number): Term[] | ImproperList {
  need(4);
  const length = u32();
  need(length + 1); // each element takes at least one byte, and so does the tail
  if (depth >= maxDepth) tooDeep(start);
  const elements = new Array<Term>(length);
  // Integers inline, on local copies of the cursor and the input (module variables live in memory, locals in
  // registers): lists of numbers are the commonest long lists, and this is most of the cost of decoding them.
  const input = buf;
  const stop = end;
  let at = pos;
  for (let i = 0; i < length; i++) {
    const tag = input[at];
    if (tag === 97 /* SMALL_INTEGER */ && stop - at >= 2) {
      elements[i] = input[at + 1];
      at += 2;
    } else if (tag === 98 /* INTEGER */ && stop - at >= 5) {
      elements[i] = (input[at + 1] << 24) | (input[at + 2] << 16) | (input[at + 3] << 8) | input[at + 4];
      at += 5;
    } else {
      pos = at;
      elements[i] = readTerm(depth + 1);
      at = pos;
    }
  }
  pos = at;
  if (buf[pos] === 106 /* NIL */) {
    pos++;
    return elements;
  }
  const tail = readTerm(depth + 1);
  // A list tail that is itself a list only continues the list; BEAM never sends this, but it is well-formed.
  if (Array.isArray(tail)) return elements.concat(tail);
  if (tail instanceof ImproperList) return new ImproperList(elements.concat(tail.elements), tail.tail);
  return new ImproperList(elements, tail);
}

/** RECORD_EXT: Arity u32, Flags u8 (bit 0: exported; BEAM refuses the others), module, name, field names, values. */
function readNativeRecord(depth: number, start: number): NativeRecord {
  need(5);
  const arity = u32();
  const flags = buf[pos++];
  if (flags > 1) fail("bad_value", pos - 1, `a native record's flags byte must be 0 or 1 (bit 0: exported), not ${flags}`);
  // Each field takes at least 3 bytes: a name atom (2, as a cache reference or an empty atom) and a value (1).
  if (arity > (end - pos) / 3) fail("truncated", pos, `native record claims ${arity} fields but only ${end - pos} bytes remain`);
  if (depth >= maxDepth) tooDeep(start);
  const module = readAtom();
  const name = readAtom();
  const fieldNames = new Array<Atom>(arity);
  for (let i = 0; i < arity; i++) fieldNames[i] = readAtom();
  const repeated = repeatedFieldIndex(fieldNames);
  if (repeated !== -1) fail("bad_value", start, `native record field '${fieldNames[repeated].name}' appears twice`);
  const values = new Array<Term>(arity);
  for (let i = 0; i < arity; i++) values[i] = readTerm(depth + 1);
  return new NativeRecord(module, name, fieldNames, values, flags === 1);
}

function readFun(depth: number, start: number): Fun {
  need(4 + 1 + 16 + 4 + 4);
  const size = u32();
  const arity = buf[pos++];
  const uniq = binaryAt(pos, 16);
  pos += 16;
  const index = u32();
  const numFree = u32();
  if (numFree > end - pos) fail("truncated", pos, `fun claims ${numFree} free variables but only ${end - pos} bytes remain`);
  if (depth >= maxDepth) tooDeep(start);
  const module = readAtom();
  const oldIndex = readSmallInteger();
  const oldUniq = readSmallInteger();
  const pid = readPid();
  const freeVars = new Array<Term>(numFree);
  for (let i = 0; i < numFree; i++) freeVars[i] = readTerm(depth + 1);
  if (pos - start - 1 !== size) {
    fail("bad_value", start, `NEW_FUN_EXT claims ${size} bytes but its fields take ${pos - start - 1}`);
  }
  return new Fun(arity, uniq, index, module, oldIndex, oldUniq, pid, freeVars);
}
