// The outgoing half of a distribution connection: encodes each message into its frame (4-byte length, then a
// distribution header or pass-through byte, the control message and the payload), cuts large ones into fragments,
// gathers the frames of one turn of the event loop in a buffer of its own and writes them together, and bounds what
// waits for a slow peer, as BEAM's dist buffer busy limit (+zdbbl) does: once `busyLimit` bytes wait in the socket,
// the connection is busy and further sends are held back, in order, until the socket has taken what it had; held
// sends beyond `maxQueuedBytes` are refused.
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { nextTick } from "node:process";
import { viewOfArrayBuffer } from "../common/buffer-view.js";
import { encodeFrameInto, encodeFrameSegments, type Encodable, type EncodeOptions, type FrameSegments } from "../etf/index.js";
import { DistError } from "./errors.js";
import { DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER } from "./header.js";

const PASS_THROUGH = 112;
const VERSION = 131;
/** A distribution header with no atom cache references: <<131, 68, 0>>. */
const EMPTY_HEADER = Buffer.from([VERSION, DIST_HEADER, 0]);
const PASS_THROUGH_PREFIX = Buffer.from([PASS_THROUGH]);
const TICK = Buffer.alloc(4);
const EMPTY = Buffer.alloc(0);
/** What send returns for every message the socket took at once: one resolved promise for all of them. */
export const SENT: Promise<void> = Promise.resolve();
/** Messages larger than this are sent in fragments of this size (BEAM's own choice). */
export const FRAGMENT_SIZE = 64 * 1024;
/** Bytes gathered in a turn before they are written anyway (see gather). */
const FLUSH_BYTES = 16 * 1024;
/** The buffer a turn's frames are encoded into; a new one once less than GATHER_MIN_ROOM of it is left. */
const GATHER_SIZE = 64 * 1024;
const GATHER_MIN_ROOM = 4 * 1024;

/** BEAM's default dist buffer busy limit (+zdbbl 1024 KiB). */
export const DEFAULT_BUSY_LIMIT = 1024 * 1024;
/** The most bytes of held-back sends a busy connection keeps before it refuses more. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** What the writer needs of a socket (a net.Socket or tls.TLSSocket). */
export interface FrameSink {
  write(chunk: Buffer, callback?: (error?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  /** Bytes written but not yet handed to the operating system. */
  readonly writableLength: number;
}

export interface FrameWriterOptions {
  /** Distribution headers (the peer has DIST_HDR_ATOM_CACHE); otherwise pass-through messages. */
  headers: boolean;
  /** The peer takes fragmented messages (DFLAG_FRAGMENTS; only with headers). */
  fragments: boolean;
  /** How terms are encoded for this peer (see encodeOptionsFor). */
  encodeOptions?: EncodeOptions;
  /** Bytes waiting in the socket past which the connection is busy (default 1 MiB, BEAM's +zdbbl). */
  busyLimit?: number;
  /** The most bytes of held-back sends kept while busy; past it a send is refused (default 64 MiB). */
  maxQueuedBytes?: number;
  /** Says whose connection this is, in error messages. */
  peerName: string;
  /** Where the counters go (the connection's stats object); a new one by default. */
  stats?: WriterStats;
}

/** Counters of the outgoing side (part of DistConnection's stats). */
export interface WriterStats {
  messagesOut: number;
  bytesOut: number;
  fragmentsOut: number;
  ticksOut: number;
  /** Times the connection became busy. */
  busyCount: number;
  /** Milliseconds spent busy, the current spell included once it ends. */
  busyMs: number;
  /** Sends that had to wait because the connection was busy. */
  sendsHeld: number;
  /** Sends refused because `maxQueuedBytes` was held already. */
  sendsRefused: number;
}

/** Zeroed writer counters. */
export function newWriterStats(): WriterStats {
  return { messagesOut: 0, bytesOut: 0, fragmentsOut: 0, ticksOut: 0, busyCount: 0, busyMs: 0, sendsHeld: 0, sendsRefused: 0 };
}

interface WriterEvents {
  /** The connection became busy: `queuedBytes` wait for the socket. */
  busy: [queuedBytes: number];
  /** The connection is no longer busy, after `busyMs` milliseconds. */
  drain: [busyMs: number];
}

/** An encoded message: the frame as parts (large binaries as views of the caller's), its length, where its control ends. */
interface Frame {
  parts: Buffer[];
  length: number;
  controlEnd: number;
  /** Bytes before the control message (length and prefix). */
  bodyStart: number;
  hasPayload: boolean;
}

/** Held small frames are copied into blocks of this size, several sends to a block. */
const HELD_BLOCK_SIZE = 64 * 1024;
/** Frames up to this size are copied into a block when held; larger ones are held as they are. */
const HELD_COPY_MAX = 16 * 1024;

/**
 * Sends held back, in order. Small frames are copied one after another into a block that all of them share, with
 * one promise for the lot (they are written together, so they settle together): holding a small send costs its
 * bytes and nothing per send, which keeps a busy connection's memory close to maxQueuedBytes. A large frame (or one
 * with binaries by reference) is held alone, as it is.
 */
interface HeldBatch {
  /** The copied frames (`used` bytes of it), or undefined for one frame held as it is. */
  block: Buffer | undefined;
  used: number;
  frame: Frame | undefined;
  /** Messages in it. */
  count: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function newBatch(block: Buffer | undefined, frame: Frame | undefined): HeldBatch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { block, used: 0, frame, count: 0, promise, resolve, reject };
}

/** Writes 4 big-endian bytes (Buffer's writeUInt32BE checks its arguments on every call). */
function writeU32(target: Buffer, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
}

/** Writes a non-negative safe integer as 8 big-endian bytes, without a BigInt. */
function writeU64(target: Buffer, at: number, value: number): void {
  writeU32(target, at, Math.floor(value / 0x1_0000_0000));
  writeU32(target, at + 4, value >>> 0);
}

export class FrameWriter extends EventEmitter<WriterEvents> {
  readonly stats: WriterStats;
  private readonly prefix: Buffer;
  private readonly busyLimit: number;
  private readonly maxQueuedBytes: number;
  private readonly held: HeldBatch[] = [];
  private heldBytes = 0;
  private heldCount = 0;
  private busySince: number | undefined;
  private waitingForSocket = false;
  private closedBy: Error | undefined;
  /** The sequence id of the next fragmented message (a number: 2^53 messages outlast any connection). */
  private nextSequence = 1;
  /**
   * Frames are encoded one after another into `gathered`; the bytes from `gatheredFlushed` to `gatheredUsed` are not
   * written yet. They go in one socket write at the end of the turn, or every FLUSH_BYTES. The end of the turn is a
   * process.nextTick: it runs once the code that sent them and the promise callbacks it set off are done, before the
   * loop polls again, and costs less than setImmediate. The socket keeps a view of the bytes: written bytes are
   * never overwritten, and a full buffer is replaced, not reused.
   */
  private gathered = Buffer.allocUnsafeSlow(GATHER_SIZE);
  /** `gathered`'s ArrayBuffer (all of it), for the views written: Buffer#subarray would read `.buffer` each time. */
  private gatheredArray = this.gathered.buffer as ArrayBuffer;
  private gatheredUsed = 0;
  private gatheredFlushed = 0;
  private flushScheduled = false;
  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly sink: FrameSink,
    private readonly options: FrameWriterOptions,
  ) {
    super();
    this.stats = options.stats ?? newWriterStats();
    this.prefix = options.headers ? EMPTY_HEADER : PASS_THROUGH_PREFIX;
    this.busyLimit = Math.max(1, options.busyLimit ?? DEFAULT_BUSY_LIMIT);
    this.maxQueuedBytes = Math.max(0, options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES);
  }

  /** True while sends are being held back for a slow socket. */
  get busy(): boolean {
    return this.busySince !== undefined;
  }

  /** Bytes waiting: in the socket, and held back by this writer (gathered for this turn's write, or held while busy). */
  get queuedBytes(): number {
    return this.sink.writableLength + this.heldBytes + (this.gatheredUsed - this.gatheredFlushed);
  }

  /** Sends waiting to be written. */
  get heldSends(): number {
    return this.heldCount;
  }

  /**
   * Encodes and sends a control message (and its payload). Resolves once the socket has the message: at once when
   * the connection is not busy (for messages with binaries of 64 KiB and more, which are written by reference, once
   * the socket has taken them; such a binary must not change before then), else when its turn comes. Rejects with
   * the EncodeError of a term that cannot be sent, a DistError `busy` when `maxQueuedBytes` are held already
   * (unless `force`: signals of the node itself, such as exit signals, are always queued), or the connection's
   * error when it closes first. Never throws.
   */
  send(control: Encodable, payload: Encodable | undefined, force = false): Promise<void> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const holding = this.held.length > 0 || this.busy;
    // Full already: refused before encoding, so that a sender spinning on refusals makes no garbage.
    if (holding && !force && this.heldBytes >= this.maxQueuedBytes) return this.refuse();
    if (!holding) return this.gather(control, payload);
    let frame: Frame;
    try {
      frame = this.encode(control, payload);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (!force && this.heldBytes + frame.length > this.maxQueuedBytes) return this.refuse();
    this.stats.sendsHeld++;
    return this.hold(frame);
  }

  /**
   * Sends a frame now: encoded straight into the gathered bytes of this turn when it fits there, else (a large
   * frame, or one with binaries by reference) written on its own after them. Settles as send() describes.
   */
  private gather(control: Encodable, payload: Encodable | undefined): Promise<void> {
    if (GATHER_SIZE - this.gatheredUsed < GATHER_MIN_ROOM) {
      this.flush();
      this.gathered = Buffer.allocUnsafeSlow(GATHER_SIZE); // the socket may still refer to the old one
      this.gatheredArray = this.gathered.buffer as ArrayBuffer;
      this.gatheredUsed = this.gatheredFlushed = 0;
    }
    let encoded: number | FrameSegments;
    try {
      encoded = encodeFrameInto(this.gathered, this.gatheredUsed, this.prefix, control, payload, !this.options.headers, this.options.encodeOptions);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (typeof encoded !== "number") return this.write(this.frameOf(encoded, payload !== undefined));
    const length = encoded - this.gatheredUsed;
    this.gatheredUsed = encoded;
    this.stats.messagesOut++;
    this.stats.bytesOut += length;
    if (this.gatheredUsed - this.gatheredFlushed >= FLUSH_BYTES) {
      // A sender that keeps the loop busy (a loop of awaited sends never yields to it) is written every FLUSH_BYTES,
      // so that the peer works on the first messages while the next are encoded.
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      nextTick(this.flushLater);
    }
    if (this.sink.writableLength + this.gatheredUsed - this.gatheredFlushed >= this.busyLimit) this.startBusy();
    return SENT;
  }

  /** Writes the gathered frames not written yet, in one socket write. */
  private flush(): void {
    const from = this.gatheredFlushed;
    if (this.gatheredUsed === from || this.closedBy) return;
    this.gatheredFlushed = this.gatheredUsed;
    this.sink.write(viewOfArrayBuffer(this.gatheredArray, from, this.gatheredUsed - from));
  }

  /** Queues a frame behind the others; its promise settles when it is written (see HeldBatch). */
  private hold(frame: Frame): Promise<void> {
    this.heldBytes += frame.length;
    this.heldCount++;
    let batch = this.held.at(-1);
    if (frame.parts.length === 1 && frame.length <= HELD_COPY_MAX) {
      if (!batch?.block || batch.used + frame.length > batch.block.length) this.held.push((batch = newBatch(Buffer.allocUnsafe(HELD_BLOCK_SIZE), undefined)));
      frame.parts[0].copy(batch.block!, batch.used);
      batch.used += frame.length;
    } else {
      this.held.push((batch = newBatch(undefined, frame)));
    }
    batch.count++;
    return batch.promise;
  }

  private refuse(): Promise<void> {
    this.stats.sendsRefused++;
    return Promise.reject(
      new DistError(
        "busy",
        `the connection to ${this.options.peerName} is busy and ${this.heldBytes} bytes wait for it already (maxQueuedBytes ` +
          `${this.maxQueuedBytes}): the peer is not reading; await each send to be held back instead, or raise maxQueuedBytes`,
      ),
    );
  }

  /** Writes an empty frame (a tick), ahead of anything held back: the peer must hear from us even when busy. */
  tick(): void {
    if (this.closedBy) return;
    this.sink.write(TICK);
    this.stats.ticksOut++;
  }

  /** Rejects every held send with `error` (the connection is gone); later sends reject with it too. */
  close(error: Error): void {
    if (this.closedBy) return;
    this.closedBy = error;
    this.gatheredFlushed = this.gatheredUsed; // never written: the connection is gone
    this.heldBytes = 0;
    this.heldCount = 0;
    for (const batch of this.held.splice(0)) batch.reject(error);
    this.endBusy(false);
  }

  private encode(control: Encodable, payload: Encodable | undefined): Frame {
    const terms = payload === undefined ? [control] : [control, payload];
    // Large binaries in the message are written by reference, not copied (encodeFrameSegments).
    return this.frameOf(encodeFrameSegments(this.prefix, terms, !this.options.headers, this.options.encodeOptions), payload !== undefined);
  }

  private frameOf({ parts, controlEnd }: FrameSegments, hasPayload: boolean): Frame {
    let length = 0;
    for (const part of parts) length += part.length;
    return { parts, length, controlEnd, bodyStart: 4 + this.prefix.length, hasPayload };
  }

  /** Writes a frame now; settles as send() describes. */
  private write(frame: Frame): Promise<void> {
    this.flush(); // what was gathered goes first
    // One socket write for all of the frame's parts (or fragments).
    this.sink.cork();
    if (frame.length - 4 > FRAGMENT_SIZE + 1024 && frame.hasPayload && this.options.headers && this.options.fragments) {
      this.writeFragmented(frame);
    } else {
      for (const part of frame.parts) if (part.length > 0) this.sink.write(part);
      this.stats.bytesOut += frame.length;
    }
    this.sink.uncork();
    this.stats.messagesOut++;
    if (this.sink.writableLength >= this.busyLimit) this.startBusy();
    if (frame.parts.length === 1) return SENT;
    // The message refers to the caller's large binaries: settle once the socket has taken them, after which the
    // caller may change them again.
    return new Promise((resolve) => this.sink.write(EMPTY, () => resolve()));
  }

  /**
   * Sends a large message as fragments (as BEAM does since OTP 22), so that other messages on the connection are
   * not held up behind one large packet on the peer's side. The fragments carry the frame's bytes from its control
   * message on; the first one holds the whole control message, as the protocol requires. All fragments are written
   * at once: fragments of different messages never interleave.
   */
  private writeFragmented(frame: Frame): void {
    const bodyLength = frame.length - frame.bodyStart;
    const firstSize = Math.min(bodyLength, Math.max(FRAGMENT_SIZE, frame.controlEnd - frame.bodyStart));
    const count = 1 + Math.ceil((bodyLength - firstSize) / FRAGMENT_SIZE);
    const sequence = this.nextSequence++;
    // Every fragment's header in one buffer: the first 4 + 19 bytes, the others 4 + 18.
    const headers = Buffer.allocUnsafe(23 + (count - 1) * 22);
    const parts = frame.parts;
    let part = 0; // the body is read from parts[part] at `at`, as views (no copies)
    let at = frame.bodyStart;
    let headerAt = 0;
    for (let index = 0; index < count; index++) {
      let size = index === 0 ? firstSize : Math.min(FRAGMENT_SIZE, bodyLength - firstSize - (index - 1) * FRAGMENT_SIZE);
      const headerSize = index === 0 ? 23 : 22;
      const length = headerSize - 4 + size;
      writeU32(headers, headerAt, length);
      headers[headerAt + 4] = VERSION;
      headers[headerAt + 5] = index === 0 ? DIST_FRAG_HEADER : DIST_FRAG_CONT;
      writeU64(headers, headerAt + 6, sequence);
      writeU64(headers, headerAt + 14, count - index); // fragment ids count down to 1
      if (index === 0) headers[headerAt + 22] = 0; // no atom cache references
      this.sink.write(headers.subarray(headerAt, headerAt + headerSize));
      headerAt += headerSize;
      while (size > 0) {
        if (at === parts[part].length) {
          part++; // (the parts hold the body's bytes exactly: there is a next one while size is left)
          at = 0;
          continue;
        }
        const take = Math.min(size, parts[part].length - at);
        this.sink.write(parts[part].subarray(at, at + take));
        size -= take;
        at += take;
      }
      this.stats.bytesOut += 4 + length;
    }
    this.stats.fragmentsOut += count;
  }

  private startBusy(): void {
    this.flush(); // so that the socket's callback below comes after every frame sent so far
    if (this.busySince === undefined) {
      this.busySince = Date.now();
      this.stats.busyCount++;
      this.emit("busy", this.queuedBytes);
    }
    this.waitForSocket();
  }

  /** Ends a busy spell: counts its time, and says so (`announce`) unless the connection is gone. */
  private endBusy(announce = true): void {
    if (this.busySince === undefined) return;
    const spell = Date.now() - this.busySince;
    this.busySince = undefined;
    this.stats.busyMs += spell;
    if (announce) this.emit("drain", spell);
  }

  /**
   * Asks the socket to say when it has taken everything written so far (the callback of an empty write comes after
   * the callbacks of every earlier write), then writes held sends until the limit again. This needs no 'drain'
   * event, which a socket emits only once its own high-water mark was passed.
   */
  private waitForSocket(): void {
    if (this.waitingForSocket || this.closedBy) return;
    this.waitingForSocket = true;
    this.sink.write(EMPTY, () => {
      this.waitingForSocket = false;
      this.release();
    });
  }

  private release(): void {
    if (this.closedBy) return;
    while (this.held.length > 0 && this.sink.writableLength < this.busyLimit) {
      const batch = this.held.shift()!;
      this.heldCount -= batch.count;
      if (batch.frame) {
        this.heldBytes -= batch.frame.length;
        this.write(batch.frame).then(batch.resolve, batch.reject);
      } else {
        // Whole frames one after another: the same bytes on the wire as writing them one by one.
        this.heldBytes -= batch.used;
        this.sink.write(batch.block!.subarray(0, batch.used));
        this.stats.bytesOut += batch.used;
        this.stats.messagesOut += batch.count;
        batch.resolve();
      }
    }
    if (this.held.length === 0 && this.sink.writableLength < this.busyLimit) this.endBusy();
    else this.waitForSocket();
  }
}
