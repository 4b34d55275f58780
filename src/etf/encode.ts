// Encoder of the External Term Format. Terms are written straight into a slab (a 64 KiB buffer shared by the
// encodings that fit in it, as Node's Buffer pool) and returned as views of it: no copy, and no allocation but the
// view. A term that outgrows the slab moves to a buffer of its own, which is handed over whole.

import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { EncodedTerm } from "./encoded-term.js";
import { EncodeError } from "./errors.js";
import { NativeRecord, repeatedFieldIndex } from "./native-record.js";
import * as T from "./tags.js";
import { viewOf, viewOfArrayBuffer } from "../common/buffer-view.js";
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
  atom,
  ENCODED,
  type Encodable,
} from "./types.js";

/** Options of {@link encode}. */
export interface EncodeOptions {
  /**
   * Compress with zlib (tag 80) as `term_to_binary(T, [compressed])` does: `true` for level 6, or a level 0-9.
   * As in BEAM, the uncompressed form is returned when compressing does not make the term smaller.
   */
  compressed?: boolean | number;
  /**
   * How ports are written. "v4" (the default): always V4_PORT_EXT (tag 120), as `term_to_binary` does since OTP 26
   * and as the distribution writes them to a peer with DFLAG_V4_NC; every node since OTP 24 decodes it.
   * "new_port": NEW_PORT_EXT (tag 89) when the id fits 32 bits and V4_PORT_EXT only beyond, as OTP 25's
   * `term_to_binary` (and OTP 25 to a peer without V4_NC).
   */
  ports?: "v4" | "new_port";
  /**
   * Whether native records (RECORD_EXT, OTP 29) may be written (default true). false for a receiver that cannot
   * decode them: encoding a {@link NativeRecord} then throws EncodeError instead of bytes the receiver would refuse.
   */
  nativeRecords?: boolean;
  /** Who the encoding is for (e.g. a peer node's name and why it cannot take a term), as EncodeErrors name it. */
  receiver?: string;
  /**
   * Write `null` as the atom `nil` (Elixir's nil), the counterpart of the decode option of that name (default
   * false: null throws EncodeError). A plain object's fields whose value is `undefined` are then left out of the
   * map, as JSON.stringify leaves them out (`{ a: 1, b: undefined }` is `%{a: 1}`); `undefined` anywhere else
   * (a list element, a tuple element, a Map value) still throws, since it is almost always a missing value.
   */
  nilAsNull?: boolean;
}

// The options of the encoding under way (set by applyOptions at the start of each call).
let portsAlwaysV4 = true;
let nativeRecordsAllowed = true;
let receiver: string | undefined;
let nilAsNull = false;

function applyOptions(options: EncodeOptions | undefined): void {
  portsAlwaysV4 = options?.ports !== "new_port";
  nativeRecordsAllowed = options?.nativeRecords ?? true;
  receiver = options?.receiver;
  nilAsNull = options?.nilAsNull === true;
}

/** Deepest nesting the encoder follows (a cyclic structure would otherwise overflow the stack). */
export const MAX_ENCODE_DEPTH = 10_000;

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

function encodeFailure(term: Encodable, err: unknown): unknown {
  reset();
  if (isStackOverflow(err)) return new EncodeError("", "nested deeper than the JavaScript stack allows (a cycle?)");
  return err instanceof EncodeError ? withPath(term, err) : err;
}

const SLAB_SIZE = 64 * 1024;
/** Below this much room left, a new encoding starts on a fresh slab. */
const SLAB_MIN_ROOM = 4096;
/** Outputs at least this large are handed over with the scratch buffer they were written in: a copy costs more. */
const HAND_OVER_SIZE = 256 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
/** `slab`'s ArrayBuffer (all of it), for the views handed out: Buffer#subarray would read `.buffer` each time. */
let slabArray = slab.buffer as ArrayBuffer;
let slabUsed = 0;
/** Where a term that outgrows the slab's room is written instead; reused, so its pages stay warm. */
let scratch = Buffer.allocUnsafeSlow(SLAB_SIZE);
/** Where the bytes go: the slab or the scratch buffer. */
let out: Buffer = slab;
/** Write position in `out`, and where the current encoding started in it. */
let pos = 0;
let base = 0;

function begin(): void {
  if (slab.length - slabUsed < SLAB_MIN_ROOM) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabArray = slab.buffer as ArrayBuffer;
    slabUsed = 0;
  }
  out = slab;
  base = pos = slabUsed;
}

function reset(): void {
  out = slab;
  pos = base = slabUsed;
}

/** The encoding just written, as a Buffer of its own bytes. */
function finish(): Buffer {
  const length = pos - base;
  let result: Buffer;
  if (out === slab) {
    result = viewOfArrayBuffer(slabArray, base, length); // a view: the slab space is taken, no copy
    slabUsed = (pos + 7) & ~7;
  } else if (length >= HAND_OVER_SIZE) {
    result = viewOf(scratch, 0, length); // big: hand the scratch buffer over rather than copy it
    scratch = Buffer.allocUnsafeSlow(SLAB_SIZE);
  } else {
    result = Buffer.allocUnsafe(length);
    scratch.copy(result, 0, 0, length);
  }
  out = slab;
  pos = base = slabUsed;
  dropFloatView();
  return result;
}

/** Makes room for `needed` more bytes: moves the encoding from the slab to the scratch buffer, or grows that. */
function grow(needed: number): void {
  const used = pos - base;
  if (out !== scratch && used + needed <= scratch.length) {
    out.copy(scratch, 0, base, pos); // from the slab, or from encodeFrameInto's target
  } else {
    const bigger = Buffer.allocUnsafeSlow(Math.max(used * 2, used + needed, SLAB_SIZE));
    out.copy(bigger, 0, base, pos);
    scratch = bigger;
  }
  out = scratch;
  pos = used;
  base = 0;
}

/**
 * While encodeFrameSegments runs: the parts of the frame cut off so far. Large binaries are not copied: they go
 * into this list by reference, between the encoded bytes before and after them.
 */
let segments: Buffer[] | undefined;
/** While encodeFrameInto runs: the caller's buffer it writes into, until the frame outgrows it. */
let into: Buffer | undefined;
/** Binaries at least this large travel by reference in encodeFrameSegments. */
const ZERO_COPY_MIN = 64 * 1024;

/** Makes the bytes written since `base` a segment, and carries on writing after them. */
function cut(): void {
  if (out === into) grow(0); // a segment never refers to encodeFrameInto's target: the bytes move to the scratch buffer
  segments!.push(viewOf(out, base, pos - base));
  if (out === slab) {
    slabUsed = (pos + 7) & ~7;
  } else {
    scratch = Buffer.allocUnsafeSlow(SLAB_SIZE); // the segment refers to it: it is the caller's now
  }
  begin();
}

function ensure(needed: number): void {
  if (pos + needed > out.length) grow(needed);
}

function u16At(at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value;
}

function u32At(at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/**
 * Encodes a term in the External Term Format, with the version byte 131 first. Throws {@link EncodeError} for a
 * value that has no Erlang form (undefined, null, NaN, a symbol, a function, a class instance it does not know).
 */
export function encode(term: Encodable, options?: EncodeOptions): Buffer {
  applyOptions(options);
  begin();
  try {
    ensure(1);
    out[pos++] = T.VERSION;
    writeTerm(term, 0);
  } catch (err) {
    throw encodeFailure(term, err);
  }
  const plain = finish();
  return options?.compressed ? compress(plain, options.compressed) : plain;
}

/**
 * Encodes `term` without the version byte, as the distribution protocol sends terms after a distribution header.
 */
export function encodeBody(term: Encodable, options?: EncodeOptions): Buffer {
  applyOptions(options);
  begin();
  try {
    writeTerm(term, 0);
  } catch (err) {
    throw encodeFailure(term, err);
  }
  return finish();
}

/**
 * Encodes one distribution packet in a single buffer: a 4-byte length, `prefix` (a distribution header or the
 * pass-through byte), then each term (with the version byte when `versioned`). One allocation and one socket
 * write per message, instead of one per part.
 */
export function encodeFrame(prefix: Uint8Array, terms: readonly Encodable[], versioned: boolean, options?: EncodeOptions): Buffer {
  applyOptions(options);
  begin();
  let i = 0; // which term failed, for the error's path
  try {
    startFrame(prefix);
    for (; i < terms.length; i++) writeFrameTerm(terms[i], versioned);
  } catch (err) {
    throw encodeFailure(terms[i], err);
  }
  u32At(base, pos - base - 4);
  return finish();
}

/**
 * As encodeFrame, but large binaries (64 KiB and up) are not copied: the frame comes back as a list of buffers to
 * write in order, which refer to those binaries. `controlEnd` is where the first term ends, counted from the
 * frame's first byte. The caller must not change the binaries until the buffers are written. `options` (ports,
 * nativeRecords, receiver) say what the receiving peer decodes.
 */
export function encodeFrameSegments(
  prefix: Uint8Array,
  terms: readonly Encodable[],
  versioned: boolean,
  options?: EncodeOptions,
): { parts: Buffer[]; controlEnd: number } {
  applyOptions(options);
  begin();
  const parts: Buffer[] = [];
  segments = parts;
  let controlEnd = 0;
  let i = 0; // which term failed, for the error's path
  try {
    startFrame(prefix);
    for (; i < terms.length; i++) {
      writeFrameTerm(terms[i], versioned);
      if (i === 0) controlEnd = lengthOf(parts) + (pos - base);
    }
  } catch (err) {
    segments = undefined;
    throw encodeFailure(terms[i], err);
  }
  segments = undefined;
  return finishSegments(parts, controlEnd);
}

/** A frame as encodeFrameSegments returns it: the buffers to write in order, and where the control message ends. */
export interface FrameSegments {
  parts: Buffer[];
  controlEnd: number;
}

/** The segments list encodeFrameInto starts each frame with (reused: most frames need none). */
const intoSegments: Buffer[] = [];

/**
 * Encodes one frame as encodeFrameSegments does (a 4-byte length, `prefix`, the control message and the payload),
 * straight into `target` from offset `at`: for a writer that gathers the frames of a turn in a buffer of its own and
 * writes them together. Returns the offset where the frame ends when all of it fitted in `target` (then nothing was
 * allocated); otherwise, when it outgrew `target` or holds a binary that travels by reference, the frame's segments,
 * none of which refers to `target`, whose bytes from `at` on are then unspecified.
 */
export function encodeFrameInto(
  target: Buffer,
  at: number,
  prefix: Uint8Array,
  control: Encodable,
  payload: Encodable | undefined,
  versioned: boolean,
  options?: EncodeOptions,
): number | FrameSegments {
  applyOptions(options);
  out = into = target;
  base = pos = at;
  intoSegments.length = 0;
  segments = intoSegments;
  let controlEnd = 0;
  let term = control; // the term being written, for the error's path
  try {
    startFrame(prefix);
    writeFrameTerm(control, versioned);
    controlEnd = lengthOf(intoSegments) + (pos - base);
    if (payload !== undefined) writeFrameTerm((term = payload), versioned);
  } catch (err) {
    segments = into = undefined;
    dropFloatView();
    throw encodeFailure(term, err);
  }
  segments = into = undefined;
  dropFloatView();
  if (out === target) {
    u32At(base, pos - base - 4);
    const end = pos;
    reset();
    return end;
  }
  return finishSegments(intoSegments.slice(), controlEnd);
}

/** A frame's start: room for its 4-byte length (filled in at the end), then `prefix`. */
function startFrame(prefix: Uint8Array): void {
  ensure(4);
  pos += 4;
  writeRaw(prefix);
}

/** One of a frame's terms, after its own version byte when `versioned` (pass-through frames). */
function writeFrameTerm(term: Encodable, versioned: boolean): void {
  if (versioned) {
    ensure(1);
    out[pos++] = T.VERSION;
  }
  writeTerm(term, 0);
}

/** Ends a frame cut into segments: the last bytes become its last part, and its length goes in the first. */
function finishSegments(parts: Buffer[], controlEnd: number): FrameSegments {
  parts.push(finish());
  u32Into(parts[0], lengthOf(parts) - 4);
  return { parts, controlEnd };
}

function lengthOf(parts: readonly Buffer[]): number {
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].length;
  return total;
}

function u32Into(target: Buffer, value: number): void {
  target[0] = value >>> 24;
  target[1] = value >>> 16;
  target[2] = value >>> 8;
  target[3] = value;
}

function compress(plain: Buffer, setting: boolean | number): Buffer {
  const level = setting === true ? 6 : Number(setting);
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`compressed must be true or a zlib level from 0 to 9, not ${setting}`);
  }
  const body = plain.subarray(1);
  const packed = deflateSync(body, { level });
  if (packed.length + 5 >= body.length) return plain;
  const result = Buffer.allocUnsafe(6 + packed.length);
  result[0] = T.VERSION;
  result[1] = T.COMPRESSED;
  result.writeUInt32BE(body.length, 2);
  packed.copy(result, 6);
  return result;
}

function writeTerm(term: Encodable, depth: number): void {
  // An if-chain of typeof tests, not a switch on typeof: V8 turns each test into a type check, where a switch makes
  // it build the type's name and compare strings.
  if (typeof term === "object") {
    if (term === null) {
      if (nilAsNull) return writeAtom(NIL);
      throw new EncodeError(
        "",
        "null has no Erlang form by default; pass atom('nil') or atom('undefined'), or turn on nilAsNull (the encode option, " +
          "or Node.start({ terms: { nilAsNull: true } })) to send null as nil",
      );
    }
    if (depth > MAX_ENCODE_DEPTH) throw new EncodeError("", `nested deeper than ${MAX_ENCODE_DEPTH} (a cycle?)`);
    return writeObject(term, depth);
  }
  if (typeof term === "number") return writeNumber(term);
  if (typeof term === "string") return writeString(term);
  if (typeof term === "boolean") return writeAtom(term ? TRUE : FALSE);
  if (typeof term === "bigint") return writeBigInt(term);
  if (typeof term === "undefined") {
    throw new EncodeError(
      "",
      nilAsNull
        ? "undefined has no Erlang form (only a plain object's undefined fields are left out); pass null or atom('nil') for nil"
        : "undefined has no Erlang form; pass atom('nil') or atom('undefined') (with nilAsNull, null is nil and a plain " +
            "object's undefined fields are left out)",
    );
  }
  throw new EncodeError("", `a ${typeof term} has no Erlang form`);
}

const TRUE = atom("true");
const FALSE = atom("false");
const NIL = atom("nil");

// Each term class's prototype carries a small number saying what it is, read with one property load: cheaper than
// Object.getPrototypeOf, which V8 runs in its runtime unless it can inline it, and than chains of instanceof. The
// key is a symbol of this module, so no plain object (a map from the user's data) can claim it.
//
// The kinds are literal numbers in writeObject's switch, not a const enum or named constants. Compilers that take
// one file at a time (ts-node, esbuild, vitest) emit a const enum as an object, and V8 compiles a switch on values
// loaded from it, or from module constants, as a chain of compares: bench:etf (under ts-node) encoded the map-heavy
// and the deep-nested items three times slower.
const KIND: unique symbol = Symbol("erldist.encodeKind");
type Kind = number;
for (const [type, kind] of [
  [Atom, 1],
  [Tuple, 2],
  [Float, 3],
  [Pid, 4],
  [Reference, 5],
  [Port, 6],
  [ImproperList, 7],
  [BitBinary, 8],
  [Fun, 9],
  [ExportFun, 10],
  [NativeRecord, 11],
  [LocalTerm, 12],
  [EncodedTerm, 13],
] as const) {
  Object.defineProperty(type.prototype, KIND, { value: kind });
}
const OBJECT_PROTO = Object.prototype;

/** Whether `value` is an Atom, by its prototype's KIND (an instanceof of an imported class is a builtin call). */
function isAtomTerm(value: unknown): value is Atom {
  return typeof value === "object" && value !== null && (value as { [KIND]?: Kind })[KIND] === 1; // Atom's kind
}

function writeObject(term: object, depth: number): void {
  // Lists and binaries first, with checks V8 compiles inline (instance types): the KIND load below sees every class
  // of term, so V8 makes it a megamorphic lookup in its stub cache, which for an array or a Buffer (no KIND) costs
  // the most, a miss up the whole prototype chain.
  if (Array.isArray(term)) return writeList(term as Encodable[], depth);
  if (ArrayBuffer.isView(term)) {
    if (term instanceof Uint8Array) return writeBinary(term);
    throw new EncodeError("", `a ${term.constructor?.name ?? "typed array"} has no Erlang form (binaries are Uint8Arrays)`);
  }
  switch ((term as { [KIND]?: Kind })[KIND]) {
    case 1: // Atom
      return writeAtom(term as Atom);
    case 2: // Tuple
      return writeTuple((term as Tuple).elements, depth);
    case 3: // Float
      return writeFloat((term as Float).value);
    case 4: // Pid
      return writePid(term as Pid);
    case 5: // Reference
      return writeReference(term as Reference);
    case 6: // Port
      return writePort(term as Port);
    case 7: // ImproperList
      return writeImproperList(term as ImproperList, depth);
    case 8: // BitBinary
      return writeBitBinary(term as BitBinary);
    case 9: // Fun
      return writeFun(term as Fun, depth);
    case 10: // ExportFun
      return writeExport(term as ExportFun);
    case 11: // NativeRecord
      return writeNativeRecord(term as NativeRecord, depth);
    case 12: // LocalTerm
      return writeRaw((term as LocalTerm).bytes);
    case 13: // EncodedTerm
      return writeRaw((term as EncodedTerm).bytes);
  }
  if (term instanceof Map) return writeMap(term as ReadonlyMap<Encodable, Encodable>, depth);
  const proto = Object.getPrototypeOf(term);
  if (proto === OBJECT_PROTO || proto === null) return writeObjectMap(term as Record<string, Encodable | undefined>, depth);
  throw new EncodeError("", `a ${term.constructor?.name ?? "object"} instance has no Erlang form`);
}

function writeNumber(value: number): void {
  if (Number.isInteger(value)) {
    if (value >= 0 && value <= 255) {
      ensure(2);
      out[pos++] = T.SMALL_INTEGER;
      out[pos++] = value;
      return;
    }
    if (value >= -0x80000000 && value <= 0x7fffffff) {
      ensure(5);
      out[pos++] = T.INTEGER;
      u32At(pos, value);
      pos += 4;
      return;
    }
    if (Number.isSafeInteger(value)) {
      ensure(10);
      out[pos++] = T.SMALL_BIG;
      const lengthAt = pos++;
      out[pos++] = value < 0 ? 1 : 0;
      let rest = Math.abs(value);
      let length = 0;
      while (rest > 0) {
        out[pos++] = rest % 256;
        rest = Math.floor(rest / 256);
        length++;
      }
      out[lengthAt] = length;
      return;
    }
    return writeBigInt(BigInt(value));
  }
  if (!Number.isFinite(value)) throw new EncodeError("", `${value} has no Erlang form (floats are finite)`);
  writeFloat(value);
}

/**
 * A DataView of the buffer floats were last written to (`floatViewOf`), made on the first float written to it:
 * V8 compiles DataView's setFloat64 to one byte-swapped store, where copying the bytes of a Float64Array takes
 * sixteen bounds-checked accesses. `out` changes rarely (a new slab, a bigger scratch buffer, a frame target).
 */
let floatView: DataView | undefined;
let floatViewOf: Buffer | undefined;

function writeFloat(value: number): void {
  ensure(9);
  const o = out;
  const p = pos;
  pos = p + 9;
  o[p] = T.NEW_FLOAT;
  let view = floatView;
  if (floatViewOf !== o || view === undefined) {
    view = floatView = new DataView(o.buffer, o.byteOffset, o.length);
    floatViewOf = o;
  }
  view.setFloat64(p + 1, value);
}

/** Lets go of the float view unless it is of the slab (it would keep a handed-over or caller's buffer alive). */
function dropFloatView(): void {
  if (floatViewOf !== undefined && floatViewOf !== slab) floatView = floatViewOf = undefined;
}

function writeBigInt(value: bigint): void {
  if (value >= -0x80000000n && value <= 0x7fffffffn) return writeNumber(Number(value));
  const negative = value < 0n;
  let hex = (negative ? -value : value).toString(16);
  if (hex.length & 1) hex = "0" + hex;
  const length = hex.length >>> 1;
  if (length > 0xffffffff) throw new EncodeError("", "integer too large for LARGE_BIG_EXT");
  ensure(length + 6);
  if (length <= 255) {
    out[pos++] = T.SMALL_BIG;
    out[pos++] = length;
  } else {
    out[pos++] = T.LARGE_BIG;
    u32At(pos, length);
    pos += 4;
  }
  out[pos++] = negative ? 1 : 0;
  // Digits are little-endian: the last hex pair is the least significant byte.
  for (let i = hex.length - 2; i >= 0; i -= 2) out[pos++] = parseInt(hex.substr(i, 2), 16);
}

// Each atom's encoding is computed once and kept on the (immutable) Atom.
function atomBytes(value: Atom): Uint8Array {
  let bytes = value[ENCODED];
  if (bytes === undefined) {
    const name = Buffer.from(value.name, "utf8");
    let chars = 0;
    for (const _ of value.name) chars++;
    if (chars > 255) throw new EncodeError("", `atom '${value.name.slice(0, 40)}...' is longer than 255 characters`);
    if (name.length <= 255) {
      bytes = new Uint8Array(2 + name.length);
      bytes[0] = T.SMALL_ATOM_UTF8;
      bytes[1] = name.length;
      bytes.set(name, 2);
    } else {
      bytes = new Uint8Array(3 + name.length);
      bytes[0] = T.ATOM_UTF8;
      bytes[1] = name.length >>> 8;
      bytes[2] = name.length;
      bytes.set(name, 3);
    }
    value[ENCODED] = bytes;
  }
  return bytes;
}

function writeAtom(value: Atom): void {
  writeRaw(atomBytes(value));
}

function writeRaw(bytes: Uint8Array): void {
  const length = bytes.length;
  ensure(length);
  const o = out;
  const p = pos;
  // A byte loop costs V8 some 30 instructions a byte; set() about 150 in all.
  if (length <= 4) {
    for (let i = 0; i < length; i++) o[p + i] = bytes[i];
  } else {
    o.set(bytes, p);
  }
  pos = p + length;
}

function writeString(value: string): void {
  const length = value.length;
  ensure(5 + length * 3);
  out[pos] = T.BINARY;
  const start = pos + 5;
  let written = 0;
  if (length < 64) {
    // Short strings: copy ASCII directly, fall back to the UTF-8 writer at the first non-ASCII code unit.
    for (; written < length; written++) {
      const c = value.charCodeAt(written);
      if (c >= 0x80) break;
      out[start + written] = c;
    }
    if (written < length) written = out.write(value, start);
  } else {
    written = out.write(value, start);
  }
  u32At(pos + 1, written);
  pos = start + written;
}

function writeBinary(value: Uint8Array): void {
  const length = value.length;
  if (segments !== undefined && length >= ZERO_COPY_MIN) {
    ensure(5);
    out[pos] = T.BINARY;
    u32At(pos + 1, length);
    pos += 5;
    cut();
    segments.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length));
    return;
  }
  ensure(5 + length);
  out[pos] = T.BINARY;
  u32At(pos + 1, length);
  pos += 5;
  if (length <= 4) {
    for (let i = 0; i < length; i++) out[pos + i] = value[i];
  } else {
    out.set(value, pos);
  }
  pos += length;
}

function writeBitBinary(value: BitBinary): void {
  const { data, bits } = value;
  if (data.length === 0 || bits === 8) return writeBinary(data);
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
    throw new EncodeError("", `a BitBinary's bits must be 1 to 8, not ${bits}`);
  }
  ensure(6 + data.length);
  out[pos] = T.BIT_BINARY;
  u32At(pos + 1, data.length);
  out[pos + 5] = bits;
  pos += 6;
  out.set(data, pos);
  pos += data.length;
}

function writeTuple(elements: readonly Encodable[], depth: number): void {
  const arity = elements.length;
  if (arity <= 255) {
    ensure(2);
    out[pos++] = T.SMALL_TUPLE;
    out[pos++] = arity;
  } else {
    ensure(5);
    out[pos++] = T.LARGE_TUPLE;
    u32At(pos, arity);
    pos += 4;
  }
  for (let i = 0; i < arity; i++) writeTerm(elements[i], depth + 1);
}

function isByteList(list: readonly Encodable[]): boolean {
  const length = list.length;
  if (length > 0xffff) return false;
  for (let i = 0; i < length; i++) {
    const v = list[i];
    if (typeof v !== "number" || !(v >= 0 && v <= 255) || !Number.isInteger(v)) return false;
  }
  return true;
}

function writeList(list: readonly Encodable[], depth: number): void {
  const length = list.length;
  if (length === 0) {
    ensure(1);
    out[pos++] = T.NIL;
    return;
  }
  if (typeof list[0] === "number" && isByteList(list)) {
    // BEAM sends lists of bytes as STRING_EXT; do the same (it is the same term, smaller).
    ensure(3 + length);
    out[pos++] = T.STRING;
    u16At(pos, length);
    pos += 2;
    for (let i = 0; i < length; i++) out[pos++] = list[i] as number;
    return;
  }
  ensure(5);
  out[pos++] = T.LIST;
  u32At(pos, length);
  pos += 4;
  // 32-bit integers inline, on local copies of the output and its cursor (module variables live in memory, locals
  // in registers): lists of numbers are the commonest long lists.
  let o = out;
  let p = pos;
  for (let i = 0; i < length; i++) {
    const v = list[i];
    if (typeof v === "number" && (v | 0) === v) {
      if (p + 5 > o.length) {
        pos = p;
        grow(5);
        o = out;
        p = pos;
      }
      if (v >= 0 && v <= 255) {
        o[p++] = T.SMALL_INTEGER;
        o[p++] = v;
      } else {
        o[p++] = T.INTEGER;
        o[p++] = v >>> 24;
        o[p++] = v >>> 16;
        o[p++] = v >>> 8;
        o[p++] = v;
      }
    } else {
      pos = p;
      writeTerm(v, depth + 1);
      o = out;
      p = pos;
    }
  }
  pos = p;
  ensure(1);
  out[pos++] = T.NIL;
}

function writeImproperList(value: ImproperList, depth: number): void {
  const { elements, tail } = value;
  if (elements.length === 0) return writeTerm(tail as Encodable, depth + 1);
  ensure(5);
  out[pos++] = T.LIST;
  u32At(pos, elements.length);
  pos += 4;
  for (let i = 0; i < elements.length; i++) writeTerm(elements[i], depth + 1);
  writeTerm(tail as Encodable, depth + 1);
}

let mapDepth = 0;
function writeMapEntry(value: Encodable, key: Encodable): void {
  writeTerm(key, mapDepth);
  writeTerm(value, mapDepth);
}

function writeMap(map: ReadonlyMap<Encodable, Encodable>, depth: number): void {
  ensure(5);
  out[pos++] = T.MAP;
  u32At(pos, map.size);
  pos += 4;
  // forEach with a named function allocates no [key, value] pair per entry, unlike for...of.
  const outer = mapDepth;
  mapDepth = depth + 1;
  map.forEach(writeMapEntry);
  mapDepth = outer;
}

function writeObjectMap(object: Record<string, Encodable | undefined>, depth: number): void {
  const keys = Object.keys(object);
  let size = keys.length;
  // The map's size comes first, so undefined fields (left out with nilAsNull) are counted before anything is written.
  if (nilAsNull) for (let i = 0; i < keys.length; i++) if (object[keys[i]] === undefined) size--;
  ensure(5);
  out[pos++] = T.MAP;
  u32At(pos, size);
  pos += 4;
  for (let i = 0; i < keys.length; i++) {
    const value = object[keys[i]];
    if (value === undefined && nilAsNull) continue;
    writeAtom(atom(keys[i]));
    writeTerm(value as Encodable, depth + 1);
  }
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new EncodeError("", `${what} must be an integer from 0 to 2^32-1, not ${value}`);
  }
}

/**
 * The last two pids encoded more than once and their bytes: a node sends from the same few pids over and over (every
 * control message names its sender), and one copy of their bytes costs half of encoding them again. A pid is kept
 * only when it comes twice in a row of misses, so a list of distinct pids allocates nothing. The fields are compared
 * too, so a changed Pid is never sent stale.
 */
interface EncodedPid {
  pid: Pid | undefined;
  node: Atom | undefined;
  id: number;
  serial: number;
  creation: number;
  bytes: Uint8Array;
}
const NO_PID: EncodedPid = { pid: undefined, node: undefined, id: 0, serial: 0, creation: 0, bytes: new Uint8Array(0) };
let recentPid = NO_PID;
let olderPid = NO_PID;
let seenOnce: Pid | undefined;

function isEncodingOf(known: EncodedPid, pid: Pid): boolean {
  return known.pid === pid && known.id === pid.id && known.serial === pid.serial && known.creation === pid.creation && known.node === pid.node;
}

function writePid(pid: Pid): void {
  const recent = recentPid;
  if (isEncodingOf(recent, pid)) return writeRaw(recent.bytes);
  const older = olderPid;
  if (isEncodingOf(older, pid)) {
    olderPid = recent;
    recentPid = older;
    return writeRaw(older.bytes);
  }
  if (pid !== seenOnce) {
    seenOnce = pid;
    const { id, serial, creation, node } = checkedPid(pid);
    const name = atomBytes(node);
    ensure(13 + name.length);
    pos = writePidBytes(out, pos, name, id, serial, creation);
    return;
  }
  olderPid = recent;
  recentPid = encodedPid(pid);
  writeRaw(recentPid.bytes);
}

function checkedPid(pid: Pid): Pid {
  const { id, serial, creation, node } = pid;
  if (id >>> 0 !== id || serial >>> 0 !== serial || creation >>> 0 !== creation) {
    checkU32(id, "a pid's id");
    checkU32(serial, "a pid's serial");
    checkU32(creation, "a pid's creation");
  }
  if (!isAtomTerm(node)) throw new EncodeError("", "a node name must be an Atom");
  return pid;
}

function encodedPid(pid: Pid): EncodedPid {
  const { id, serial, creation, node } = checkedPid(pid);
  const name = atomBytes(node);
  const bytes = new Uint8Array(13 + name.length);
  writePidBytes(bytes, 0, name, id, serial, creation);
  return { pid, node, id, serial, creation, bytes };
}

/** Writes NEW_PID_EXT at `at` (room checked by the caller); returns where it ends. */
function writePidBytes(o: Uint8Array, at: number, name: Uint8Array, id: number, serial: number, creation: number): number {
  let p = at;
  o[p++] = T.NEW_PID;
  o.set(name, p); // a byte loop costs V8 some 30 instructions a byte; set() about 150 in all
  p += name.length;
  o[p++] = id >>> 24;
  o[p++] = id >>> 16;
  o[p++] = id >>> 8;
  o[p++] = id;
  o[p++] = serial >>> 24;
  o[p++] = serial >>> 16;
  o[p++] = serial >>> 8;
  o[p++] = serial;
  o[p++] = creation >>> 24;
  o[p++] = creation >>> 16;
  o[p++] = creation >>> 8;
  o[p++] = creation;
  return p;
}

function writeAtomAfterTag(tag: number, node: Atom): void {
  if (!isAtomTerm(node)) throw new EncodeError("", "a node name must be an Atom");
  ensure(1);
  out[pos++] = tag;
  writeAtom(node);
}

function writeReference(ref: Reference): void {
  const ids = ref.ids;
  const count = ids.length;
  const creation = ref.creation;
  if (count < 1 || count > 5) throw new EncodeError("", `a reference has 1 to 5 id words, not ${count}`);
  // `x >>> 0 === x` holds exactly for integers from 0 to 2^32-1: the full check (and its message) only when it fails.
  if (creation >>> 0 !== creation) checkU32(creation, "a reference's creation");
  for (let i = 0; i < count; i++) if (ids[i] >>> 0 !== ids[i]) checkU32(ids[i], "a reference id word");
  ensure(3);
  out[pos++] = T.NEWER_REFERENCE;
  out[pos++] = 0;
  out[pos++] = count;
  writeAtom(ref.node);
  ensure(4 + 4 * count);
  u32At(pos, creation);
  pos += 4;
  for (let i = 0; i < count; i++) {
    u32At(pos, ids[i]);
    pos += 4;
  }
}

function writePort(port: Port): void {
  checkU32(port.creation, "a port's creation");
  const id = port.id;
  if (!portsAlwaysV4 && typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= 0xffffffff) {
    writeAtomAfterTag(T.NEW_PORT, port.node);
    ensure(8);
    u32At(pos, id);
    u32At(pos + 4, port.creation);
    pos += 8;
    return;
  }
  let high: number;
  let low: number;
  if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) {
    high = Math.floor(id / 0x100000000);
    low = id >>> 0;
  } else {
    if (typeof id === "number" && !Number.isInteger(id)) throw new EncodeError("", `a port id must be an integer, not ${id}`);
    const big = BigInt(id);
    if (big < 0n || big > 0xffffffffffffffffn) throw new EncodeError("", `a port id must fit 64 bits, not ${id}`);
    high = Number(big >> 32n);
    low = Number(big & 0xffffffffn);
  }
  writeAtomAfterTag(T.V4_PORT, port.node);
  ensure(12);
  u32At(pos, high);
  u32At(pos + 4, low);
  u32At(pos + 8, port.creation);
  pos += 12;
}

function writeSmallOrInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new EncodeError("", `${what} must be a 32-bit integer, not ${value}`);
  }
  // OldUniq is unsigned in BEAM but travels as a signed INTEGER_EXT.
  writeNumber(value > 0x7fffffff ? value - 0x100000000 : value);
}

function writeFun(fun: Fun, depth: number): void {
  if (fun.uniq.length !== 16) throw new EncodeError("", "a fun's uniq must be 16 bytes");
  // Relative to `base`: writing the free variables may move the encoding to another buffer (grow).
  const start = pos - base;
  ensure(1 + 4 + 1 + 16 + 4 + 4);
  out[pos++] = T.NEW_FUN;
  pos += 4; // size, patched below
  out[pos++] = fun.arity;
  out.set(fun.uniq, pos);
  pos += 16;
  u32At(pos, fun.index);
  u32At(pos + 4, fun.freeVars.length);
  pos += 8;
  writeAtom(fun.module);
  writeSmallOrInteger(fun.oldIndex, "a fun's old index");
  writeSmallOrInteger(fun.oldUniq, "a fun's old uniq");
  writePid(fun.pid);
  for (let i = 0; i < fun.freeVars.length; i++) writeTerm(fun.freeVars[i], depth + 1);
  u32At(base + start + 1, pos - base - start - 1);
}

function writeExport(fun: ExportFun): void {
  if (!Number.isInteger(fun.arity) || fun.arity < 0 || fun.arity > 255) {
    throw new EncodeError("", `an export fun's arity must be 0 to 255, not ${fun.arity}`);
  }
  writeAtomAfterTag(T.EXPORT, fun.module);
  writeAtom(fun.function);
  ensure(2);
  out[pos++] = T.SMALL_INTEGER;
  out[pos++] = fun.arity;
}

function writeNativeRecord(record: NativeRecord<Encodable>, depth: number): void {
  const { module, name, fieldNames, values } = record;
  if (!(module instanceof Atom) || !(name instanceof Atom)) throw new EncodeError("", "a native record's module and name must be Atoms");
  if (!nativeRecordsAllowed) refuseNativeRecord(module, name);
  const arity = fieldNames.length;
  if (values.length !== arity) {
    throw new EncodeError("", `a native record needs one value per field: ${arity} field names, ${values.length} values`);
  }
  for (let i = 0; i < arity; i++) {
    if (!(fieldNames[i] instanceof Atom)) throw new EncodeError("", "a native record's field names must be Atoms");
  }
  const repeated = repeatedFieldIndex(fieldNames);
  if (repeated !== -1) {
    throw new EncodeError("", `native record field '${fieldNames[repeated].name}' appears twice (BEAM refuses such a record)`);
  }
  ensure(6);
  out[pos++] = T.RECORD;
  u32At(pos, arity);
  out[pos + 4] = record.exported ? 1 : 0;
  pos += 5;
  writeAtom(module);
  writeAtom(name);
  for (let i = 0; i < arity; i++) writeAtom(fieldNames[i]);
  for (let i = 0; i < arity; i++) writeTerm(values[i], depth + 1);
}

function refuseNativeRecord(module: Atom, name: Atom): never {
  const what = `the native record #${module.name}:${name.name}{}`;
  throw new EncodeError(
    "",
    receiver === undefined
      ? `${what} cannot be written: native records are turned off (nativeRecords: false); encode record.toMap() or a tuple instead`
      : `${what} cannot go to ${receiver}: native records (RECORD_EXT) are new in OTP 29 and older nodes cannot decode them; ` +
          "send record.toMap() or a tuple instead, or run OTP 29 or later on that node",
  );
}

/** Finds where in `root` the first value without an Erlang form is, to say so in the error (slow path only). */
function withPath(root: Encodable, err: EncodeError): EncodeError {
  if (err.detail.includes("nested deeper")) return err;
  const path = findBadPath(root, "");
  reset();
  return path === undefined || path === "" ? err : new EncodeError(path, err.detail);
}

function encodes(value: unknown): boolean {
  reset();
  try {
    writeTerm(value as Encodable, 0);
    return true;
  } catch {
    return false;
  }
}

function findBadPath(value: unknown, path: string): string | undefined {
  if (encodes(value)) return undefined;
  let children: Array<[string, unknown]> = [];
  if (Array.isArray(value)) children = value.map((v, i) => [`[${i}]`, v]);
  else if (value instanceof Tuple) children = value.elements.map((v, i) => [`{${i}}`, v]);
  else if (value instanceof ImproperList) {
    children = value.elements.map((v, i): [string, unknown] => [`[${i}]`, v]);
    children.push([".tail", value.tail]);
  } else if (value instanceof Map) {
    let i = 0;
    for (const [k, v] of value) {
      children.push([`<key ${i}>`, k], [`<value ${i}>`, v]);
      i++;
    }
  } else if (value instanceof Fun) children = value.freeVars.map((v, i) => [`.freeVars[${i}]`, v]);
  else if (value instanceof NativeRecord) children = value.values.map((v, i) => [`#${value.fieldNames[i]?.name}`, v]);
  else if (value !== null && typeof value === "object" && (value.constructor === Object || value.constructor === undefined)) {
    children = Object.entries(value)
      .filter(([, v]) => !(v === undefined && nilAsNull)) // left out, so never the culprit
      .map(([k, v]): [string, unknown] => [`.${k}`, v]);
  }
  for (const [step, child] of children) {
    const found = findBadPath(child, path + step);
    if (found !== undefined) return found;
  }
  return path;
}
