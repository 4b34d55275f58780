// The JavaScript shapes of Erlang terms. Every term a BEAM node can send has a shape here that encodes back to a
// term =:= to the original, so atoms, tuples, floats, charlists and improper lists stay distinguishable.

import type { NativeRecord } from "./native-record.js";

const inspect = Symbol.for("nodejs.util.inspect.custom");

/**
 * How util.inspect shows a term: format.ts installs its ~tp formatter here when it loads (the etf index loads it).
 * It is installed rather than imported because format.ts needs this module's classes to exist first.
 */
let termInspector: (term: unknown) => string = (term) => Object.prototype.toString.call(term);

/** @internal Sets what util.inspect of every term type shows (format.ts calls it once). */
export function setTermInspector(inspector: (term: unknown) => string): void {
  termInspector = inspector;
}

/** @internal util.inspect of a term: the installed formatter's text. */
export function inspectTerm(term: unknown): string {
  return termInspector(term);
}

/** Where an Atom keeps its encoded bytes once the encoder has computed them (internal to the codec). */
export const ENCODED: unique symbol = Symbol("erldist.encodedAtom");

/**
 * An Erlang atom. Atoms made by {@link atom} and by the decoder are interned, so `atom("ok") === atom("ok")`; the
 * decoder stops interning after {@link ATOM_INTERN_LIMIT} distinct names (a peer cannot grow memory without bound),
 * so compare atoms from untrusted peers with `.name` or {@link isAtom}.
 */
export class Atom {
  /** The atom's text, as Unicode. */
  readonly name: string;
  /** @internal The atom's External Term Format encoding, filled in by the encoder on first use. */
  [ENCODED]: Uint8Array | undefined;
  /** Prefer {@link atom}, which interns. */
  constructor(name: string) {
    this.name = name;
    this[ENCODED] = undefined;
  }
  toString(): string {
    return this.name;
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** How many distinct atom names the decoder interns before it starts handing out uninterned atoms. */
export const ATOM_INTERN_LIMIT = 100_000;

const interned = new Map<string, Atom>();

/** Returns the interned atom with this name (creating it). Booleans are atoms in Erlang: `true`/`false` decode to JS booleans. */
export function atom(name: string): Atom {
  let found = interned.get(name);
  if (found === undefined) {
    found = new Atom(name);
    interned.set(name, found);
  }
  return found;
}

/** The decoder's atom lookup: interned while the table has room, a fresh uninterned atom after that. */
export function internForDecode(name: string): Atom {
  const found = interned.get(name);
  if (found !== undefined) return found;
  const made = new Atom(name);
  if (interned.size < ATOM_INTERN_LIMIT) interned.set(name, made);
  return made;
}

/** True when `value` is an atom (optionally: with this name). */
export function isAtom(value: unknown, name?: string): value is Atom {
  return value instanceof Atom && (name === undefined || value.name === name);
}

/**
 * An Erlang tuple. Elements are kept in a plain array; `tuple(a, b)` makes one. Decoded tuples hold {@link Term}s;
 * tuples built to be encoded may hold any {@link Encodable}.
 */
export class Tuple<E extends Encodable = Term> {
  readonly elements: E[];
  constructor(elements: E[]) {
    this.elements = elements;
  }
  /** Number of elements (the tuple's size). */
  get length(): number {
    return this.elements.length;
  }
  /** The element at a zero-based index (negative counts from the end, as Array.prototype.at). */
  at(index: number): E | undefined {
    return this.elements.at(index);
  }
  [Symbol.iterator](): Iterator<E> {
    return this.elements[Symbol.iterator]();
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** Makes a tuple of the arguments. */
export function tuple(...elements: Encodable[]): Tuple<Encodable> {
  return new Tuple(elements);
}

/**
 * An Erlang float. Floats decode to `Float` (not to a bare number) so that `1.0` stays a float through a round trip;
 * `valueOf()` makes them usable in arithmetic. Encoding a non-integral JS number also produces a float.
 */
export class Float {
  readonly value: number;
  constructor(value: number) {
    if (!Number.isFinite(value)) throw new RangeError(`Erlang floats are finite; got ${value}`);
    this.value = value;
  }
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return String(this.value);
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** Makes an Erlang float; `float(1)` encodes as `1.0`, not as the integer 1. */
export function float(value: number): Float {
  return new Float(value);
}

/** An Erlang process identifier. */
export class Pid {
  constructor(
    /** The node the process lives on. */
    readonly node: Atom,
    /** Process number (32 bits since OTP 24's V4_NC; 15 bits before). */
    readonly id: number,
    /** Serial (32 bits since V4_NC; 13 bits before). */
    readonly serial: number,
    /** The node incarnation (32-bit creation; small values come from the old PID_EXT). */
    readonly creation: number,
  ) {}
  toString(): string {
    return `<${this.node.name}.${this.id}.${this.serial}>`;
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** An Erlang reference: a node, a creation and one to five 32-bit id words (uninterpreted). */
export class Reference {
  constructor(
    readonly node: Atom,
    readonly creation: number,
    readonly ids: readonly number[],
  ) {}
  toString(): string {
    return `#Ref<${this.node.name}.${[...this.ids].reverse().join(".")}>`;
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** An Erlang port identifier. `id` is a number, or a bigint when a 64-bit V4 port id exceeds 2^53. */
export class Port {
  constructor(
    readonly node: Atom,
    readonly id: number | bigint,
    readonly creation: number,
  ) {}
  toString(): string {
    return `#Port<${this.node.name}.${this.id}>`;
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/**
 * A bitstring whose length is not a whole number of bytes: `data` holds the bytes and `bits` (1 to 7) says how many
 * of the last byte's high bits belong to it. Whole binaries decode to Buffer instead.
 */
export class BitBinary {
  constructor(
    readonly data: Uint8Array,
    readonly bits: number,
  ) {}
  /** Length in bits. */
  get bitLength(): number {
    return this.data.length === 0 ? 0 : (this.data.length - 1) * 8 + this.bits;
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** A list whose final tail is not `[]`, such as `[a | b]`: the elements and the tail. */
export class ImproperList<E extends Encodable = Term> {
  constructor(
    readonly elements: E[],
    readonly tail: E,
  ) {}
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** Makes an improper list `[e1, e2, ... | tail]`. */
export function improperList(elements: Encodable[], tail: Encodable): ImproperList<Encodable> {
  return new ImproperList(elements, tail);
}

/** A local fun (NEW_FUN_EXT), kept field by field so that it re-encodes exactly. */
export class Fun {
  constructor(
    readonly arity: number,
    /** 16-byte MD5 of the module's code. */
    readonly uniq: Uint8Array,
    readonly index: number,
    readonly module: Atom,
    readonly oldIndex: number,
    readonly oldUniq: number,
    readonly pid: Pid,
    readonly freeVars: Encodable[],
  ) {}
  [inspect](): string {
    return inspectTerm(this);
  }
}

/** An external fun, `fun Module:Function/Arity` (EXPORT_EXT). */
export class ExportFun {
  readonly module: Atom;
  readonly function: Atom;
  readonly arity: number;
  constructor(module: Atom, fn: Atom, arity: number) {
    this.module = module;
    this.function = fn;
    this.arity = arity;
  }
  [inspect](): string {
    return inspectTerm(this);
  }
}

/**
 * A term in OTP's node-local format (LOCAL_EXT, tag 121, from `term_to_binary(T, [local])`). Its layout is private
 * to the node that made it, so it is carried as the opaque bytes (starting with the tag) to the end of the input.
 */
export class LocalTerm {
  constructor(readonly bytes: Uint8Array) {}
  [inspect](): string {
    return inspectTerm(this);
  }
}

/**
 * What {@link decode} returns. A `string` is a binary: binary map keys that are UTF-8 text decode to JS strings
 * (which encode back to the same binary), so `map.get("name")` works on Elixir-style maps, and with the decode
 * option `binariesAsStrings` every UTF-8 binary does. `null` is the atom `nil`, only with the option `nilAsNull`.
 */
export type Term =
  | null
  | string
  | number
  | bigint
  | boolean
  | Atom
  | Float
  | Tuple
  | Term[]
  | ImproperList
  | Buffer
  | BitBinary
  | Map<Term, Term>
  | Pid
  | Reference
  | Port
  | Fun
  | ExportFun
  | NativeRecord
  | LocalTerm;

/**
 * What {@link encode} accepts: every {@link Term}, plus conveniences: a JS string encodes as a UTF-8 binary
 * (Elixir's strings), any Uint8Array as a binary, and a plain object as a map with atom keys. `null` encodes (as
 * `nil`) only with the encode option `nilAsNull`, which also leaves out a plain object's `undefined` fields;
 * without it both throw an EncodeError.
 */
export type Encodable =
  | Term
  | Tuple<Encodable>
  | ImproperList<Encodable>
  | NativeRecord<Encodable>
  | string
  | Uint8Array
  | Encodable[]
  | ReadonlyMap<Encodable, Encodable>
  | { readonly [key: string]: Encodable | undefined };

/** Makes a charlist (Erlang's "string", a list of code points) from a JS string. */
export function charlist(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return out;
}

/** Reads a charlist (a list of Unicode code points, as `"abc"` in Erlang) back into a JS string. */
export function charlistToString(list: readonly Term[]): string {
  let s = "";
  for (const c of list) {
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c > 0x10ffff) {
      throw new TypeError("not a charlist: every element must be a Unicode code point");
    }
    s += String.fromCodePoint(c);
  }
  return s;
}
