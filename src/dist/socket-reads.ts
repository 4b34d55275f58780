// Where a socket's received bytes go. A socket this node dials over plain TCP reads through Node's `onread` option
// into slices of a slab of its own: no Readable stream, no 'data' event, no new ArrayBuffer and malloc per read.
// Any other socket (accepted, or TLS) reads through 'data' events. Whoever reads a socket (the handshake, then the
// connection) takes its chunks with readChunks, which hides the difference.
//
// The bytes of a slab are never reused: a chunk (and every frame and binary decoded from it as a view) stays valid
// for as long as it is held, as with Node's own reads. A held view keeps its slab alive, at most SLAB_SIZE bytes, as
// a view of one of Node's reads keeps that read's buffer (up to 64 KiB) alive.
import { Buffer } from "node:buffer";
import type { NetConnectOpts, OnReadOpts, Socket } from "node:net";
import { viewOfArrayBuffer } from "../common/buffer-view.js";

/** Bytes of each slab the reads are sliced from. */
const SLAB_SIZE = 64 * 1024;
/** Below this many bytes left in a slab, the next read goes into a new slab: no read is offered fewer. */
const MIN_READ = 16 * 1024;

type ChunkSink = (chunk: Buffer) => void;

/** A slab's memory: not zeroed (every byte of it handed on is one a read wrote), and all of its ArrayBuffer. */
function newSlab(): ArrayBuffer {
  return Buffer.allocUnsafeSlow(SLAB_SIZE).buffer as ArrayBuffer;
}

/** The reads of one socket dialled with directReads: slices of slabs, handed to the current sink. */
class DirectReads {
  // The slab as an ArrayBuffer, and views of it made from that: Buffer#subarray reads `.buffer` each time, a call
  // into C++ that costs more than the view itself.
  private slab = newSlab();
  /** Where the slice offered to the next read starts. */
  private used = 0;
  sink: ChunkSink | undefined;
  /** Chunks that arrived while nobody read the socket (between the handshake and its connection). */
  private unclaimed: Buffer[] = [];

  /**
   * The memory the next read goes into (Node calls it once at connect and after each read). A plain Uint8Array:
   * Node only reads into it, and it is cheaper to make than a Buffer.
   */
  readonly buffer = (): Uint8Array => {
    if (SLAB_SIZE - this.used < MIN_READ) {
      this.slab = newSlab();
      this.used = 0;
    }
    return new Uint8Array(this.slab, this.used);
  };

  /** A read of `length` bytes into the slice `buffer()` last offered. */
  readonly callback = (length: number): boolean => {
    const start = this.used;
    this.used = start + length;
    const chunk = viewOfArrayBuffer(this.slab, start, length);
    if (this.sink) this.sink(chunk);
    else this.unclaimed.push(chunk);
    return true; // never pauses: neither the handshake nor the connection holds reads back
  };

  /** Hands later chunks to `sink`, and those that came unclaimed in a microtask (after the sink's own setup). */
  attach(sink: ChunkSink): void {
    this.sink = sink;
    if (this.unclaimed.length === 0) return;
    const waiting = this.unclaimed;
    this.unclaimed = [];
    queueMicrotask(() => {
      // Stops where the sink lets go (the handshake ends mid-way): what is left waits for the next reader.
      while (waiting.length > 0 && this.sink === sink) sink(waiting.shift()!);
      if (waiting.length > 0) this.unclaimed.unshift(...waiting);
    });
  }
}

const direct = new WeakMap<Socket, DirectReads>();

/**
 * Connect options that make the socket read through a slab of its own (see the top of this file); pass the socket to
 * `adoptDirectReads` with the same reads once it is made.
 */
export function directReadOptions(options: NetConnectOpts): { options: NetConnectOpts; adopt: (socket: Socket) => void } {
  const reads = new DirectReads();
  const onread: OnReadOpts = { buffer: reads.buffer, callback: reads.callback };
  return { options: { ...options, onread }, adopt: (socket) => void direct.set(socket, reads) };
}

/**
 * Hands the chunks `socket` receives from now on to `sink`, until the returned function is called. One reader at a
 * time: the handshake, then the connection.
 */
export function readChunks(socket: Socket, sink: ChunkSink): () => void {
  const reads = direct.get(socket);
  if (reads === undefined) {
    socket.on("data", sink);
    return () => void socket.off("data", sink);
  }
  reads.attach(sink);
  return () => {
    if (reads.sink === sink) reads.sink = undefined;
  };
}
