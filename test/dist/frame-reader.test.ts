// The frame reader fed bytes directly: every split of frames across chunks, both prefix sizes, the size limit,
// zero-length frames (ticks), the bytes left over, hostile lengths, and a property that any chunking of a stream
// yields the same frames.
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { DistError } from "../../src/dist/index.js";
import { FrameReader, TICK_FRAME } from "../../src/dist/frame-reader.js";

/** `bodies` as a byte stream of `header`-byte length-prefixed frames. */
function stream(header: 2 | 4, bodies: Buffer[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((body) => {
      const prefix = Buffer.alloc(header);
      if (header === 2) prefix.writeUInt16BE(body.length, 0);
      else prefix.writeUInt32BE(body.length, 0);
      return [prefix, body];
    }),
  );
}

/** Everything `next` returns for the stream pushed in `chunks`, taking frames after each push. */
function read(reader: FrameReader, chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let frame = reader.next(); frame !== undefined; frame = reader.next()) frames.push(Buffer.from(frame));
  }
  return frames;
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at)].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function protocolError(run: () => unknown): DistError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DistError);
    expect((err as DistError).code).toBe("protocol");
    return err as DistError;
  }
  throw new Error("expected a DistError");
}

const bodies = [Buffer.from("a"), Buffer.alloc(0), Buffer.from("hello, world"), Buffer.alloc(0), Buffer.from([1, 2, 3])];

describe("frame reader", () => {
  for (const header of [2, 4] as const) {
    it(`${header}-byte lengths: every way of cutting the stream in two and in three yields the same frames`, () => {
      const bytes = stream(header, bodies);
      for (let i = 0; i <= bytes.length; i++) {
        expect(read(new FrameReader({ header, maxFrameSize: 100 }), cut(bytes, [i])), `cut at ${i}`).toEqual(bodies);
        for (let j = i + 1; j < bytes.length; j++) {
          expect(read(new FrameReader({ header, maxFrameSize: 100 }), cut(bytes, [i, j])), `cut at ${i}, ${j}`).toEqual(bodies);
        }
      }
    });

    it(`${header}-byte lengths: one byte at a time`, () => {
      const bytes = stream(header, bodies);
      expect(read(new FrameReader({ header, maxFrameSize: 100 }), cut(bytes, [...bytes.keys()]))).toEqual(bodies);
    });
  }

  it("zero-length frames are ticks: TICK_FRAME, one per empty frame", () => {
    const reader = new FrameReader({ header: 4, maxFrameSize: 10 });
    reader.push(Buffer.alloc(12));
    expect([reader.next(), reader.next(), reader.next(), reader.next()]).toEqual([TICK_FRAME, TICK_FRAME, TICK_FRAME, undefined]);
    expect(reader.next()).toBeUndefined();
  });

  it("a frame within one chunk is a view of that chunk; one split across chunks is a copy of exactly its size", () => {
    const bytes = stream(4, [Buffer.from("inside"), Buffer.from("across")]);
    const reader = new FrameReader({ header: 4, maxFrameSize: 100 });
    reader.push(bytes.subarray(0, 14));
    reader.push(bytes.subarray(14));
    const inside = reader.next()!;
    const across = reader.next()!;
    expect([inside.toString(), across.toString()]).toEqual(["inside", "across"]);
    expect(across.length).toBe(6);
    bytes.fill(0x2a); // a view sees the change, a copy does not
    expect([inside.toString(), across.toString()]).toEqual(["******", "across"]);
  });

  it("the bytes left over are handed on whole: a partial frame, frames not taken, nothing", () => {
    const bytes = stream(2, [Buffer.from("first"), Buffer.from("second"), Buffer.from("third")]);
    for (let at = 0; at <= bytes.length; at++) {
      const reader = new FrameReader({ header: 2, maxFrameSize: 100 });
      for (const chunk of cut(bytes, [at, 3, 9])) reader.push(chunk);
      expect(reader.next()!.toString()).toBe("first");
      expect(reader.rest()).toEqual(bytes.subarray(7));
      expect(reader.buffered).toBe(0);
      expect(reader.next()).toBeUndefined();
    }
    const reader = new FrameReader({ header: 4, maxFrameSize: 100 });
    reader.push(stream(4, [Buffer.from("x")]));
    reader.push(Buffer.from([0, 0])); // half of the next prefix
    expect(reader.next()!.toString()).toBe("x");
    expect(reader.next()).toBeUndefined();
    expect(reader.rest()).toEqual(Buffer.from([0, 0]));
    expect(reader.rest()).toEqual(Buffer.alloc(0));
  });

  it("peek shows the first bytes without consuming them, across chunks too", () => {
    const reader = new FrameReader({ header: 2, maxFrameSize: 100 });
    expect(reader.peek(2)).toBeUndefined();
    reader.push(Buffer.from([0]));
    expect(reader.peek(2)).toBeUndefined();
    reader.push(Buffer.from([1, 65]));
    expect(reader.peek(2)).toEqual(Buffer.from([0, 1]));
    expect(reader.next()).toEqual(Buffer.from("A"));
  });

  it("a frame at the limit is read; one byte over is a protocol error as soon as its prefix is in, and stays one", () => {
    const atLimit = new FrameReader({ header: 4, maxFrameSize: 5 });
    expect(read(atLimit, [stream(4, [Buffer.from("12345")])])).toEqual([Buffer.from("12345")]);
    const over = new FrameReader({ header: 4, maxFrameSize: 5, what: "a test frame", advice: "send less" });
    over.push(Buffer.from([0, 0, 0]));
    expect(over.next()).toBeUndefined();
    over.push(Buffer.from([6])); // the prefix is complete; none of the body has come
    const error = protocolError(() => over.next());
    expect(error.message).toBe("a test frame of 6 bytes arrived, more than the limit of 5 bytes: send less");
    over.push(Buffer.from("123456"));
    expect(protocolError(() => over.next())).toBe(error);
  });

  it("hostile lengths drive no allocation: 4 GiB claimed and a few bytes sent, the reader holds just those bytes", () => {
    // Watches the reader's allocations (it allocates with allocUnsafe only) while still allocating for real.
    const spy = vi.spyOn(Buffer, "allocUnsafe");
    try {
      const reader = new FrameReader({ header: 4, maxFrameSize: 0xffffffff });
      reader.push(Buffer.from([0xff, 0xff]));
      expect(reader.next()).toBeUndefined();
      reader.push(Buffer.from([0xff, 0xff, 1, 2, 3])); // the prefix straddles two chunks
      for (let i = 0; i < 1000; i++) {
        reader.push(Buffer.from([i & 0xff]));
        expect(reader.next()).toBeUndefined();
      }
      expect(reader.buffered).toBe(1007);
      // Only the 4-byte prefix, gathered from two chunks, was ever allocated.
      expect(Math.max(0, ...spy.mock.calls.map(([size]) => size))).toBeLessThanOrEqual(4);
      const two = new FrameReader({ header: 2, maxFrameSize: 0xffff });
      two.push(Buffer.from([0xff, 0xff, 0]));
      expect(two.next()).toBeUndefined();
      expect(two.buffered).toBe(3);
    } finally {
      spy.mockRestore();
    }
  });

  it("a large frame arriving in many small chunks is one frame of exactly its bytes", () => {
    const body = Buffer.alloc(300_000, 7);
    body.writeUInt32BE(0xdeadbeef, 123_456);
    const bytes = stream(4, [body, Buffer.from("after")]);
    const chunks = cut(bytes, Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) => i * 1000 + 3));
    const [big, after, ...none] = read(new FrameReader({ header: 4, maxFrameSize: 1 << 20 }), chunks);
    expect(big.equals(body)).toBe(true);
    expect([after.toString(), none.length]).toEqual(["after", 0]);
  });

  it("a long stream whose chunks always end inside a frame reads through (the reader drops consumed chunks)", () => {
    const frames = Array.from({ length: 5000 }, (_, i) => Buffer.from(`frame ${i}`));
    const bytes = stream(4, frames);
    const chunks = cut(bytes, Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => i * 7));
    expect(chunks.length).toBeGreaterThan(2 * 1024);
    const reader = new FrameReader({ header: 4, maxFrameSize: 100 });
    expect(read(reader, chunks)).toEqual(frames);
    expect(reader.buffered).toBe(0);
  });

  it("property: any chunking of any frames yields those frames, with either prefix", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2 as const, 4 as const),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (header, frames, points) => {
          const expected = frames.map((f) => Buffer.from(f));
          const bytes = stream(header, expected);
          const at = points.map((p) => (bytes.length === 0 ? 0 : p % bytes.length));
          const reader = new FrameReader({ header, maxFrameSize: 300 });
          expect(read(reader, cut(bytes, at))).toEqual(expected);
          expect(reader.buffered).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("property: a stream cut anywhere hands over, as its rest, exactly the bytes after the frames taken", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { minLength: 1, maxLength: 10 }), fc.nat(), fc.array(fc.nat(), { maxLength: 10 }), (frames, end, points) => {
        const bytes = stream(4, frames.map((f) => Buffer.from(f)));
        const sent = bytes.subarray(0, end % (bytes.length + 1));
        const reader = new FrameReader({ header: 4, maxFrameSize: 50 });
        const taken = read(reader, cut(sent, points.map((p) => p % (sent.length + 1))));
        const consumed = taken.reduce((sum, f) => sum + 4 + f.length, 0);
        expect(reader.rest()).toEqual(sent.subarray(consumed));
      }),
      { numRuns: 300 },
    );
  });
});
