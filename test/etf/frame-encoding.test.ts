// Frames as the distribution writer encodes them: encodeFrameInto writes into the caller's buffer when the frame fits
// and gives the same bytes as encodeFrameSegments; when it does not fit, or holds a binary that travels by reference,
// it returns segments that never refer to the caller's buffer. And the encoder's dispatch on what an object is.
import { describe, expect, it } from "vitest";
import {
  EncodeError,
  Pid,
  Tuple,
  atom,
  decode,
  decodeTerm,
  encode,
  encodeFrameInto,
  encodeFrameSegments,
  tuple,
  type Encodable,
} from "../../src/etf/index.js";

const HEADER = Buffer.from([131, 68, 0]);
const sender = new Pid(atom("a@127.0.0.1"), 81, 0, 1764570000);
const control = tuple(6, sender, atom(""), atom("name"));

/** A frame's bytes from encodeFrameSegments, as one buffer. */
function segmentsFrame(payload: Encodable, versioned = false, prefix: Uint8Array = HEADER): Buffer {
  return Buffer.concat(encodeFrameSegments(prefix, [control, payload], versioned).parts);
}

describe("encodeFrameInto", () => {
  it("writes a frame that fits into the target at the offset, the same bytes as encodeFrameSegments, and returns its end", () => {
    const target = Buffer.alloc(4096, 0xee);
    const payload = tuple(atom("n"), 12345, "text");
    const end = encodeFrameInto(target, 100, HEADER, control, payload, false);
    const expected = segmentsFrame(payload);
    expect(end).toBe(100 + expected.length);
    expect(target.subarray(100, end as number)).toEqual(expected);
    expect(target.readUInt32BE(100)).toBe(expected.length - 4);
    expect([...target.subarray(0, 100)].every((b) => b === 0xee)).toBe(true); // nothing before the offset
    // Versioned (pass-through) frames, and a control message without a payload.
    const plain = encodeFrameInto(target, 0, Buffer.from([112]), control, undefined, true) as number;
    expect(target.subarray(0, plain)).toEqual(Buffer.concat(encodeFrameSegments(Buffer.from([112]), [control], true).parts));
  });

  it("returns segments for a frame that outgrows the target, none of them in the target", () => {
    const target = Buffer.alloc(64);
    const payload = Buffer.alloc(3000, 9);
    const result = encodeFrameInto(target, 10, HEADER, control, payload, false);
    expect(typeof result).toBe("object");
    const { parts, controlEnd } = result as Exclude<typeof result, number>;
    expect(Buffer.concat(parts)).toEqual(segmentsFrame(payload));
    expect(controlEnd).toBe(4 + HEADER.length + encode(control).length - 1);
    for (const part of parts) expect(part.buffer === target.buffer && part.byteOffset < target.byteOffset + target.length).toBe(false);
  });

  it("returns segments for a binary that travels by reference, the caller's binary among them", () => {
    const target = Buffer.alloc(256 * 1024);
    const big = Buffer.alloc(100_000, 4);
    const result = encodeFrameInto(target, 0, HEADER, control, tuple(atom("bin"), big), false);
    expect(typeof result).toBe("object");
    const { parts } = result as Exclude<typeof result, number>;
    expect(parts).toContain(big);
    for (const part of parts) expect(part.buffer === target.buffer).toBe(false);
    const frame = Buffer.concat(parts);
    const body = decodeTerm(frame, 4 + HEADER.length);
    expect(body.term).toEqual(control);
    expect(decodeTerm(frame, body.offset).term).toEqual(tuple(atom("bin"), big));
  });

  it("throws the EncodeError of a term with no Erlang form, and the encoder goes on as before", () => {
    const target = Buffer.alloc(1024);
    expect(() => encodeFrameInto(target, 0, HEADER, control, [1, undefined] as never, false)).toThrow(EncodeError);
    expect(decode(encode(tuple(1, 2)))).toEqual(tuple(1, 2));
    expect(encodeFrameInto(target, 0, HEADER, control, 1, false)).toBe(segmentsFrame(1).length);
  });
});

describe("the encoder tells objects apart by what they are", () => {
  it("a plain object with a constructor field is a map; a null-prototype object too", () => {
    const withField = { constructor: "x", name: 1 };
    expect(decode(encode(withField))).toEqual(new Map<unknown, unknown>([[atom("constructor"), Buffer.from("x")], [atom("name"), 1]]));
    const bare = Object.assign(Object.create(null) as Record<string, number>, { a: 1 });
    expect(decode(encode(bare))).toEqual(new Map([[atom("a"), 1]]));
  });

  it("a subclass of a term class encodes as that term; an instance of another class is refused", () => {
    class Pair extends Tuple<Encodable> {}
    expect(decode(encode(new Pair([1, 2])))).toEqual(tuple(1, 2));
    class Point {
      constructor(readonly x: number) {}
    }
    expect(() => encode(new Point(1) as never)).toThrow(/a Point instance has no Erlang form/);
  });

  it("binaries are Uint8Arrays (Buffers included); other typed arrays and DataViews are refused, with their path", () => {
    expect(decode(encode(new Uint8Array([1, 2])))).toEqual(Buffer.from([1, 2]));
    expect(decode(encode(tuple(Buffer.from("ab"), new Uint8Array(new ArrayBuffer(8), 2, 3))))).toEqual(tuple(Buffer.from("ab"), Buffer.alloc(3)));
    for (const view of [new Float32Array(2), new Uint16Array(1), new DataView(new ArrayBuffer(4))]) {
      const name = view.constructor.name;
      expect(() => encode(view as never)).toThrow(new RegExp(`a ${name} has no Erlang form \\(binaries are Uint8Arrays\\)`));
      expect(() => encode(tuple(1, [view as never]))).toThrow(EncodeError);
      try {
        encode(tuple(1, [view as never]));
      } catch (err) {
        expect((err as EncodeError).path).toBe("{1}[0]");
      }
    }
  });
});
