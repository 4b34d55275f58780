// Reads length-prefixed packets from a socket: 2-byte lengths during the handshake, 4-byte after it. Bytes that
// arrive beyond the handshake are kept for the connection (`takeRest`).
import type { Socket } from "node:net";
import { DistError } from "./errors.js";

export class PacketReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private waiter: { resolve: (packet: Buffer) => void; reject: (err: Error) => void; header: 2 | 4 } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.deliver();
  };
  private readonly onEnd = () => this.fail(new DistError("closed", "the peer closed the connection"));
  private readonly onError = (err: Error) => this.fail(new DistError("closed", `the connection failed: ${err.message}`, { cause: err }));

  constructor(private readonly socket: Socket) {
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
    const length = waiter.header === 2 ? all.readUInt16BE(0) : all.readUInt32BE(0);
    if (this.size < waiter.header + length) return;
    const packet = all.subarray(waiter.header, waiter.header + length);
    all = all.subarray(waiter.header + length);
    this.chunks = all.length > 0 ? [all] : [];
    this.size = all.length;
    this.waiter = undefined;
    waiter.resolve(packet);
  }
}
