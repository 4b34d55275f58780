// One distribution connection after the handshake, as the node sees it: signals in (parsed and typed control
// messages), signals out (verbs that pick the wire variant the peer's flags call for), ticks both ways, and its
// counters. Along the data path: frame-reader.ts cuts packets, packet-decoder.ts turns them into terms,
// control.ts checks them; frame-writer.ts sends, with the busy limit.
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Atom, Reference, Tuple, type Encodable, type Pid, type Term, type TermOptions } from "../etf/index.js";
import {
  ALTACT_FLAG,
  CONTROL_TAG,
  CONTROL_TAG_LIMIT,
  UnusableControlError,
  controlKind,
  parseControl,
  type ControlKind,
  type ControlMessage,
} from "./control.js";
import { DistError } from "./errors.js";
import { DFLAG, encodeOptionsFor } from "./flags.js";
import type { Handshake } from "./handshake.js";
import { FrameWriter, SENT, newWriterStats } from "./frame-writer.js";
import { FrameReader, TICK_FRAME } from "./frame-reader.js";
import { MessageControls, type MessageTarget } from "./message-controls.js";
import { PacketDecoder } from "./packet-decoder.js";
import { readChunks } from "./socket-reads.js";
import { Ticker, type TickerTimer } from "./ticker.js";

export { FRAGMENT_SIZE, DEFAULT_BUSY_LIMIT, DEFAULT_MAX_QUEUED_BYTES } from "./frame-writer.js";

export interface ConnectionOptions {
  /** net_ticktime in seconds (default 60, as BEAM): silence this long means the peer is down. */
  tickTime?: number;
  /** Largest packet accepted from the peer, in bytes (default 1 GiB). */
  maxPacketSize?: number;
  /** The timer ticks run on (tests drive it by hand; default: real time). */
  tickTimer?: TickerTimer;
  /** Bytes waiting for the socket past which the connection is busy and sends wait (default 1 MiB, BEAM's +zdbbl). */
  busyLimit?: number;
  /** The most bytes of sends held back while busy; past it sends are refused with DistError `busy` (default 64 MiB). */
  maxQueuedBytes?: number;
  /**
   * How payloads (messages, replies, exit reasons) decode, and with `nilAsNull` how null encodes: the node's
   * `terms`. Control tuples always decode exactly, so that routing never depends on them.
   */
  terms?: TermOptions;
}

/**
 * Control messages of one connection, by kind, each way: which protocol messages a peer's release uses, e.g.
 * ALTACT_SIG_SEND from OTP 28 where older releases send ALIAS_SEND.
 */
export interface ControlStats {
  /** Received from the peer, by kind. */
  in: Partial<Record<ControlKind, number>>;
  /** Sent to the peer, by kind. */
  out: Partial<Record<ControlKind, number>>;
  /**
   * Received control messages that could not be acted on, by tag: an unknown tag, or a known one in a shape that
   * cannot be used (see the `unusable` event). They are ignored, as BEAM ignores them, and the connection stays.
   */
  unknown: Partial<Record<number, number>>;
}

export type { MessageTarget } from "./message-controls.js";

interface ConnectionEvents {
  /**
   * A control message from the peer, checked against the protocol (typed by its kind); not emitted once
   * deliverSignalsTo has named where they go.
   */
  signal: [message: ControlMessage];
  /**
   * A control message with a tag that could not be acted on (an unknown tag, or a known one in a shape that cannot
   * be used): counted in controlStats.unknown, and otherwise ignored, as BEAM's dist.c ignores and logs one.
   */
  unusable: [error: UnusableControlError];
  /** The connection is gone; `error` says why when it was not closed by this side. */
  close: [error: DistError | undefined];
  /** A signal (a link, a monitor, a protocol answer...) could not go: see the verbs. */
  signalFailed: [kind: ControlKind, error: Error];
  /** More than the busy limit waits for the socket: sends are held back (see send). */
  busy: [queuedBytes: number];
  /** No longer busy, after `busyMs` milliseconds. */
  drain: [busyMs: number];
}

export class DistConnection extends EventEmitter<ConnectionEvents> {
  readonly peerName: string;
  readonly peerCreation: number;
  /** Flags both sides share. */
  readonly flags: bigint;
  private readonly socket: Socket;
  private readonly maxPacketSize: number;
  private readonly frames: FrameReader;
  private readonly ticker: Ticker;
  private closed = false;
  /** Where control messages go instead of the `signal` event (see deliverSignalsTo). */
  private signalHandler: ((message: ControlMessage) => void) | undefined;
  private readonly decoder: PacketDecoder;
  private readonly writer: FrameWriter;
  private readonly messageControls: MessageControls;
  /** Counters for status pages and tests (the outgoing ones kept by the frame writer). */
  readonly stats = { messagesIn: 0, bytesIn: 0, fragmentsIn: 0, atomCacheRefsIn: 0, ...newWriterStats() };
  /** Control messages counted by tag, each way: arrays, as a record keyed by kind costs a slow keyed access per message. */
  private readonly countsIn: number[] = new Array<number>(CONTROL_TAG_LIMIT).fill(0);
  private readonly countsOut: number[] = new Array<number>(CONTROL_TAG_LIMIT).fill(0);
  private readonly countsUnknown: Partial<Record<number, number>> = {};

  constructor(socket: Socket, handshake: Handshake, options: ConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.peerName = handshake.peerName;
    this.peerCreation = handshake.peerCreation;
    this.flags = handshake.flags;
    this.maxPacketSize = options.maxPacketSize ?? 1 << 30;
    const terms = options.terms;
    const payloadOptions = terms?.binariesAsStrings || terms?.nilAsNull ? { binariesAsStrings: terms.binariesAsStrings, nilAsNull: terms.nilAsNull } : undefined;
    this.decoder = new PacketDecoder(this.peerName, payloadOptions, this.maxPacketSize, this.stats);
    const headers = (handshake.flags & DFLAG.DIST_HDR_ATOM_CACHE) !== 0n;
    const encodeOptions = { ...encodeOptionsFor(handshake.flags, handshake.peerName), nilAsNull: options.terms?.nilAsNull };
    this.messageControls = new MessageControls(encodeOptions);
    this.writer = new FrameWriter(socket, {
      headers,
      fragments: headers && (handshake.flags & DFLAG.FRAGMENTS) !== 0n,
      encodeOptions,
      busyLimit: options.busyLimit,
      maxQueuedBytes: options.maxQueuedBytes,
      peerName: handshake.peerName,
      stats: this.stats,
    });
    this.writer.on("busy", (queued) => this.emit("busy", queued));
    this.writer.on("drain", (ms) => this.emit("drain", ms));
    socket.setNoDelay(true);
    this.frames = new FrameReader({
      header: 4,
      maxFrameSize: this.maxPacketSize,
      what: `a distribution packet from ${this.peerName}`,
      advice: "raise the connection's maxPacketSize if that node really sends messages this large",
    });
    this.ticker = new Ticker({
      tickTimeMs: (options.tickTime ?? 60) * 1000,
      bytesRead: () => this.stats.bytesIn,
      bytesWritten: () => this.stats.bytesOut,
      sendTick: () => this.writer.tick(),
      timeout: () => this.shutdown(new DistError("timeout", `${this.peerName} has been silent for longer than net_ticktime (tick timeout)`)),
      timer: options.tickTimer,
    });
    socket.on("error", (err) => this.shutdown(new DistError("closed", `the connection to ${this.peerName} failed: ${err.message}`, { cause: err })));
    socket.on("close", () => this.shutdown(new DistError("closed", `${this.peerName} closed the connection`)));
    if (handshake.rest.length > 0) queueMicrotask(() => this.onData(handshake.rest));
    readChunks(socket, (chunk) => this.onData(chunk)); // after the rest: chunks that came meanwhile follow it
  }

  /** Control messages by kind, each way (see ControlStats): counted so far, as a new object on each read. */
  get controlStats(): ControlStats {
    return { in: byKind(this.countsIn), out: byKind(this.countsOut), unknown: { ...this.countsUnknown } };
  }

  /**
   * From now on, hands each control message from the peer to `handler` instead of emitting `signal`: one call per
   * message, where an event costs a lookup of its listeners (the node's router takes them this way).
   */
  deliverSignalsTo(handler: (message: ControlMessage) => void): void {
    this.signalHandler = handler;
  }

  /** True until the connection closes. */
  get open(): boolean {
    return !this.closed;
  }

  /**
   * Sends a control tuple as it is given and, for kinds that carry one, its payload: the verbs below are built on
   * it, and it is there for tests and protocol extensions. Resolves once the socket has it: at once unless the
   * connection is busy (more than `busyLimit` bytes wait for the socket), else in order as the socket takes what
   * waits. Binaries of 64 KiB and more are written by reference, not copied: the promise settles once the socket
   * has taken them, and such a binary must not be changed before it settles. Rejects, never throws: with the
   * EncodeError of a term the peer cannot take, DistError `busy` when `maxQueuedBytes` wait already (`force`, for
   * signals, queues regardless), or DistError `closed` when the connection is or goes down before the message was
   * written.
   */
  send(control: Encodable, payload?: Encodable, force = false): Promise<void> {
    if (this.closed) return Promise.reject(new DistError("closed", `the connection to ${this.peerName} is closed`));
    return this.writer.send(control, payload, force);
  }

  // ---- verbs: each picks the control message the peer's flags call for -------------------------------------------
  // Messages, exit/2 and spawn requests are sends: held back while busy, refused past maxQueuedBytes, settled as
  // send() says. Links, monitors, link exits and the answers the protocol requires are signals: queued regardless
  // (few and small, and BEAM never drops them either), never throwing or rejecting; one that cannot go (the
  // connection closed meanwhile, a reason that cannot be encoded) is reported by the `signalFailed` event.

  /**
   * A message from `from` to a pid, a registered name or an alias of the peer. As BEAM's dist.c: to a peer with
   * DFLAG_ALTACT_SIG (OTP 28+) alias sends and priority sends go as ALTACT_SIG_SEND; to older peers alias sends go
   * as ALIAS_SEND, and a priority send rejects with DistError `unsupported` (BEAM would send it as an ordinary one).
   */
  sendMessage(from: Pid, to: MessageTarget, message: Encodable, priority = false): Promise<void> {
    const alias = to instanceof Reference;
    if (priority || (alias && this.altact)) {
      if (!this.altact) return this.unsupported("a priority message", "send it without the priority option");
      const flags = (alias ? ALTACT_FLAG.ALIAS : to instanceof Atom ? ALTACT_FLAG.NAME : 0) | (priority ? ALTACT_FLAG.PRIO : 0);
      return this.message(CONTROL_TAG.ALTACT_SIG_SEND, flags, from, to, message);
    }
    if (alias) return this.message(CONTROL_TAG.ALIAS_SEND, 0, from, to, message);
    if (to instanceof Atom) return this.message(CONTROL_TAG.REG_SEND, 0, from, to, message);
    return this.message(CONTROL_TAG.SEND_SENDER, 0, from, to, message);
  }

  /** Sends a message with the control tuple of kind `tag` (see MessageControls), counted. */
  private message(tag: number, flags: number, from: Pid, to: MessageTarget, payload: Encodable): Promise<void> {
    this.countsOut[tag]++;
    return this.send(this.messageControls.control(tag, flags, from, to), payload);
  }

  /**
   * exit/2 from `from` to a pid, or (OTP 28+) to an alias, with `reason`. To an alias or with priority it travels as
   * ALTACT_SIG_SEND with the EXIT flag, as OTP 28's dist.c sends it; a peer without DFLAG_ALTACT_SIG cannot take
   * that, so it rejects with DistError `unsupported` (BEAM drops an exit to an alias on such a peer without a word).
   */
  exit2(from: Pid, to: Pid | Reference, reason: Encodable, priority = false): Promise<void> {
    const alias = to instanceof Reference;
    if (alias || priority) {
      if (!this.altact) {
        return alias
          ? this.unsupported("an exit signal to an alias", "send it to the process's pid instead")
          : this.unsupported("a priority exit signal", "send it without the priority option");
      }
      const flags = ALTACT_FLAG.EXIT | (alias ? ALTACT_FLAG.ALIAS : 0) | (priority ? ALTACT_FLAG.PRIO : 0);
      return this.control([CONTROL_TAG.ALTACT_SIG_SEND, flags, from, to], reason);
    }
    if (this.exitPayload) return this.control([CONTROL_TAG.PAYLOAD_EXIT2, from, to], reason);
    return this.control([CONTROL_TAG.EXIT2, from, to, reason]);
  }

  /** The exit signal of a link: `from` exited with `reason` (PAYLOAD_EXIT, or EXIT to peers without EXIT_PAYLOAD). */
  linkExit(from: Pid, to: Pid, reason: Encodable): void {
    if (this.exitPayload) return this.signal([CONTROL_TAG.PAYLOAD_EXIT, from, to], reason);
    return this.signal([CONTROL_TAG.EXIT, from, to, reason]);
  }

  link(from: Pid, to: Pid): void {
    return this.signal([CONTROL_TAG.LINK, from, to]);
  }

  /** Removes a link (UNLINK_ID; the peer answers UNLINK_ID_ACK, as OTP 26+ requires). */
  unlink(id: number, from: Pid, to: Pid): void {
    return this.signal([CONTROL_TAG.UNLINK_ID, id, from, to]);
  }

  /** Acknowledges the peer's UNLINK_ID (sent before any other signal to that sender, OTP 26's rule). */
  unlinkAck(id: number | bigint, from: Pid, to: Pid): void {
    return this.signal([CONTROL_TAG.UNLINK_ID_ACK, id, from, to]);
  }

  /** Monitors the peer's process `toProc` (a pid or a registered name) for `from`, as `ref`. */
  monitor(from: Pid, toProc: Pid | Atom, ref: Reference): void {
    return this.signal([CONTROL_TAG.MONITOR_P, from, toProc, ref]);
  }

  demonitor(from: Pid, toProc: Pid | Atom, ref: Reference): void {
    return this.signal([CONTROL_TAG.DEMONITOR_P, from, toProc, ref]);
  }

  /**
   * A monitor the peer holds (`ref`, held by `to`) fired: the watched `fromProc` exited with `reason`
   * (PAYLOAD_MONITOR_P_EXIT, or MONITOR_P_EXIT to peers without EXIT_PAYLOAD).
   */
  monitorExit(fromProc: Pid | Atom, to: Pid, ref: Reference, reason: Encodable): void {
    if (this.exitPayload) return this.signal([CONTROL_TAG.PAYLOAD_MONITOR_P_EXIT, fromProc, to, ref], reason);
    return this.signal([CONTROL_TAG.MONITOR_P_EXIT, fromProc, to, ref, reason]);
  }

  /** Asks the peer to spawn `mfa` with `args` for `from` (SPAWN_REQUEST, as erlang:spawn_request/5 and erpc). */
  spawnRequest(reqId: Reference, from: Pid, groupLeader: Pid, mfa: Encodable, optList: Encodable[], args: Encodable[]): Promise<void> {
    return this.control([CONTROL_TAG.SPAWN_REQUEST, reqId, from, groupLeader, mfa, optList], args);
  }

  /** Answers the peer's SPAWN_REQUEST: `result` is the new pid, or the error reason. */
  spawnReply(reqId: Reference, to: Pid, flags: number, result: Pid | Atom): void {
    return this.signal([CONTROL_TAG.SPAWN_REPLY, reqId, to, flags, result]);
  }

  /** Whether the peer takes ALTACT_SIG_SEND (DFLAG_ALTACT_SIG, OTP 28+). */
  private get altact(): boolean {
    return (this.flags & DFLAG.ALTACT_SIG) !== 0n;
  }

  /** Whether the peer takes exit reasons as payloads (DFLAG_EXIT_PAYLOAD). */
  private get exitPayload(): boolean {
    return (this.flags & DFLAG.EXIT_PAYLOAD) !== 0n;
  }

  /** Sends the control tuple of `elements` (its tag first, then its fields in the protocol's order), counted. */
  private control(elements: Encodable[], payload?: Encodable, force = false): Promise<void> {
    this.countsOut[elements[0] as number]++;
    return this.send(new Tuple(elements), payload, force);
  }

  /** Sends a signal (see above): queued past maxQueuedBytes, and a failure is an event, not a rejection. */
  private signal(elements: Encodable[], payload?: Encodable): void {
    const sent = this.control(elements, payload, true);
    // Most signals are written at once: SENT cannot fail, and a handler on it would cost a promise and a microtask.
    if (sent !== SENT) sent.catch((error: Error) => this.emit("signalFailed", controlKind(elements[0] as number)!, error));
  }

  private unsupported(what: string, instead: string): Promise<never> {
    return Promise.reject(
      new DistError(
        "unsupported",
        `cannot send ${what} to ${this.peerName}: it does not advertise DFLAG_ALTACT_SIG (OTP 28 and later do), ` +
          `so it cannot receive one; ${instead}, or upgrade that node to OTP 28+`,
      ),
    );
  }

  /** True while sends are held back because the socket has more than the busy limit waiting. */
  get busy(): boolean {
    return this.writer.busy;
  }

  /** Bytes waiting to go out: in the socket, and held back while busy. */
  get queuedBytes(): number {
    return this.writer.queuedBytes;
  }

  /** Closes the connection (the peer sees the node go down); `reason`, if given, is what `close` reports. */
  close(reason?: DistError): void {
    this.shutdown(reason);
    this.socket.destroy();
  }

  private shutdown(error: DistError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ticker.stop();
    // Every send still held back settles now: the connection is gone before they were written.
    this.writer.close(error ?? new DistError("closed", `the connection to ${this.peerName} was closed by this node`));
    this.socket.destroy();
    this.emit("close", error);
  }

  private onData(chunk: Buffer): void {
    this.stats.bytesIn += chunk.length; // also what the ticker watches for signs of life
    const frames = this.frames;
    frames.push(chunk);
    try {
      for (let packet = frames.next(); packet !== undefined && !this.closed; packet = frames.next()) {
        if (packet !== TICK_FRAME) this.onPacket(packet);
      }
    } catch (err) {
      this.fail(err as DistError); // only the frame reader throws here (onPacket catches its own)
    }
  }

  private onPacket(packet: Buffer): void {
    let decoded;
    try {
      decoded = this.decoder.decode(packet);
    } catch (err) {
      return this.fail(err as DistError);
    }
    if (decoded === undefined) return; // a fragment; the message is not complete yet
    this.stats.messagesIn++;
    let message: ControlMessage;
    try {
      message = parseControl(decoded.control, decoded.payload);
    } catch (err) {
      if (err instanceof UnusableControlError) {
        const unknown = this.countsUnknown;
        unknown[err.tag] = (unknown[err.tag] ?? 0) + 1;
        this.emit("unusable", err);
        return;
      }
      return this.fail(err as DistError); // not a control message at all: the peer is at fault
    }
    this.countsIn[(decoded.control as Tuple).elements[0] as number]++; // a known tag: parseControl checked it
    const handler = this.signalHandler;
    if (handler !== undefined) handler(message);
    else this.emit("signal", message);
  }

  private fail(error: DistError): void {
    this.shutdown(error);
  }
}

/** Counters by tag as a record by kind, with the kinds never counted left out. */
function byKind(counts: readonly number[]): Partial<Record<ControlKind, number>> {
  const out: Partial<Record<ControlKind, number>> = {};
  for (let tag = 0; tag < counts.length; tag++) if (counts[tag] > 0) out[controlKind(tag)!] = counts[tag];
  return out;
}
