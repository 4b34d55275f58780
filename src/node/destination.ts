// Where a message or signal goes, and node names, as callers write them: checked at the call, so that a bad
// argument throws there (a typed NodeError) instead of surfacing later from a promise nobody may be watching.
import { Atom, Pid, Reference } from "../etf/index.js";
import { NodeError } from "./errors.js";

/** A node's name: `alive@host`, as a string or as the atom Erlang writes it (`atom("app@10.42.0.7")`). */
export type NodeName = string | Atom;

/**
 * Where a message goes: a pid, a name registered on this node, `[name, node]` for a name on any node (the node as a
 * string or an Atom), or an alias (a reference made by erlang:alias/0 or ErlProcess.alias).
 */
export type Destination = Pid | string | Atom | Reference | readonly [name: string | Atom, node: NodeName];

/** Longest atom BEAM takes (in characters), so the longest node name. */
const MAX_ATOM_LENGTH = 255;

/** Characters in `text` (code points), counted only when its UTF-16 length leaves a doubt. */
function tooLong(text: string): boolean {
  return text.length > MAX_ATOM_LENGTH && [...text].length > MAX_ATOM_LENGTH;
}

/** Node names checked already: a program names few nodes, and sends to them often (this is on every send). */
const checkedNodeNames = new Set<string>();

/**
 * The node name `node` as a string, checked: `alive@host` with both parts non-empty, no blanks, at most 255
 * characters. Throws NodeError `bad_name` (saying what is wrong) or `bad_argument` for something that is neither a
 * string nor an Atom.
 */
export function nodeNameOf(node: unknown): string {
  const name = typeof node === "string" ? node : node instanceof Atom ? node.name : undefined;
  if (name === undefined) {
    throw new NodeError("bad_argument", `a node name is a string or an Atom ('alive@host'), not ${typeName(node)}`);
  }
  if (checkedNodeNames.has(name)) return name;
  const at = name.indexOf("@");
  if (at <= 0 || at === name.length - 1 || /\s/.test(name) || tooLong(name)) {
    throw new NodeError("bad_name", `'${name}' is not a node name: write it as alive@host, e.g. app@10.42.0.7`);
  }
  if (checkedNodeNames.size >= 10_000) checkedNodeNames.clear(); // bounded, whatever names callers make up
  checkedNodeNames.add(name);
  return name;
}

/** A registered name as a string: a non-empty string or an Atom. Throws NodeError `bad_argument` otherwise. */
export function processNameOf(name: unknown): string {
  const text = typeof name === "string" ? name : name instanceof Atom ? name.name : undefined;
  if (text === undefined || text.length === 0 || tooLong(text)) {
    throw new NodeError("bad_argument", `a registered name is a non-empty string or an Atom, not ${typeName(name)}`);
  }
  return text;
}

/** The parts of a destination, checked (see Destination). Throws NodeError `bad_argument` or `bad_name`. */
export type CheckedDestination =
  | { kind: "pid"; pid: Pid }
  | { kind: "alias"; alias: Reference }
  | { kind: "name"; name: string; node: string | undefined };

export function checkDestination(to: unknown): CheckedDestination {
  if (to instanceof Pid) return { kind: "pid", pid: to };
  if (to instanceof Reference) return { kind: "alias", alias: to };
  if (typeof to === "string" || to instanceof Atom) return { kind: "name", name: processNameOf(to), node: undefined };
  if (Array.isArray(to) && to.length === 2) return { kind: "name", name: processNameOf(to[0]), node: nodeNameOf(to[1]) };
  throw new NodeError(
    "bad_argument",
    `${typeName(to)} is not a destination: send to a Pid, an alias (Reference), a registered name, or [name, node]`,
  );
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return `a ${value.constructor?.name ?? "object"}`;
  return typeof value === "string" ? `the string '${value}'` : `${typeof value} ${String(value)}`;
}

/**
 * Marks a promise as handled and returns it: a caller may ignore it (fire-and-forget) without an unhandled
 * rejection taking the process down, and one that awaits it still gets the rejection.
 */
export function ignorable<T>(promise: Promise<T>): Promise<T> {
  // A busy connection hands one promise to many held sends, and one that is not busy the same resolved one to every
  // send: one handler is enough for all of them, and the last one seen needs no WeakSet lookup.
  if (promise === lastHandled) return promise;
  lastHandled = promise;
  if (!handled.has(promise)) {
    handled.add(promise);
    promise.catch(ignore);
  }
  return promise;
}

/** The promise ignorable saw last (holding it keeps at most one settled promise alive). */
let lastHandled: Promise<unknown> | undefined;

const handled = new WeakSet<Promise<unknown>>();
const ignore = (): void => undefined;
