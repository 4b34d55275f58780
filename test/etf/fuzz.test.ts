// Fuzzing the decoder: 100,000+ random and mutated inputs. Whatever the bytes, decode either returns a term that
// re-encodes and decodes to itself, or throws a DecodeError; never a RangeError, a TypeError, a crash or a hang.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BitBinary,
  DecodeError,
  ExportFun,
  Fun,
  LocalTerm,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  decode,
  encode,
  equals,
  float,
  improperList,
  nativeRecord,
  type Term,
} from "../../src/etf/index.js";

const node = atom("fuzz@127.0.0.1");
const pid = new Pid(node, 1, 2, 3);

/** Valid encodings of every term kind: the seeds that mutations start from. */
const corpus: Buffer[] = [
  encode(0), encode(300), encode(-5), encode(2 ** 40), encode(2n ** 100n), encode(3n ** 700n), encode(float(1.5)),
  encode(atom("ok")), encode(atom("ünï")), encode(true), encode("binary"), encode([1, 2, 3]),
  encode([atom("a"), float(2), "x"]), encode(improperList([1], atom("t"))), encode(new Tuple([1, atom("b"), [2]])),
  encode(new Tuple(Array.from({ length: 300 }, (_, i) => i))), encode(new Map<Term, Term>([[atom("k"), [1]], [1, 2]])),
  encode(pid), encode(new Reference(node, 4, [1, 2, 3])), encode(new Port(node, 7, 1)), encode(new Port(node, 2n ** 60n, 1)),
  encode(new BitBinary(Buffer.from([1, 0xe0]), 3)), encode(new ExportFun(atom("m"), atom("f"), 2)),
  encode(new Fun(1, Buffer.alloc(16, 1), 2, atom("m"), 3, 4, pid, [atom("free"), 1])),
  encode(Array.from({ length: 500 }, () => atom("zz")), { compressed: true }),
  encode(new Tuple([new Map([[atom("deep"), [[[new Tuple([1])]]]]]), "s"])),
  Buffer.from([131, 99, ...Buffer.from("1.50000000000000000000e+00"), 0, 0, 0, 0, 0]),
  Buffer.from([131, 103, 100, 0, 1, 97, 0, 0, 0, 1, 0, 0, 0, 2, 3]),
  Buffer.from([131, 101, 100, 0, 1, 97, 0, 0, 0, 1, 2]),
  Buffer.from([131, 121, 1, 2, 3]),
  // Native records (RECORD_EXT, tag 67): exported and local, empty, nested, and with latin-1 and cached-looking atoms.
  encode(nativeRecord("nr", "point", { x: 1, y: 2 })),
  encode(nativeRecord("m", "r", { a: [nativeRecord("m", "in", {}, { exported: false })], b: new Tuple([float(1)]) })),
  encode(new Tuple([nativeRecord("ünï", "rëc", [["f", "v"], ["g", new Map<Term, Term>([[atom("k"), 1]])]]), 2])),
  Buffer.from([131, 67, 0, 0, 0, 1, 0, 100, 0, 1, 109, 115, 1, 114, 100, 0, 1, 97, 106]),
];

function checkDecode(input: Uint8Array): void {
  let term: Term;
  try {
    term = decode(input);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(input.length);
    return;
  }
  if (term instanceof LocalTerm) return; // opaque: carried, not interpreted
  const again = decode(encode(term));
  if (!equals(again, term)) throw new Error(`decoded term does not survive a round trip: ${Buffer.from(input).toString("hex")}`);
}

const mutation = fc.record({
  seed: fc.integer({ min: 0, max: corpus.length - 1 }),
  edits: fc.array(
    fc.record({
      kind: fc.constantFrom("flip", "set", "insert", "delete", "truncate", "length"),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

function mutate(seed: Buffer, edits: Array<{ kind: string; at: number; value: number }>): Buffer {
  let bytes = Buffer.from(seed);
  for (const { kind, at, value } of edits) {
    if (bytes.length === 0) break;
    const i = at % bytes.length;
    switch (kind) {
      case "flip":
        bytes[i] ^= 1 << (value & 7);
        break;
      case "set":
        bytes[i] = value;
        break;
      case "insert":
        bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([value]), bytes.subarray(i)]);
        break;
      case "delete":
        bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
        break;
      case "truncate":
        bytes = bytes.subarray(0, i);
        break;
      case "length": // blow up a 4-byte field: lengths, arities, sizes
        if (i + 4 <= bytes.length) bytes.writeUInt32BE(((value << 24) | 0xffffff) >>> 0, i);
        break;
    }
  }
  return bytes;
}

describe("decode fuzzing", () => {
  it("survives 60,000 mutated valid encodings", () => {
    fc.assert(
      fc.property(mutation, ({ seed, edits }) => checkDecode(mutate(corpus[seed], edits))),
      { numRuns: 60_000 },
    );
  });

  it("survives 30,000 random byte strings after the version byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => checkDecode(Buffer.concat([Buffer.from([131]), tail]))),
      { numRuns: 30_000 },
    );
  });

  it("survives 10,000 random byte strings made of tag bytes", () => {
    const tags = [67, 70, 77, 80, 82, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 118, 119, 120, 121, 0, 1, 255];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tags), { maxLength: 48 }), (body) => checkDecode(Buffer.from([131, ...body]))),
      { numRuns: 10_000 },
    );
  });

  it("survives 10,000 native records with random bytes in them", () => {
    const recordHead = [131, 67, 0, 0, 0, 2, 1, 119, 1, 109, 119, 1, 114];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(67, 82, 97, 100, 104, 106, 115, 118, 119, 0, 1, 2, 255), { maxLength: 32 }), (body) =>
        checkDecode(Buffer.from([...recordHead, ...body])),
      ),
      { numRuns: 10_000 },
    );
  });

  it("rejects hostile lengths without allocating what they claim", () => {
    const before = process.memoryUsage().arrayBuffers;
    for (const tag of [105, 107, 108, 109, 111, 116, 77, 67]) {
      const input = Buffer.from([131, tag, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]);
      expect(() => decode(input)).toThrow(DecodeError);
    }
    const bomb = Buffer.from([131, 80, 0xff, 0xff, 0xff, 0xff, 0x78, 0x9c, 0x03, 0x00]);
    expect(() => decode(bomb)).toThrow(/maxInflatedSize/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });
});
