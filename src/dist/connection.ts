// One distribution connection after the handshake: 4-byte framing, ticks both ways, and control messages. In:
// pass-through messages (<<112, 131, Control, [131, Payload]>>), distribution headers with the atom cache (68)
// and fragmented messages (69, 70). Out: the frame writer (frame-writer.ts), with its busy limit.
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { DecodeError, decodeTerm, type Atom, type DecodeOptions, type Encodable, type Term, type TermOptions } from "../etf/index.js";
import { DistError } from "./errors.js";
import { DFLAG, encodeOptionsFor } from "./flags.js";
import type { Handshake } from "./handshake.js";
import { FrameWriter, newWriterStats } from "./frame-writer.js";
import { FrameReader, TICK_FRAME } from "./frame-reader.js";
import { DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, Reassembler, newAtomCache, readAtomCacheRefs } from "./header.js";
import { Ticker, type TickerTimer } from "./ticker.js";

export { FRAGMENT_SIZE, DEFAULT_BUSY_LIMIT, DEFAULT_MAX_QUEUED_BYTES } from "./frame-writer.js";

const PASS_THROUGH = 112;
const VERSION = 131;

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

interface ConnectionEvents {
  /** A control message (a tuple as the protocol defines it) and, for messages that carry one, the payload. */
  message: [control: Term, payload: Term | undefined];
  /** The connection is gone; `error` says why when it was not closed by this side. */
  close: [error: DistError | undefined];
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
  private readonly atomCache = newAtomCache();
  private readonly reassembler: Reassembler;
  private readonly writer: FrameWriter;
  /** The `terms` decode options for payloads, or undefined for the defaults. */
  private readonly payloadOptions: DecodeOptions | undefined;
  /** Counters for status pages and tests (the outgoing ones kept by the frame writer). */
  readonly stats = { messagesIn: 0, bytesIn: 0, fragmentsIn: 0, atomCacheRefsIn: 0, ...newWriterStats() };

  constructor(socket: Socket, handshake: Handshake, options: ConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.peerName = handshake.peerName;
    this.peerCreation = handshake.peerCreation;
    this.flags = handshake.flags;
    this.maxPacketSize = options.maxPacketSize ?? 1 << 30;
    this.reassembler = new Reassembler(this.maxPacketSize);
    const terms = options.terms;
    this.payloadOptions = terms?.binariesAsStrings || terms?.nilAsNull ? { binariesAsStrings: terms.binariesAsStrings, nilAsNull: terms.nilAsNull } : undefined;
    const headers = (handshake.flags & DFLAG.DIST_HDR_ATOM_CACHE) !== 0n;
    this.writer = new FrameWriter(socket, {
      headers,
      fragments: headers && (handshake.flags & DFLAG.FRAGMENTS) !== 0n,
      encodeOptions: { ...encodeOptionsFor(handshake.flags, handshake.peerName), nilAsNull: options.terms?.nilAsNull },
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
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.shutdown(new DistError("closed", `the connection to ${this.peerName} failed: ${err.message}`, { cause: err })));
    socket.on("close", () => this.shutdown(new DistError("closed", `${this.peerName} closed the connection`)));
    if (handshake.rest.length > 0) queueMicrotask(() => this.onData(handshake.rest));
  }

  /** True until the connection closes. */
  get open(): boolean {
    return !this.closed;
  }

  /**
   * Sends a control message and, for those that carry one, its payload. Resolves once the socket has it: at once
   * unless the connection is busy (more than `busyLimit` bytes wait for the socket), else in order as the socket
   * takes what waits. Binaries of 64 KiB and more are written by reference, not copied: the promise settles once
   * the socket has taken them, and such a binary must not be changed before it settles. Rejects, never throws: with
   * the EncodeError of a term the peer cannot take, DistError `busy` when `maxQueuedBytes` wait already (`force`,
   * for the node's own signals, queues regardless), or DistError `closed` when the connection is or goes down
   * before the message was written.
   */
  send(control: Encodable, payload?: Encodable, force = false): Promise<void> {
    if (this.closed) return Promise.reject(new DistError("closed", `the connection to ${this.peerName} is closed`));
    return this.writer.send(control, payload, force);
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
    try {
      if (packet[0] === PASS_THROUGH && packet[1] === VERSION) {
        this.deliver(packet, 1, undefined, true);
      } else if (packet[0] === VERSION && packet.length > 1) {
        switch (packet[1]) {
          case DIST_HEADER: {
            const { refs, offset } = readAtomCacheRefs(packet, 2, this.atomCache);
            this.stats.atomCacheRefsIn += refs.length;
            this.deliver(packet, offset, refs, false);
            return;
          }
          case DIST_FRAG_HEADER: {
            this.stats.fragmentsIn++;
            const whole = this.reassembler.start(packet.subarray(1), this.atomCache);
            if (whole) this.deliver(whole.body, 0, whole.refs, false);
            return;
          }
          case DIST_FRAG_CONT: {
            this.stats.fragmentsIn++;
            const whole = this.reassembler.continue(packet.subarray(1));
            if (whole) this.deliver(whole.body, 0, whole.refs, false);
            return;
          }
          default:
            throw new DistError("protocol", `${this.peerName} sent an unknown distribution header tag ${packet[1]}`);
        }
      } else {
        throw new DistError("protocol", `${this.peerName} sent a packet that is not a distribution message (first byte ${packet[0]})`);
      }
    } catch (err) {
      if (err instanceof DistError) this.fail(err);
      else this.fail(new DistError("protocol", `${this.peerName} sent a message that does not decode: ${(err as Error).message}`, { cause: err }));
    }
  }

  /** Decodes the control message (and payload) at `offset` and emits them. */
  private deliver(body: Buffer, offset: number, atomCache: Atom[] | undefined, versioned: boolean): void {
    const options = atomCache ? { atomCache } : undefined;
    const skip = (at: number) => {
      if (!versioned) return at;
      if (body[at] !== VERSION) throw new DecodeError("bad_version", at, "a pass-through term lacks its version byte");
      return at + 1;
    };
    const first = decodeTerm(body, skip(offset), options);
    let payload: Term | undefined;
    if (first.offset < body.length) {
      const terms = this.payloadOptions;
      const second = decodeTerm(body, skip(first.offset), terms === undefined ? options : atomCache ? { ...terms, atomCache } : terms);
      if (second.offset !== body.length) throw new DecodeError("trailing_bytes", second.offset, "bytes after the payload");
      payload = second.term;
    }
    this.stats.messagesIn++;
    this.emit("message", first.term, payload);
  }

  private fail(error: DistError): void {
    this.shutdown(error);
  }
}
