// One distribution connection after the handshake: 4-byte framing, ticks both ways, and control messages. In:
// pass-through messages (<<112, 131, Control, [131, Payload]>>), distribution headers with the atom cache (68)
// and fragmented messages (69, 70). Out: a distribution header without atom cache references when the peer
// takes headers, else pass-through.
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { DecodeError, decodeTerm, encodeFrameSegments, type Atom, type Encodable, type EncodeOptions, type Term } from "../etf/index.js";
import { DistError } from "./errors.js";
import { DFLAG, encodeOptionsFor } from "./flags.js";
import type { Handshake } from "./handshake.js";
import { DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, Reassembler, newAtomCache, readAtomCacheRefs } from "./header.js";

const PASS_THROUGH = 112;
const VERSION = 131;
/** A distribution header with no atom cache references: <<131, 68, 0>>. */
const EMPTY_HEADER = Buffer.from([VERSION, DIST_HEADER, 0]);
const TICK = Buffer.alloc(4);
const PASS_THROUGH_PREFIX = Buffer.from([PASS_THROUGH]);
/** Messages larger than this are sent in fragments of this size (BEAM's own choice). */
export const FRAGMENT_SIZE = 64 * 1024;

export interface ConnectionOptions {
  /** net_ticktime in seconds (default 60, as BEAM): silence this long means the peer is down. */
  tickTime?: number;
  /** Largest packet accepted from the peer, in bytes (default 1 GiB). */
  maxPacketSize?: number;
}

interface ConnectionEvents {
  /** A control message (a tuple as the protocol defines it) and, for messages that carry one, the payload. */
  message: [control: Term, payload: Term | undefined];
  /** The connection is gone; `error` says why when it was not closed by this side. */
  close: [error: DistError | undefined];
}

const RESOLVED = Promise.resolve();
/** Bytes held back by the cork before they are flushed anyway (see corkUntilIdle). */
const FLUSH_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/** Reads consecutive byte runs from a list of buffers starting at `offset`, as views (no copies). */
function sliceReader(parts: Buffer[], offset: number): (size: number) => Buffer[] {
  let index = 0;
  let at = offset;
  while (index < parts.length && at >= parts[index].length) at -= parts[index++].length;
  return (size) => {
    const pieces: Buffer[] = [];
    while (size > 0 && index < parts.length) {
      const part = parts[index];
      const take = Math.min(size, part.length - at);
      pieces.push(part.subarray(at, at + take));
      size -= take;
      at += take;
      if (at === part.length) {
        index++;
        at = 0;
      }
    }
    return pieces;
  };
}

export class DistConnection extends EventEmitter<ConnectionEvents> {
  readonly peerName: string;
  readonly peerCreation: number;
  /** Flags both sides share. */
  readonly flags: bigint;
  private readonly socket: Socket;
  private readonly maxPacketSize: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private readSinceTick = false;
  private wroteSinceTick = false;
  private silentTicks = 0;
  private readonly ticker: NodeJS.Timeout;
  private closed = false;
  private readonly atomCache = newAtomCache();
  private readonly reassembler: Reassembler;
  private readonly sendHeaders: boolean;
  /** What the peer decodes (port tags, native records): every outgoing term is encoded with these. */
  private readonly encodeOptions: EncodeOptions;
  private nextSequence = 1n;
  /** Counters for status pages and tests. */
  readonly stats = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, fragmentsIn: 0, fragmentsOut: 0, ticksOut: 0, atomCacheRefsIn: 0 };

  constructor(socket: Socket, handshake: Handshake, options: ConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.peerName = handshake.peerName;
    this.peerCreation = handshake.peerCreation;
    this.flags = handshake.flags;
    this.maxPacketSize = options.maxPacketSize ?? 1 << 30;
    this.reassembler = new Reassembler(this.maxPacketSize);
    this.sendHeaders = (handshake.flags & DFLAG.DIST_HDR_ATOM_CACHE) !== 0n;
    this.encodeOptions = encodeOptionsFor(handshake.flags, handshake.peerName);
    socket.setNoDelay(true);
    const tickMs = ((options.tickTime ?? 60) * 1000) / 4;
    this.ticker = setInterval(() => this.tick(), tickMs);
    this.ticker.unref();
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
   * Sends a control message and, for those that carry one, its payload. Binaries of 64 KiB and more are written
   * by reference, not copied: the promise settles once the socket has taken them (at once when there are none),
   * and such a binary must not be changed before it settles.
   */
  send(control: Encodable, payload?: Encodable): Promise<void> {
    if (this.closed) throw new DistError("closed", `the connection to ${this.peerName} is closed`);
    const prefix = this.sendHeaders ? EMPTY_HEADER : PASS_THROUGH_PREFIX;
    const terms = payload === undefined ? [control] : [control, payload];
    // Large binaries in the message are written by reference, not copied (encodeFrameSegments).
    const { parts, controlEnd } = encodeFrameSegments(prefix, terms, !this.sendHeaders, this.encodeOptions);
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    this.corkUntilIdle(length);
    if (length - 4 > FRAGMENT_SIZE + 1024 && payload !== undefined && this.sendHeaders && (this.flags & DFLAG.FRAGMENTS) !== 0n) {
      this.sendFragmented(parts, 4 + prefix.length, controlEnd);
    } else {
      for (const part of parts) if (part.length > 0) this.socket.write(part);
      this.stats.bytesOut += length;
    }
    this.wroteSinceTick = true;
    this.stats.messagesOut++;
    if (parts.length === 1) return RESOLVED;
    // The message refers to the caller's large binaries: settle once the socket has taken them, after which the
    // caller may change them again.
    return new Promise((resolve) => this.socket.write(EMPTY, () => resolve()));
  }

  /**
   * Sends a large message as fragments (as BEAM does since OTP 22), so that other messages on the connection are
   * not held up behind one large packet on the peer's side. `parts` is the encoded frame; the fragments carry its
   * bytes from `bodyStart` (the control message, then the payload); the first one holds the whole control
   * message (up to `controlEnd`), as the protocol requires. All fragments are written at once: fragments of
   * different messages never interleave.
   */
  private sendFragmented(parts: Buffer[], bodyStart: number, controlEnd: number): void {
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    const bodyLength = total - bodyStart;
    const firstSize = Math.min(bodyLength, Math.max(FRAGMENT_SIZE, controlEnd - bodyStart));
    const count = 1 + Math.ceil((bodyLength - firstSize) / FRAGMENT_SIZE);
    const sequence = this.nextSequence++;
    const body = sliceReader(parts, bodyStart);
    for (let index = 0; index < count; index++) {
      const size = index === 0 ? firstSize : Math.min(FRAGMENT_SIZE, bodyLength - firstSize - (index - 1) * FRAGMENT_SIZE);
      const header = Buffer.allocUnsafe(index === 0 ? 4 + 19 : 4 + 18);
      const length = header.length - 4 + size;
      header.writeUInt32BE(length, 0);
      header[4] = VERSION;
      header[5] = index === 0 ? DIST_FRAG_HEADER : DIST_FRAG_CONT;
      header.writeBigUInt64BE(sequence, 6);
      header.writeBigUInt64BE(BigInt(count - index), 14);
      if (index === 0) header[22] = 0; // no atom cache references
      this.socket.write(header);
      for (const piece of body(size)) this.socket.write(piece);
      this.stats.bytesOut += 4 + length;
    }
    this.stats.fragmentsOut += count;
  }

  /**
   * Holds writes back until the event loop is idle, then flushes them in one go: every message sent in the same
   * turn of the loop leaves in one write system call instead of one each. A sender that keeps the loop busy (a
   * loop of awaited sends never yields to it) is flushed every FLUSH_BYTES, so that the peer works on the first
   * messages while the next are encoded.
   */
  private corkUntilIdle(length: number): void {
    if (this.corked) {
      this.corkedBytes += length;
      if (this.corkedBytes >= FLUSH_BYTES) {
        this.corkedBytes = 0;
        this.socket.uncork();
        this.socket.cork();
      }
      return;
    }
    this.corked = true;
    this.corkedBytes = length;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private corked = false;
  private corkedBytes = 0;

  /** Closes the connection (the peer sees the node go down); `reason`, if given, is what `close` reports. */
  close(reason?: DistError): void {
    this.shutdown(reason);
    this.socket.destroy();
  }

  private shutdown(error: DistError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    this.socket.destroy();
    this.emit("close", error);
  }

  private tick(): void {
    if (this.readSinceTick) {
      this.silentTicks = 0;
    } else if (++this.silentTicks >= 4) {
      this.shutdown(new DistError("timeout", `${this.peerName} has been silent for longer than net_ticktime (tick timeout)`));
      return;
    }
    this.readSinceTick = false;
    if (!this.wroteSinceTick) {
      this.socket.write(TICK);
      this.stats.ticksOut++;
    }
    this.wroteSinceTick = false;
  }

  private onData(chunk: Buffer): void {
    this.readSinceTick = true;
    this.stats.bytesIn += chunk.length;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (!this.closed && this.size >= 4) {
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const length = this.chunks[0].readUInt32BE(0);
      if (length > this.maxPacketSize) {
        this.fail(new DistError("protocol", `${this.peerName} sent a packet of ${length} bytes, more than maxPacketSize`));
        return;
      }
      if (this.size < 4 + length) return;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      const packet = all.subarray(4, 4 + length);
      const rest = all.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
      if (length > 0) this.onPacket(packet);
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
      const second = decodeTerm(body, skip(first.offset), options);
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
