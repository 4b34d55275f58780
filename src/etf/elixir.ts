// Elixir's conventions on top of plain terms: structs (maps whose __struct__ key names a module), keyword lists
// ([{atom, value}], Elixir's [a: 1]) and maps read as plain objects. Nothing here changes how terms encode: these
// build and read ordinary maps, lists and tuples.

import { Buffer } from "node:buffer";
import { Atom, Tuple, atom, type Encodable, type Term } from "./types.js";

/**
 * A struct as {@link struct} builds it: a plain object (which encodes as a map with atom keys) whose `__struct__`
 * is the module atom, e.g. `'Elixir.URI'`. Decoded structs are Maps with atom keys instead; {@link isStruct} and
 * {@link mapToObject} read both.
 */
export type Struct = { readonly __struct__: Atom; readonly [field: string]: Encodable | undefined };

// Interned before any decoding, so a decoded `__struct__` key is this very atom and Map.get finds it.
const STRUCT_KEY = atom("__struct__");
const NIL = atom("nil");

/** `'Elixir.URI'` for "URI" or "Elixir.URI": Elixir prefixes every alias with Elixir. in the module's atom. */
function moduleAtom(module: string | Atom): Atom {
  if (module instanceof Atom) return module;
  return atom(module.startsWith("Elixir.") ? module : `Elixir.${module}`);
}

/**
 * Builds an Elixir struct: `struct("URI", { host: "example.com", port: 443 })` is `%URI{host: "example.com",
 * port: 443}` once encoded, and matches `%URI{}` in Elixir. The module may be given as Elixir writes it ("URI",
 * "MyApp.User") or as its atom's text ("Elixir.URI"); an Atom is used as it is (for a struct of a module named
 * otherwise). Fields that are `null` or `undefined` become `nil`, since every field of a struct exists in Elixir;
 * a `__struct__` among the fields (one copied from a decoded struct) is replaced by the module. The struct gets
 * only the fields given: Elixir's functions on a struct expect every field its module defines, so give them all
 * (missing ones as null), as `%URI{}` would have them.
 */
export function struct(module: string | Atom, fields: { readonly [field: string]: Encodable | undefined } = {}): Struct {
  const made: Record<string, Encodable> = { __struct__: moduleAtom(module) };
  for (const key of Object.keys(fields)) {
    if (key === "__struct__") continue;
    const value = fields[key];
    define(made, key, value === undefined || value === null ? NIL : value);
  }
  return made as Struct;
}

/** The value of a struct's `__struct__` key (a decoded Map or a built object), if it has one. */
function structTag(value: unknown): unknown {
  if (value instanceof Map) return value.get(STRUCT_KEY);
  if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, "__struct__")) return (value as Struct).__struct__;
  return undefined;
}

/** An atom as a term may hold one: an Atom, a boolean (true, false) or null (nil, with nilAsNull). */
function atomText(value: unknown): string | undefined {
  if (value instanceof Atom) return value.name;
  if (typeof value === "boolean") return String(value);
  if (value === null) return "nil";
  return undefined;
}

/**
 * The module of a struct, as its atom's text ("Elixir.URI"), or undefined when `value` is not a struct (a map
 * without an atom under `__struct__`). Reads decoded Maps and objects built with {@link struct}.
 */
export function structModule(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const tag = structTag(value);
  return tag === undefined ? undefined : atomText(tag);
}

/**
 * True when `value` is a struct, as Elixir's `is_struct/1` says (a map whose `__struct__` is an atom), and with
 * `module` (written as for {@link struct}: "URI" or "Elixir.URI"), a struct of that module, as `is_struct/2`.
 * A decoded term is narrowed to a Map.
 */
export function isStruct(value: Term, module?: string | Atom): value is Map<Term, Term>;
export function isStruct(value: unknown, module?: string | Atom): value is Map<Term, Term> | Struct;
export function isStruct(value: unknown, module?: string | Atom): boolean {
  const name = structModule(value);
  return name !== undefined && (module === undefined || name === moduleAtom(module).name);
}

/**
 * Builds a keyword list, Elixir's `[timeout: 5000, name: "x"]`: a list of `{atom, value}` tuples, in order.
 * From a plain object (`keyword({ timeout: 5000 })`; `undefined` fields are left out, as an option not given, and
 * `null` is `nil`), or from `[key, value]` pairs, which may repeat a key (`keyword([["a", 1], ["a", 2]])`) and keep
 * JS's object order out of it (a plain object lists integer-like keys such as "1" first).
 */
export function keyword(
  entries: { readonly [key: string]: Encodable | undefined } | Iterable<readonly [key: string | Atom, value: Encodable]>,
): Tuple<Encodable>[] {
  const list: Tuple<Encodable>[] = [];
  if (isIterable(entries)) {
    for (const [key, value] of entries) list.push(new Tuple<Encodable>([typeof key === "string" ? atom(key) : key, value === null ? NIL : value]));
    return list;
  }
  for (const key of Object.keys(entries)) {
    const value = entries[key];
    if (value !== undefined) list.push(new Tuple<Encodable>([atom(key), value === null ? NIL : value]));
  }
  return list;
}

/** True when `value` is a keyword list, as Elixir's `Keyword.keyword?/1` says: a list of `{atom, value}` tuples ([] too). */
export function isKeyword(value: Term): value is Tuple[] {
  return Array.isArray(value) && value.every((item) => item instanceof Tuple && item.length === 2 && atomText(item.elements[0]) !== undefined);
}

/**
 * A keyword list (`[a: 1, b: "x"]`) as a plain object, `{ a: 1, b: "x" }`. A key that repeats keeps its first
 * value, as `Keyword.get/2` reads it. Throws a TypeError, naming the element, when `list` is not a keyword list.
 */
export function keywordToObject(list: Term): Record<string, Term> {
  if (!Array.isArray(list)) throw new TypeError(`not a keyword list: expected a list of {atom, value} tuples, got ${describe(list)}`);
  const object: Record<string, Term> = {};
  list.forEach((item, index) => {
    const key = item instanceof Tuple && item.length === 2 ? atomText(item.elements[0]) : undefined;
    if (key === undefined) {
      throw new TypeError(`not a keyword list: element ${index} is ${describe(item)}, not an {atom, value} tuple`);
    }
    if (!Object.prototype.hasOwnProperty.call(object, key)) define(object, key, (item as Tuple).elements[1]);
  });
  return object;
}

/**
 * A map with atom keys (`%{name: "x"}`, a struct) or string keys (`%{"name" => "x"}`) as a plain object,
 * `{ name: "x" }`; values are kept as they are (nested maps stay Maps). A struct keeps its `__struct__`. Throws a
 * TypeError when `map` is not a Map, when a key is neither an atom nor a string (`%{1 => x}`), or when an atom key
 * and a string key have the same text (`%{"a" => 1, a: 2}`), which one object cannot hold apart.
 */
export function mapToObject(map: Term): Record<string, Term> {
  if (!(map instanceof Map)) throw new TypeError(`not a map: got ${describe(map)}`);
  const object: Record<string, Term> = {};
  for (const [key, value] of map) {
    const name = typeof key === "string" ? key : atomText(key);
    if (name === undefined) {
      throw new TypeError(`mapToObject takes maps with atom or string keys; this one has the key ${describe(key)} (read it with map.get)`);
    }
    if (Object.prototype.hasOwnProperty.call(object, name)) {
      throw new TypeError(`the map has both an atom and a string key "${name}", which one object cannot hold apart (read it with map.get)`);
    }
    define(object, name, value);
  }
  return object;
}

/** Sets an own property, even one named __proto__ (an atom a peer sent must not change the object's prototype). */
function define(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isIterable(value: object): value is Iterable<readonly [string | Atom, Encodable]> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

/** A short description of a value for error messages: its kind, not its (possibly huge) contents. */
function describe(value: unknown): string {
  if (value === null) return "nil (null)";
  if (value instanceof Atom) return `the atom ${value.name}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value !== "object") return `${typeof value} ${String(value)}`;
  if (Buffer.isBuffer(value)) return `a binary of ${value.length} bytes`;
  if (value instanceof Tuple) return `a tuple of ${value.length} elements`;
  if (Array.isArray(value)) return `a list of ${value.length} elements`;
  if (value instanceof Map) return `a map of ${value.size} keys`;
  return `a ${value.constructor?.name ?? "value"}`;
}
