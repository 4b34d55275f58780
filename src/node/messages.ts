// The messages the runtime itself puts in mailboxes ('DOWN', 'EXIT', spawn_reply), built and matched in one place,
// and how a term sent between local processes arrives: as the term it encodes to, exactly as over the wire.
import { Reference, Tuple, atom, decode, encode, equals, isAtom, tuple, type Encodable, type Pid, type Term, type TermOptions } from "../etf/index.js";

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
  return message instanceof Tuple && message.length === 5 && isAtom(message.elements[0], "DOWN") && equals(message.elements[1], ref);
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
  return message instanceof Tuple && message.length === 2 && equals(message.elements[0], tag as Term);
}
