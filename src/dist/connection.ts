// One distribution connection after the handshake: 4-byte framing, ticks both ways, and control messages in the
// pass-through format (<<112, Control, [Payload]>>, each term with its version byte), which every OTP release
// accepts from a peer that did not advertise DIST_HDR_ATOM_CACHE.
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { DecodeError, decodeTerm, encode, type Encodable, type Term } from "../etf/index.js";
import { DistError } from "./errors.js";
import type { Handshake } from "./handshake.js";

const PASS_THROUGH = 112;
const DIST_HEADER = 68;
const VERSION = 131;
const TICK = Buffer.alloc(4);

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

  constructor(socket: Socket, handshake: Handshake, options: ConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.peerName = handshake.peerName;
    this.peerCreation = handshake.peerCreation;
    this.flags = handshake.flags;
    this.maxPacketSize = options.maxPacketSize ?? 1 << 30;
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

  /** Sends a control message and, for those that carry one, its payload. */
  send(control: Encodable, payload?: Encodable): void {
    if (this.closed) throw new DistError("closed", `the connection to ${this.peerName} is closed`);
    const controlBytes = encode(control);
    const payloadBytes = payload === undefined ? undefined : encode(payload);
    const length = 1 + controlBytes.length + (payloadBytes?.length ?? 0);
    const header = Buffer.allocUnsafe(5);
    header.writeUInt32BE(length, 0);
    header[4] = PASS_THROUGH;
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(controlBytes);
    if (payloadBytes) this.socket.write(payloadBytes);
    this.socket.uncork();
    this.wroteSinceTick = true;
  }

  /** Closes the connection (the peer sees the node go down). */
  close(): void {
    this.shutdown(undefined);
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
    if (!this.wroteSinceTick) this.socket.write(TICK);
    this.wroteSinceTick = false;
  }

  private onData(chunk: Buffer): void {
    this.readSinceTick = true;
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
    if (packet[0] === DIST_HEADER) {
      this.fail(new DistError("protocol", `${this.peerName} sent a distribution header, which this connection did not advertise`));
      return;
    }
    if (packet[0] !== PASS_THROUGH || packet[1] !== VERSION) {
      this.fail(new DistError("protocol", `${this.peerName} sent a packet that is not a distribution message (first byte ${packet[0]})`));
      return;
    }
    let control: Term;
    let payload: Term | undefined;
    try {
      const first = decodeTerm(packet, 2);
      control = first.term;
      if (first.offset < packet.length) {
        if (packet[first.offset] !== VERSION) throw new DecodeError("bad_version", first.offset, "the payload lacks its version byte");
        const second = decodeTerm(packet, first.offset + 1);
        if (second.offset !== packet.length) throw new DecodeError("trailing_bytes", second.offset, "bytes after the payload");
        payload = second.term;
      }
    } catch (err) {
      this.fail(new DistError("protocol", `${this.peerName} sent a message that does not decode: ${(err as Error).message}`, { cause: err }));
      return;
    }
    this.emit("message", control, payload);
  }

  private fail(error: DistError): void {
    this.shutdown(error);
  }
}
