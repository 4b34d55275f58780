// Length-prefixed framing, receive side, without a socket: chunks go in (push), complete frames come out (next).
// The handshake uses 2-byte lengths over TCP and 4-byte ones inside TLS; connected nodes use 4-byte lengths, and a
// frame of length 0 is a tick. A frame that lies within one chunk is returned as a view of it (no copy); one split
// across chunks is copied once, into a buffer of exactly its size, allocated only when all of it has arrived: a
// length the peer claims never drives an allocation larger than the bytes it actually sent.
import { Buffer } from "node:buffer";
import { DistError } from "./errors.js";

export interface FrameReaderOptions {
  /** Bytes of each frame's big-endian length prefix. */
  header: 2 | 4;
  /** The largest frame accepted, in bytes (the prefix not included); a longer one is a protocol error. */
  maxFrameSize: number;
  /** What a frame is, for error messages, e.g. "a handshake message" (default "a frame"). */
  what?: string;
  /** What the reader of the error should do about a frame over maxFrameSize (appended to the message). */
  advice?: string;
}

/** The frame `next` returns for a zero-length frame: a tick. Shared; compare by length or identity. */
export const TICK_FRAME: Buffer = Buffer.alloc(0);

export class FrameReader {
  readonly header: 2 | 4;
  readonly maxFrameSize: number;
  /** Chunks not yet consumed; the first one from `offset` (a head index instead of shift(): O(1) per chunk). */
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  /** Bytes pushed and not yet consumed. */
  private size = 0;
  /** The length of the frame whose prefix is complete, or -1 when that prefix has not been read yet. */
  private pending = -1;
  private failure: DistError | undefined;
  private readonly what: string;
  private readonly advice: string;

  constructor(options: FrameReaderOptions) {
    this.header = options.header;
    this.maxFrameSize = options.maxFrameSize;
    this.what = options.what ?? "a frame";
    this.advice = options.advice ? `: ${options.advice}` : "";
  }

  /** Bytes received and not yet returned as frames (see rest). */
  get buffered(): number {
    return this.size;
  }

  /** Adds received bytes. The reader keeps a reference to `chunk`: the caller must not change it afterwards. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /**
   * The next complete frame (its payload, without the prefix), TICK_FRAME for a zero-length one, or undefined
   * until more bytes arrive. Throws DistError `protocol` for a frame longer than maxFrameSize, as soon as its
   * prefix is in, and again on every later call: the stream cannot be resynchronised.
   */
  next(): Buffer | undefined {
    if (this.failure) throw this.failure;
    let length = this.pending;
    if (length < 0) {
      if (this.size < this.header) return undefined;
      length = this.peekLength();
      if (length > this.maxFrameSize) {
        this.failure = new DistError(
          "protocol",
          `${this.what} of ${length} bytes arrived, more than the limit of ${this.maxFrameSize} bytes${this.advice}`,
        );
        throw this.failure;
      }
      this.pending = length;
    }
    const total = this.header + length;
    if (this.size < total) return undefined;
    this.pending = -1;
    if (length === 0) {
      this.skip(total);
      return TICK_FRAME;
    }
    const chunk = this.chunks[this.head];
    const start = this.offset;
    if (chunk.length - start >= total) {
      // The common case: the whole frame in the first chunk, returned as a view of it.
      this.offset = start + total;
      this.size -= total;
      if (this.offset === chunk.length) this.dropHead();
      return chunk.subarray(start + this.header, start + total);
    }
    this.skip(this.header);
    return this.copy(length);
  }

  /**
   * The bytes received and not consumed (a partial frame, or frames not yet taken), in one buffer, and empties the
   * reader: the handshake hands them to the connection.
   */
  rest(): Buffer {
    const parts = this.chunks.slice(this.head);
    if (parts.length > 0) parts[0] = parts[0].subarray(this.offset);
    const rest = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.size);
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.size = 0;
    this.pending = -1;
    return rest;
  }

  /**
   * The first `count` unconsumed bytes (a view when they lie in one chunk), or undefined while fewer have arrived;
   * consumes nothing. The handshake uses it to recognise a TLS record before reading it as a frame.
   */
  peek(count: number): Buffer | undefined {
    if (this.size < count) return undefined;
    const chunk = this.chunks[this.head];
    if (chunk.length - this.offset >= count) return chunk.subarray(this.offset, this.offset + count);
    const out = Buffer.allocUnsafe(count);
    this.copyInto(out);
    return out;
  }

  /** Reads the length prefix at the front (present in full), across chunks if it must. */
  private peekLength(): number {
    const chunk = this.chunks[this.head];
    const at = this.offset;
    if (chunk.length - at >= this.header) return this.header === 4 ? chunk.readUInt32BE(at) : chunk.readUInt16BE(at);
    const prefix = this.peek(this.header)!;
    return this.header === 4 ? prefix.readUInt32BE(0) : prefix.readUInt16BE(0);
  }

  /** Copies the front bytes into `out` (as many as it holds) without consuming them. */
  private copyInto(out: Buffer): void {
    let index = this.head;
    let at = this.offset;
    let filled = 0;
    while (filled < out.length) {
      const chunk = this.chunks[index++];
      filled += chunk.copy(out, filled, at, Math.min(chunk.length, at + out.length - filled));
      at = 0;
    }
  }

  /** Consumes `count` bytes (present) into a new buffer of exactly that size. */
  private copy(count: number): Buffer {
    const out = Buffer.allocUnsafe(count);
    this.copyInto(out);
    this.skip(count);
    return out;
  }

  /** Consumes `count` bytes (present). */
  private skip(count: number): void {
    this.size -= count;
    while (count > 0) {
      const available = this.chunks[this.head].length - this.offset;
      if (count < available) {
        this.offset += count;
        return;
      }
      count -= available;
      this.dropHead();
    }
  }

  private dropHead(): void {
    this.chunks[this.head++] = TICK_FRAME; // releases the consumed chunk at once
    this.offset = 0;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      // A stream that always ends in a partial frame never empties the array: drop the consumed slots now and then.
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
