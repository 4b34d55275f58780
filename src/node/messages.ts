// The messages the runtime itself puts in mailboxes ('DOWN', 'EXIT', spawn_reply), built and matched in one place,
// and how a term sent between local processes arrives: as the term it encodes to, exactly as over the wire.
import { ImproperList, Reference, Tuple, atom, decode, encode, equals, isAtom, tuple, type Encodable, type Pid, type Term, type TermOptions } from "../etf/index.js";

/** A message sent between local processes arrives as it would over the wire: as the term it encodes to. */
export function asReceived(message: Encodable, terms: TermOptions): Term {
  return decode(encode(message, terms), terms);
}

/** The message a monitor delivers: `{'DOWN', Ref, process, Target, Reason}`. */
export function downMessage(ref: Reference, target: Encodable, reason: Encodable, terms: TermOptions): Term {
  return asReceived(tuple(atom("DOWN"), ref, atom("process"), target, reason), terms);
}

/** True for `{'DOWN', Ref, process, Target, Reason}` of the monitor `ref`. */
export function isDown(message: Term, ref: Reference): boolean {
  return message instanceof Tuple && message.length === 5 && isAtom(message.elements[0], "DOWN") && sameReference(message.elements[1], ref);
}

/** True when `term` is the reference `ref` (=:=), compared field by field: receives test every message with it. */
export function sameReference(term: Term, ref: Reference): boolean {
  if (!(term instanceof Reference)) return false;
  if (term === ref) return true;
  const a = term.ids;
  const b = ref.ids;
  if (a.length !== b.length || term.creation !== ref.creation || term.node.name !== ref.node.name) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The reason of a 'DOWN' message (see isDown). */
export function downReason(message: Tuple): Term {
  return message.elements[4];
}

/** The message a trapping process gets for an exit signal: `{'EXIT', From, Reason}`. */
export function exitMessage(from: Pid, reason: Term): Term {
  return tuple(atom("EXIT"), from, reason) as Term;
}

/** What a spawn request's requester gets: `{spawn_reply, ReqId, ok, Pid}` or `{spawn_reply, ReqId, error, Reason}`. */
export function spawnReplyMessage(reqId: Reference, result: { ok: Pid } | { error: Encodable }, terms: TermOptions): Term {
  const [status, value] = "ok" in result ? ["ok", result.ok] : ["error", result.error];
  return asReceived(tuple(atom("spawn_reply"), reqId, atom(status), value), terms);
}

/** True for the spawn_reply of the request `reqId` (see spawnReplyMessage). */
export function isSpawnReply(message: Term, reqId: Reference): boolean {
  return message instanceof Tuple && message.length === 4 && isAtom(message.elements[0], "spawn_reply") && equals(message.elements[1], reqId);
}

/** True for `{Tag, Reply}`: a gen_server reply to the call tagged `tag`. */
export function isReply(message: Term, tag: Encodable): boolean {
  if (!(message instanceof Tuple) || message.length !== 2) return false;
  const got = message.elements[0];
  // The tag of an OTP 24+ call, [alias | Alias], compared without equals' general walk.
  if (tag instanceof ImproperList && tag.tail instanceof Reference && tag.elements.length === 1) {
    return got instanceof ImproperList && got.elements.length === 1 && sameReference(got.tail, tag.tail) && equals(got.elements[0], tag.elements[0] as Term);
  }
  return equals(got, tag as Term);
}
