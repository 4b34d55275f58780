// The messages of OTP's pg protocol between scope processes, read from terms a peer sent: checked in full before the
// scope acts on one (BEAM's own scope crashes on anything else; erldist's reports and ignores it). Pure: a term in,
// a typed message or undefined out, never a throw.
import { Pid, Reference, Tuple, isAtom, type Term } from "../etf/index.js";

export type PgMessage =
  /** {discover, Scope} or OTP 26's {discover, Scope, ProtocolVersion}: a peer's scope asks for our members. */
  | { kind: "discover"; scope: Pid }
  /** gen_server:cast's {'$gen_cast', {sync, Scope, [{Group, [Pid]}]}}: a peer's whole membership. */
  | { kind: "sync"; scope: Pid; groups: Array<[group: Term, pids: Pid[]]> }
  /** {join, Scope, Group, Pid | [Pid]}. */
  | { kind: "join"; scope: Pid; group: Term; pids: Pid[] }
  /** {leave, Scope, Pid | [Pid], [Group]}. */
  | { kind: "leave"; scope: Pid; pids: Pid[]; groups: Term[] }
  /** {'DOWN', Ref, process, Object, Reason}: a monitor of a peer's scope fired. */
  | { kind: "down"; ref: Reference; reason: Term }
  /** What the scope process gets and has nothing to do with: a trapped exit signal, a call. */
  | { kind: "ignored" };

function pids(value: Term | undefined): Pid[] | undefined {
  if (value instanceof Pid) return [value];
  return Array.isArray(value) && value.every((p) => p instanceof Pid) ? (value as Pid[]) : undefined;
}

/** The pg message `message` is, or undefined when it is not one. */
export function readPgMessage(message: Term): PgMessage | undefined {
  if (!(message instanceof Tuple) || message.length === 0) return undefined;
  const [tag, ...rest] = message.elements;
  if (isAtom(tag, "discover")) {
    const [scope] = rest;
    return scope instanceof Pid && (rest.length === 1 || rest.length === 2) ? { kind: "discover", scope } : undefined;
  }
  if (isAtom(tag, "$gen_cast")) {
    const sync = rest[0];
    if (rest.length !== 1 || !(sync instanceof Tuple) || sync.length !== 3 || !isAtom(sync.elements[0], "sync")) return undefined;
    const [, scope, list] = sync.elements;
    if (!(scope instanceof Pid) || !Array.isArray(list)) return undefined;
    const groups: Array<[Term, Pid[]]> = [];
    for (const item of list) {
      const members = item instanceof Tuple && item.length === 2 && Array.isArray(item.elements[1]) ? pids(item.elements[1]) : undefined;
      if (!members) return undefined;
      groups.push([(item as Tuple).elements[0], members]);
    }
    return { kind: "sync", scope, groups };
  }
  if (isAtom(tag, "join")) {
    const [scope, group, who] = rest;
    const members = pids(who);
    return rest.length === 3 && scope instanceof Pid && members ? { kind: "join", scope, group, pids: members } : undefined;
  }
  if (isAtom(tag, "leave")) {
    const [scope, who, groups] = rest;
    const members = pids(who);
    return rest.length === 3 && scope instanceof Pid && members && Array.isArray(groups) ? { kind: "leave", scope, pids: members, groups } : undefined;
  }
  if (isAtom(tag, "DOWN")) {
    const [ref, , , reason] = rest;
    return rest.length === 4 && ref instanceof Reference ? { kind: "down", ref, reason } : undefined;
  }
  if (isAtom(tag, "EXIT") || isAtom(tag, "$gen_call")) return { kind: "ignored" };
  return undefined;
}
