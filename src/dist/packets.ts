// Reads the handshake's length-prefixed packets from a socket: 2-byte lengths over TCP, 4-byte inside TLS. Bytes
// that arrive beyond the handshake are kept for the connection (`takeRest`). Over plain TCP, a first packet that
// starts like a TLS record is the peer speaking TLS distribution, and is reported as such.
import type { Socket } from "node:net";
import { DistError, TlsError } from "./errors.js";

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
  private chunks: Buffer[] = [];
  private size = 0;
  private waiter: { resolve: (packet: Buffer) => void; reject: (err: Error) => void; header: 2 | 4 } | undefined;
  private failure: Error | undefined;
  private delivered = false;
  private readonly plain: boolean;
  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.deliver();
  };
  private readonly onEnd = () => this.fail(new DistError("closed", "the peer closed the connection"));
  private readonly onError = (err: Error) => this.fail(new DistError("closed", `the connection failed: ${err.message}`, { cause: err }));

  /** `plain`: the handshake runs on plain TCP, where TLS bytes from the peer mean it wants TLS distribution. */
  constructor(
    private readonly socket: Socket,
    options: { plain?: boolean } = {},
  ) {
    this.plain = options.plain ?? true;
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("error", this.onError);
  }

  /** The next packet with a `header`-byte length (its payload only). Rejects if the connection closes first. */
  next(header: 2 | 4): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject, header };
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
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
    this.socket.off("error", this.onError);
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.size = 0;
    return rest;
  }

  private deliver(): void {
    const waiter = this.waiter;
    if (!waiter || this.size < waiter.header) return;
    let all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [all];
    if (!this.delivered && this.plain && looksLikeTls(all)) {
      this.fail(
        new TlsError(
          "peer_requires_tls",
          "the peer speaks TLS distribution (erl -proto_dist inet_tls) and this node plain TCP: give this node the tls option",
          "tls_expected",
        ),
      );
      return;
    }
    const length = waiter.header === 2 ? all.readUInt16BE(0) : all.readUInt32BE(0);
    if (length > MAX_HANDSHAKE_PACKET) {
      this.fail(new DistError("protocol", `a handshake message of ${length} bytes: no handshake message is that long`));
      return;
    }
    if (this.size < waiter.header + length) return;
    const packet = all.subarray(waiter.header, waiter.header + length);
    all = all.subarray(waiter.header + length);
    this.chunks = all.length > 0 ? [all] : [];
    this.size = all.length;
    this.waiter = undefined;
    this.delivered = true;
    waiter.resolve(packet);
  }
}
