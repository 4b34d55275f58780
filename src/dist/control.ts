// Control messages of the distribution protocol (erl_dist_protocol "Protocol between Connected Nodes"), OTP 25 to
// 29: one table gives each message its tag, its fields in order, and whether a payload (message, reason or
// argument list) follows; field names carry their types (a `from` is a pid, a `ref` a reference...), checked as
// OTP's dist.c checks them. parseControl checks an incoming control tuple against it; makeControl builds one.
// The *_TT kinds are their untraced kind plus a seq_trace token (OTP's dist.c: the token is the last element,
// except in EXIT_TT and EXIT2_TT, where the reason follows it).
import { Atom, Pid, Reference, Tuple, atom, type Encodable, type Term } from "../etf/index.js";
import { DistError } from "./errors.js";

const isPid = (v: Term) => v instanceof Pid;
const isInteger = (v: Term) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
const isPidOrName = (v: Term) => v instanceof Pid || v instanceof Atom;

/** What each field must be, by its name (fields not listed may be any term), as OTP's dist.c requires. */
const FIELD_TYPES: Record<string, readonly [check: (value: Term) => boolean, what: string]> = {
  from: [isPid, "a pid"],
  to: [isPid, "a pid"],
  toName: [(v) => v instanceof Atom, "an atom"],
  toProc: [isPidOrName, "a pid or an atom"],
  fromProc: [isPidOrName, "a pid or an atom"],
  ref: [(v) => v instanceof Reference, "a reference"],
  reqId: [(v) => v instanceof Reference, "a reference"],
  alias: [(v) => v instanceof Reference, "a reference"],
  groupLeader: [isPid, "a pid"],
  id: [isInteger, "an integer"],
  flags: [isInteger, "an integer"],
  result: [isPidOrName, "a pid or an atom"],
  mfa: [(v) => v instanceof Tuple && v.length === 3 && v.elements[0] instanceof Atom && v.elements[1] instanceof Atom && isInteger(v.elements[2] as Term), "{Module, Function, Arity}"],
};

const SPEC = {
  LINK: [1, ["from", "to"], false],
  SEND: [2, ["unused", "to"], true],
  EXIT: [3, ["from", "to", "reason"], false],
  UNLINK: [4, ["from", "to"], false],
  // 5 was NODE_LINK, which no OTP since R-something sends; dist.h marks it free for reuse, and dist.c rejects it.
  REG_SEND: [6, ["from", "unused", "toName"], true],
  GROUP_LEADER: [7, ["from", "to"], false],
  EXIT2: [8, ["from", "to", "reason"], false],
  SEND_TT: [12, ["unused", "to", "traceToken"], true],
  EXIT_TT: [13, ["from", "to", "traceToken", "reason"], false],
  REG_SEND_TT: [16, ["from", "unused", "toName", "traceToken"], true],
  EXIT2_TT: [18, ["from", "to", "traceToken", "reason"], false],
  MONITOR_P: [19, ["from", "toProc", "ref"], false],
  DEMONITOR_P: [20, ["from", "toProc", "ref"], false],
  MONITOR_P_EXIT: [21, ["fromProc", "to", "ref", "reason"], false],
  SEND_SENDER: [22, ["from", "to"], true],
  SEND_SENDER_TT: [23, ["from", "to", "traceToken"], true],
  PAYLOAD_EXIT: [24, ["from", "to"], true],
  PAYLOAD_EXIT_TT: [25, ["from", "to", "traceToken"], true],
  PAYLOAD_EXIT2: [26, ["from", "to"], true],
  PAYLOAD_EXIT2_TT: [27, ["from", "to", "traceToken"], true],
  PAYLOAD_MONITOR_P_EXIT: [28, ["fromProc", "to", "ref"], true],
  SPAWN_REQUEST: [29, ["reqId", "from", "groupLeader", "mfa", "optList"], true],
  SPAWN_REQUEST_TT: [30, ["reqId", "from", "groupLeader", "mfa", "optList", "token"], true],
  SPAWN_REPLY: [31, ["reqId", "to", "flags", "result"], false],
  SPAWN_REPLY_TT: [32, ["reqId", "to", "flags", "result", "token"], false],
  ALIAS_SEND: [33, ["from", "alias"], true],
  ALIAS_SEND_TT: [34, ["from", "alias", "token"], true],
  UNLINK_ID: [35, ["id", "from", "to"], false],
  UNLINK_ID_ACK: [36, ["id", "from", "to"], false],
  // OTP 28 (DFLAG_ALTACT_SIG): {37, Flags, SenderPid, To} or {37, Flags, SenderPid, To, Token}; see ALTACT_FLAG.
  ALTACT_SIG_SEND: [37, ["flags", "from", "to"], true],
} as const satisfies Record<string, readonly [number, readonly string[], boolean]>;

/**
 * The bits of ALTACT_SIG_SEND's Flags (OTP 28's dist.h, ERTS_DOP_ALTACT_SIG_FLG_*). `To` is an alias with ALIAS, a
 * registered name with NAME, else a pid. With EXIT the signal is an exit signal and its payload the exit reason;
 * without, a message. TOKEN: a trace token follows `To`. PRIO: a priority signal (EEP 76), which the receiver
 * treats as one only when it comes through an active priority alias.
 */
export const ALTACT_FLAG = { PRIO: 1, TOKEN: 2, ALIAS: 4, NAME: 8, EXIT: 16 } as const;

/** The name of a control message, e.g. "REG_SEND". */
export type ControlKind = keyof typeof SPEC;

/**
 * A control message with a tag that erldist cannot act on: a tag it does not know, or a known one whose elements
 * are not what the protocol says (a wrong count, a field of the wrong type, a payload missing or extra). BEAM logs
 * such a message and keeps the connection (dist.c's invalid_message); the node does likewise (its unknownControl
 * event). A term that is not a tuple with an integer tag at all is a plain DistError instead.
 */
export class UnusableControlError extends DistError {
  constructor(
    /** The message's tag (its first element). */
    readonly tag: number,
    /** The kind the tag names, when erldist knows it. */
    readonly kind: ControlKind | undefined,
    /** The control tuple as it came. */
    readonly control: Tuple,
    message: string,
  ) {
    super("protocol", message);
  }
}

/** The type of each field of a parsed control message, by the field's name (as FIELD_TYPES checks it). */
interface FieldTypes {
  from: Pid;
  to: Pid;
  toName: Atom;
  toProc: Pid | Atom;
  fromProc: Pid | Atom;
  ref: Reference;
  reqId: Reference;
  alias: Reference;
  groupLeader: Pid;
  id: number | bigint;
  flags: number | bigint;
  result: Pid | Atom;
  mfa: Tuple;
}

type Spec = typeof SPEC;
type FieldType<Name extends string> = Name extends keyof FieldTypes ? FieldTypes[Name] : Term;
type FieldsOf<K extends ControlKind> = K extends "ALTACT_SIG_SEND"
  ? { flags: number; from: Pid; to: Pid | Atom | Reference; token?: Term }
  : { [Name in Spec[K][1][number]]: FieldType<Name> };

/** A parsed control message of one kind: its fields typed as the protocol defines them, and its payload. */
export interface ControlMessageOf<K extends ControlKind> {
  kind: K;
  tag: number;
  fields: FieldsOf<K>;
  payload: Spec[K][2] extends true ? Term : undefined;
}

/**
 * A control message: its kind, its fields by the protocol's names (checked when parsed, so typed), and the payload
 * when the kind has one. A switch on `kind` narrows `fields`.
 */
export type ControlMessage = { [K in ControlKind]: ControlMessageOf<K> }[ControlKind];

/** Each kind's layout, looked up by tag on every incoming message: its field names with their checks, in order. */
interface KindLayout {
  kind: ControlKind;
  names: readonly string[];
  checks: ReadonlyArray<readonly [check: (value: Term) => boolean, what: string] | undefined>;
  withPayload: boolean;
  build: (elements: readonly Term[]) => Record<string, Term>;
}

type FieldsBuilder = (elements: readonly Term[]) => Record<string, Term>;

// The fields of the kinds every message and call uses, as object literals: one shape each, and no keyed stores
// (a store under a name read from a list is a slow, generic one). Each follows SPEC's field order.
const BUILDERS: Partial<Record<ControlKind, FieldsBuilder>> = {
  SEND: (e) => ({ unused: e[1], to: e[2] }),
  REG_SEND: (e) => ({ from: e[1], unused: e[2], toName: e[3] }),
  SEND_SENDER: (e) => ({ from: e[1], to: e[2] }),
  ALIAS_SEND: (e) => ({ from: e[1], alias: e[2] }),
  LINK: (e) => ({ from: e[1], to: e[2] }),
  MONITOR_P: (e) => ({ from: e[1], toProc: e[2], ref: e[3] }),
  DEMONITOR_P: (e) => ({ from: e[1], toProc: e[2], ref: e[3] }),
  MONITOR_P_EXIT: (e) => ({ fromProc: e[1], to: e[2], ref: e[3], reason: e[4] }),
  PAYLOAD_MONITOR_P_EXIT: (e) => ({ fromProc: e[1], to: e[2], ref: e[3] }),
  PAYLOAD_EXIT: (e) => ({ from: e[1], to: e[2] }),
  ALTACT_SIG_SEND: (e) => ({ flags: e[1], from: e[2], to: e[3] }),
};

function genericBuilder(names: readonly string[]): FieldsBuilder {
  return (elements) => {
    const fields: Record<string, Term> = {};
    for (let i = 0; i < names.length; i++) fields[names[i]] = elements[i + 1];
    return fields;
  };
}

const BY_TAG: Array<KindLayout | undefined> = [];
for (const [kind, [tag, names, withPayload]] of Object.entries(SPEC)) {
  const build = BUILDERS[kind as ControlKind] ?? genericBuilder(names);
  BY_TAG[tag] = { kind: kind as ControlKind, names, checks: names.map((name) => FIELD_TYPES[name]), withPayload, build };
}

/** The tag of a control message kind. */
export function controlTag(kind: ControlKind): number {
  return SPEC[kind][0];
}

/** Every control message kind's tag, by kind, as a fixed object (a load of a constant key is cheap on the send path). */
export const CONTROL_TAG: Readonly<Record<ControlKind, number>> = Object.freeze(
  Object.fromEntries(Object.entries(SPEC).map(([kind, [tag]]) => [kind, tag])) as Record<ControlKind, number>,
);

/** The kind of a known control message tag, or undefined. */
export function controlKind(tag: number): ControlKind | undefined {
  return BY_TAG[tag]?.kind;
}

/** One above the highest known tag: counters indexed by tag fit in arrays of this length. */
export const CONTROL_TAG_LIMIT = BY_TAG.length;

/** True when messages of this kind are followed by a payload. */
export function hasPayload(kind: ControlKind): boolean {
  return SPEC[kind][2];
}

/**
 * Checks an incoming control tuple (and payload) against the protocol; throws DistError `protocol` if it is not one.
 * For ALTACT_SIG_SEND, `fields.flags` is the flags' low byte as a number (the only bits OTP reads), `to` is checked
 * against the ALIAS and NAME bits, and `fields.token` is set when the TOKEN bit is.
 */
export function parseControl(control: unknown, payload: Term | undefined): ControlMessage {
  if (!(control instanceof Tuple) || control.length === 0 || typeof control.elements[0] !== "number") {
    throw new DistError("protocol", "a control message must be a tuple starting with its integer tag");
  }
  const elements = control.elements as Term[];
  const tag = elements[0] as number;
  const layout = Number.isInteger(tag) && tag >= 0 ? BY_TAG[tag] : undefined;
  if (layout === undefined) throw new UnusableControlError(tag, undefined, control, `unknown control message tag ${tag} (${control.length} elements)`);
  const { kind, names, checks, withPayload, build } = layout;
  // OTP may extend ALTACT_SIG_SEND with more elements (dist.c only checks that it is large enough): so do we.
  const extensible = kind === "ALTACT_SIG_SEND";
  if (extensible ? elements.length < names.length + 1 : elements.length !== names.length + 1) {
    throw new UnusableControlError(tag, kind, control, `${kind} has ${extensible ? "at least " : ""}${names.length + 1} elements, not ${elements.length}`);
  }
  if (withPayload !== (payload !== undefined)) {
    throw new UnusableControlError(tag, kind, control, withPayload ? `${kind} must be followed by a payload` : `${kind} takes no payload`);
  }
  const fields = build(elements);
  if (extensible) {
    try {
      checkAltact(fields, elements);
    } catch (err) {
      throw new UnusableControlError(tag, kind, control, (err as Error).message);
    }
  } else {
    for (let i = 0; i < names.length; i++) {
      const check = checks[i];
      if (check !== undefined && !check[0](elements[i + 1])) throw new UnusableControlError(tag, kind, control, `${kind}'s ${names[i]} must be ${check[1]}`);
    }
  }
  return { kind, tag, fields, payload } as ControlMessage; // the checks above are what make the fields typed
}

/** ALTACT_SIG_SEND's rules, as OTP 28's dist.c applies them: anything else is a broken message. */
function checkAltact(fields: Record<string, Term>, elements: readonly Term[]): void {
  const raw = fields.flags;
  // Flags may grow past a small integer one day; only the low byte has meaning now.
  let flags: number;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) flags = raw & 0xff;
  else if (typeof raw === "bigint" && raw >= 0n) flags = Number(raw & 0xffn);
  else throw new DistError("protocol", "ALTACT_SIG_SEND's flags must be a non-negative integer");
  fields.flags = flags;
  if (!(fields.from instanceof Pid)) throw new DistError("protocol", "ALTACT_SIG_SEND's sender must be a pid");
  const to = fields.to;
  if (flags & ALTACT_FLAG.ALIAS) {
    if (!(to instanceof Reference) || flags & ALTACT_FLAG.NAME) {
      throw new DistError("protocol", "ALTACT_SIG_SEND with the ALIAS flag must go to a reference (and not have NAME)");
    }
  } else if (flags & ALTACT_FLAG.NAME) {
    if (!(to instanceof Atom)) throw new DistError("protocol", "ALTACT_SIG_SEND with the NAME flag must go to an atom");
  } else if (!(to instanceof Pid)) {
    throw new DistError("protocol", "ALTACT_SIG_SEND without ALIAS or NAME must go to a pid");
  }
  if (flags & ALTACT_FLAG.TOKEN) {
    if (elements.length < 5) throw new DistError("protocol", "ALTACT_SIG_SEND with the TOKEN flag must carry a token");
    fields.token = elements[4];
  }
}

/**
 * Builds the control tuple of `kind` from its fields (by the protocol's names; `unused` defaults to ''). A missing
 * field is an error. For ALTACT_SIG_SEND, a `token` field is appended (set ALTACT_FLAG.TOKEN in `flags` with it).
 */
export function makeControl(kind: ControlKind, fields: Record<string, Encodable>): Tuple<Encodable> {
  const [tag, names] = SPEC[kind];
  const elements: Encodable[] = [tag];
  for (const name of names) {
    const value = name === "unused" ? (fields[name] ?? atom("")) : fields[name];
    if (value === undefined) throw new TypeError(`${kind} needs the field '${name}'`);
    elements.push(value);
  }
  if (kind === "ALTACT_SIG_SEND" && fields.token !== undefined) elements.push(fields.token);
  return new Tuple(elements);
}
