// The frame writer fed to a real Writable whose writes complete only when the test says so: the bytes it writes
// (pass-through, headers, fragments), the busy limit (held sends, in order, released as the socket takes bytes),
// the cap for held sends, ticks while busy, closing with sends held, and binaries written by reference.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DistError, FrameWriter, type FrameWriterOptions } from "../../src/dist/index.js";
import { EncodeError, atom, decodeTerm, encode, tuple, type Term } from "../../src/etf/index.js";

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A socket stand-in: a Writable that keeps every write (a corked batch as one, as a socket's writev) and completes
 * them only when the test says: `take()` for what is buffered now, `flow()` for everything from now on.
 */
class SlowSink extends Writable {
  readonly chunks: Buffer[] = [];
  private waiting: Array<{ size: number; done: () => void }> = [];
  private flowing = false;

  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.accept(Buffer.from(chunk), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.accept(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  private accept(bytes: Buffer, callback: (error?: Error | null) => void): void {
    this.chunks.push(bytes);
    if (this.flowing) callback();
    else this.waiting.push({ size: bytes.length, done: () => callback() });
  }

  /** The socket takes the bytes buffered now (and the empty writes among them), and nothing written after. */
  async take(): Promise<void> {
    let left = this.writableLength;
    while (left > 0 || (this.waiting[0]?.size === 0)) {
      const next = this.waiting.shift();
      if (!next) {
        await turn();
        continue;
      }
      left -= next.size;
      next.done();
    }
    await turn();
  }

  /** From now on every write completes at once. */
  flow(): void {
    this.flowing = true;
    for (const { done } of this.waiting.splice(0)) done();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writer(options: Partial<FrameWriterOptions> = {}): { sink: SlowSink; writer: FrameWriter } {
  const sink = new SlowSink();
  return { sink, writer: new FrameWriter(sink, { headers: false, fragments: false, peerName: "peer@host", ...options }) };
}

/** Splits the bytes into 4-byte-length frames. */
function frames(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    out.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** The terms of a pass-through frame: <<112, 131, Control, 131, Payload>>. */
function passThrough(frame: Buffer): Term[] {
  expect(frame[0]).toBe(112);
  const terms: Term[] = [];
  for (let at = 1; at < frame.length; ) {
    expect(frame[at]).toBe(131);
    const { term, offset } = decodeTerm(frame, at + 1);
    terms.push(term);
    at = offset;
  }
  return terms;
}


describe("the frame writer", () => {
  it("writes pass-through frames, or frames with an empty distribution header, batched per turn of the loop", async () => {
    const plain = writer();
    await plain.writer.send(tuple(2, atom(""), atom("to")), "hello");
    await plain.writer.send(tuple(6, atom("a")), undefined);
    await turn();
    plain.sink.flow();
    expect(plain.sink.chunks.length).toBe(1); // corked: one write for the turn
    const [first, second] = frames(plain.sink.bytes());
    expect(passThrough(first)).toEqual([tuple(2, atom(""), atom("to")), Buffer.from("hello")]);
    expect(passThrough(second)).toEqual([tuple(6, atom("a"))]);

    const headed = writer({ headers: true });
    await headed.writer.send(tuple(2, atom(""), atom("to")), 1);
    await turn();
    const [frame] = frames(headed.sink.bytes());
    expect([...frame.subarray(0, 3)]).toEqual([131, 68, 0]);
    expect(frame.subarray(3)).toEqual(Buffer.concat([encode(tuple(2, atom(""), atom("to"))).subarray(1), encode(1).subarray(1)]));
    expect(headed.writer.stats).toMatchObject({ messagesOut: 1, bytesOut: frame.length + 4 });
  });

  it("writes a turn's frames in one write; a frame too large to gather goes on its own, in order; a busy sender every 16 KiB", async () => {
    const { sink, writer: w } = writer();
    sink.flow(); // each write completes at once, so each is its own chunk
    const big = Buffer.alloc(100_000, 7); // by reference: not gathered
    void w.send(tuple(2, atom(""), atom("to")), 1);
    void w.send(tuple(2, atom(""), atom("to")), big);
    void w.send(tuple(2, atom(""), atom("to")), 3);
    await turn();
    // What was gathered before the large frame, the large frame's parts (one write), then the rest of the turn.
    expect(sink.chunks.filter((chunk) => chunk.length > 0).length).toBe(3); // (an empty write asks when the socket has the binary)
    const payloads = frames(sink.bytes()).map((frame) => passThrough(frame)[1]);
    expect(payloads[0]).toBe(1);
    expect((payloads[1] as Buffer).equals(big)).toBe(true);
    expect(payloads[2]).toBe(3);

    // A sender that never yields to the loop: written every 16 KiB, so the peer can start on them.
    const busy = writer({ busyLimit: 1 << 30 });
    for (let i = 0; i < 400; i++) void busy.writer.send(tuple(2, atom(""), atom("to")), Buffer.alloc(100, i));
    expect(busy.sink.writableLength).toBeGreaterThanOrEqual(16 * 1024);
    await turn();
    busy.sink.flow();
    await turn();
    const sent = frames(busy.sink.bytes()).map((frame) => (passThrough(frame)[1] as Buffer)[0]);
    expect(sent).toEqual(Array.from({ length: 400 }, (_, i) => i & 255));
    expect(busy.writer.stats).toMatchObject({ messagesOut: 400, bytesOut: busy.sink.bytes().length });
  });

  it("cuts a large message into fragments that carry the whole control message first, and its body in order", async () => {
    const { sink, writer: w } = writer({ headers: true, fragments: true });
    sink.flow();
    const big = Buffer.alloc(200_000, 3);
    await w.send(tuple(2, atom(""), atom("to")), big);
    await w.send(tuple(2, atom(""), atom("to")), big);
    await turn();
    const parts = frames(sink.bytes());
    expect(parts.length).toBe(2 * 4); // 200 KiB and a bit: 4 fragments each
    const bodies: Buffer[][] = [[], []];
    parts.forEach((frame, i) => {
      const message = Math.floor(i / 4);
      const index = i % 4;
      expect(frame[0]).toBe(131);
      expect(frame[1]).toBe(index === 0 ? 69 : 70);
      expect(frame.readBigUInt64BE(2)).toBe(BigInt(message + 1)); // the sequence id
      expect(frame.readBigUInt64BE(10)).toBe(BigInt(4 - index)); // fragments left, this one included
      bodies[message].push(frame.subarray(index === 0 ? 19 : 18));
    });
    for (const body of bodies) {
      const whole = Buffer.concat(body);
      const control = decodeTerm(whole, 0);
      expect(control.term).toEqual(tuple(2, atom(""), atom("to")));
      expect((decodeTerm(whole, control.offset).term as Buffer).equals(big)).toBe(true);
    }
    expect(w.stats.fragmentsOut).toBe(8);
  });

  it("becomes busy past the limit: later sends wait, in order, and go as the socket takes what it has", async () => {
    const { sink, writer: w } = writer({ busyLimit: 10_000 });
    const events: string[] = [];
    w.on("busy", (queued) => events.push(`busy ${queued >= 10_000}`));
    w.on("drain", () => events.push("drain"));
    const settled: number[] = [];
    const payload = Buffer.alloc(3000, 1);
    const sends = Array.from({ length: 10 }, (_, i) => w.send(tuple(2, atom(""), atom("to")), tuple(i, payload)).then(() => void settled.push(i)));
    await turn();
    // Four frames (12 KB) reach the limit; the other six are held.
    expect(w.busy).toBe(true);
    expect(w.heldSends).toBe(6);
    expect(settled).toEqual([0, 1, 2, 3]);
    expect(w.queuedBytes).toBeGreaterThan(10_000 + 6 * 3000);
    expect(w.stats.sendsHeld).toBe(6);
    // The socket takes what it had: the held sends go, together (small held frames share one block and one
    // promise), and their 18 KB make the connection busy again until the socket has them.
    await sink.take();
    expect(settled).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(w.heldSends).toBe(0);
    expect(w.busy).toBe(true);
    sink.flow();
    await Promise.all(sends);
    await turn();
    expect(w.busy).toBe(false);
    expect(events).toEqual(["busy true", "drain"]);
    expect(w.stats.busyCount).toBe(1);
    // Everything arrived, in the order sent.
    const order = frames(sink.bytes()).map((frame) => ((passThrough(frame)[1] as { elements: Term[] }).elements[0]));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("refuses held sends past maxQueuedBytes with DistError busy; the node's own signals are queued regardless", async () => {
    const { sink, writer: w } = writer({ busyLimit: 1000, maxQueuedBytes: 5000 });
    const payload = Buffer.alloc(1500, 2);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const sent = w.send(tuple(2, atom(""), atom("to")), tuple(i, payload));
        return Promise.race([sent.then(() => "sent", (e: unknown) => e), turn().then(() => "held")]);
      }),
    );
    expect(results[0]).toBe("sent");
    expect(results.slice(1, 4)).toEqual(["held", "held", "held"]); // 3 x ~1.5 KB fit in 5000
    for (const refused of results.slice(4)) {
      expect(refused).toBeInstanceOf(DistError);
      expect((refused as DistError).code).toBe("busy");
      expect((refused as DistError).message).toMatch(/peer@host is busy .*maxQueuedBytes 5000/);
    }
    expect(w.stats.sendsRefused).toBe(4);
    const forced = w.send(tuple(3, atom("x"), atom("y"), atom("normal")), undefined, true);
    expect(w.heldSends).toBe(4);
    sink.flow();
    await forced;
  });

  it("writes ticks even while busy, ahead of what is held", async () => {
    const { sink, writer: w } = writer({ busyLimit: 100 });
    void w.send(tuple(2, atom(""), atom("to")), Buffer.alloc(200));
    const held = w.send(tuple(2, atom(""), atom("to")), Buffer.alloc(10));
    await turn();
    w.tick();
    expect(w.stats.ticksOut).toBe(1);
    const written = sink.bytes();
    expect(written.subarray(written.length - 4)).toEqual(Buffer.alloc(4));
    sink.flow();
    await held;
  });

  it("closed with sends held: each rejects with the connection's error, and so does every later send", async () => {
    const { writer: w } = writer({ busyLimit: 100 });
    void w.send(tuple(2, atom(""), atom("to")), Buffer.alloc(200));
    const held = [w.send(tuple(2, atom(""), atom("to")), 1), w.send(tuple(2, atom(""), atom("to")), 2)];
    const gone = new DistError("timeout", "peer@host has been silent for longer than net_ticktime");
    w.close(gone);
    for (const send of held) await expect(send).rejects.toBe(gone);
    await expect(w.send(tuple(2, atom(""), atom("to")), 3)).rejects.toBe(gone);
    expect(w.busy).toBe(false);
    expect(w.heldSends).toBe(0);
    expect(w.queuedBytes).toBeGreaterThan(0); // what the socket had stays the socket's
  });

  it("a term that cannot be encoded rejects with its EncodeError and writes nothing", async () => {
    const { sink, writer: w } = writer();
    await expect(w.send(tuple(2, atom(""), atom("to")), { bad: undefined } as never)).rejects.toBeInstanceOf(EncodeError);
    await turn();
    expect(sink.chunks).toEqual([]);
  });

  it("large binaries go by reference: the send settles once the socket has taken them", async () => {
    const { sink, writer: w } = writer({ busyLimit: 1 << 30 });
    const big = Buffer.alloc(100_000, 5);
    let settled = false;
    const sent = w.send(tuple(2, atom(""), atom("to")), big).then(() => void (settled = true));
    await turn();
    await turn();
    expect(settled).toBe(false);
    sink.flow();
    await sent;
    expect(settled).toBe(true);
  });
});
