// The control tuples of messages, kept encoded for the senders that repeat them. A process sends to the same
// process again and again (a gen_server client, a stream of events to one subscriber), and the control tuple of
// each such message is the same bytes: {REG_SEND, From, '', ToName}, {SEND_SENDER, From, To}, {ALIAS_SEND, From,
// Alias}, {ALTACT_SIG_SEND, Flags, From, To}. Encoding it (the tuple, a pid, an atom or two) is about a third of a
// small message's encoding; copying it is one write.
//
// A (kind, from, to) is kept once it is sent a second time while still among the last ENTRIES keys seen, so a node
// that sends each message somewhere new keeps nothing and only compares. The oldest key is replaced first.
import { Pid, Reference, Tuple, atom, encodeBody, type Atom, type Encodable, type EncodeOptions } from "../etf/index.js";
import { EncodedTerm } from "../etf/encoded-term.js";
import { CONTROL_TAG } from "./control.js";

const ENTRIES = 16;

/** The `unused` element of REG_SEND: the empty atom, as BEAM sends it. */
const EMPTY_ATOM = atom("");

/** Where a message goes on the peer: a pid, a registered name, or an alias. */
export type MessageTarget = Pid | Atom | Reference;

/** A key seen lately, with its encoded control tuple once it has been seen twice. Replaced in place. */
interface Entry {
  tag: number;
  flags: number;
  from: Pid;
  to: MessageTarget;
  control: EncodedTerm | undefined;
}

export class MessageControls {
  private readonly entries: Entry[] = [];
  /** The entry replaced next, once all ENTRIES are in use. */
  private oldest = 0;

  /** `options`: how the connection encodes terms for its peer. */
  constructor(private readonly options: EncodeOptions | undefined) {}

  /**
   * The control tuple of a message of kind `tag` (REG_SEND, SEND_SENDER, ALIAS_SEND or ALTACT_SIG_SEND with
   * `flags`) from `from` to `to`: kept bytes when this key was seen lately, else the tuple itself. (An EncodedTerm
   * is no Encodable to the type checker, as it is not public; the encoder writes its bytes.)
   */
  control(tag: number, flags: number, from: Pid, to: MessageTarget): Encodable {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.tag !== tag || entry.flags !== flags || !samePid(entry.from, from) || !sameTarget(entry.to, to)) continue;
      if (entry.control !== undefined) return entry.control as unknown as Encodable;
      const tuple = controlTuple(tag, flags, from, to);
      entry.control = encodedOrUndefined(tuple, this.options);
      return tuple;
    }
    this.seen(tag, flags, from, to);
    return controlTuple(tag, flags, from, to);
  }

  private seen(tag: number, flags: number, from: Pid, to: MessageTarget): void {
    if (this.entries.length < ENTRIES) {
      this.entries.push({ tag, flags, from, to, control: undefined });
      return;
    }
    const entry = this.entries[this.oldest];
    this.oldest = (this.oldest + 1) % ENTRIES;
    entry.tag = tag;
    entry.flags = flags;
    entry.from = from;
    entry.to = to;
    entry.control = undefined;
  }
}

/**
 * The tuple's bytes, in memory of their own (not the encoder's slab); undefined for a tuple that cannot be encoded
 * (a pid with an id out of range): the writer gets the tuple and rejects the send with the EncodeError.
 */
function encodedOrUndefined(tuple: Tuple, options: EncodeOptions | undefined): EncodedTerm | undefined {
  try {
    return new EncodedTerm(new Uint8Array(encodeBody(tuple, options)));
  } catch {
    return undefined;
  }
}

function controlTuple(tag: number, flags: number, from: Pid, to: MessageTarget): Tuple {
  if (tag === CONTROL_TAG.REG_SEND) return new Tuple([tag, from, EMPTY_ATOM, to]);
  if (tag === CONTROL_TAG.ALTACT_SIG_SEND) return new Tuple([tag, flags, from, to]);
  return new Tuple([tag, from, to]);
}

/** Whether two pids are the same (decoded pids are new objects each time; equal fields are the same pid). */
function samePid(a: Pid, b: Pid): boolean {
  return a === b || (a.id === b.id && a.serial === b.serial && a.creation === b.creation && a.node === b.node);
}

/** Whether two targets are the same: atoms are interned (one object per name); pids and references by their fields. */
function sameTarget(a: MessageTarget, b: MessageTarget): boolean {
  if (a === b) return true;
  if (a instanceof Pid) return b instanceof Pid && samePid(a, b);
  if (a instanceof Reference && b instanceof Reference) return a.creation === b.creation && a.node === b.node && sameIds(a.ids, b.ids);
  return false;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
