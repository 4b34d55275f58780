// Reads the handshake's length-prefixed packets from a socket: 2-byte lengths over TCP, 4-byte inside TLS. The
// framing itself is the FrameReader's; this file wires it to the socket, waits for one packet at a time, and keeps
// the bytes that arrive beyond the handshake for the connection (`takeRest`). Over plain TCP, a first packet that
// starts like a TLS record is the peer speaking TLS distribution, and is reported as such.
import type { Socket } from "node:net";
import { DistError, TlsError } from "./errors.js";
import { FrameReader } from "./frame-reader.js";
import { readChunks } from "./socket-reads.js";

/** No handshake message comes near this (a name message is at most 274 bytes); 2-byte lengths cannot exceed it. */
const MAX_HANDSHAKE_PACKET = 0xffff;

/**
 * A TLS record header: content type alert (21) or handshake (22), then major version 3. Read as a 2-byte handshake
 * length it would claim 5376 bytes or more, which no first handshake message is.
 */
function looksLikeTls(bytes: Buffer): boolean {
  return (bytes[0] === 21 || bytes[0] === 22) && bytes[1] === 3;
}

export class PacketReader {
  private readonly frames: FrameReader;
  private waiter: { resolve: (packet: Buffer) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;
  private delivered = false;
  private readonly plain: boolean;
  private readonly stopReading: () => void;
  private readonly onData = (chunk: Buffer) => {
    this.frames.push(chunk);
    this.deliver();
  };
  private readonly onEnd = () => this.fail(new DistError("closed", "the peer closed the connection"));
  private readonly onError = (err: Error) => this.fail(new DistError("closed", `the connection failed: ${err.message}`, { cause: err }));

  /**
   * `header`: bytes of each packet's length (2 over TCP, the default; 4 inside TLS). `plain`: the handshake runs on
   * plain TCP, where TLS bytes from the peer mean it wants TLS distribution (default: when `header` is 2).
   */
  constructor(
    private readonly socket: Socket,
    options: { header?: 2 | 4; plain?: boolean } = {},
  ) {
    const header = options.header ?? 2;
    this.plain = options.plain ?? header === 2;
    this.frames = new FrameReader({
      header,
      maxFrameSize: MAX_HANDSHAKE_PACKET,
      what: "a handshake message",
      advice: "no handshake message is that long, so the peer is not speaking the distribution protocol",
    });
    this.stopReading = readChunks(socket, this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("error", this.onError);
  }

  /** The next packet (its payload only). Rejects if the connection closes or the handshake is abandoned first. */
  next(): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  /** Makes a pending `next` reject (timeout, abort). */
  fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }

  /** Stops reading and returns the bytes received but not consumed. */
  takeRest(): Buffer {
    this.stopReading();
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
    this.socket.off("error", this.onError);
    return this.frames.rest();
  }

  private deliver(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (!this.delivered && this.plain) {
      const start = this.frames.peek(2);
      if (!start) return;
      if (looksLikeTls(start)) {
        this.fail(
          new TlsError(
            "peer_requires_tls",
            "the peer speaks TLS distribution (erl -proto_dist inet_tls) and this node plain TCP: give this node the tls option",
            "tls_expected",
          ),
        );
        return;
      }
    }
    let packet: Buffer | undefined;
    try {
      packet = this.frames.next();
    } catch (err) {
      this.fail(err as DistError);
      return;
    }
    if (packet === undefined) return;
    this.waiter = undefined;
    this.delivered = true;
    waiter.resolve(packet);
  }
}
