// Fidelity against a real BEAM (OTP 25), both directions:
// - BEAM -> erldist -> BEAM: 10,000 random terms made by test/fixtures/etf_gen.erl in every encoding OTP writes,
//   decoded and re-encoded by erldist, then compared with =:= in Erlang; plus hand-made legacy encodings.
// - erldist -> BEAM -> erldist: fast-check terms encoded by erldist, read by binary_to_term/1, written again by
//   term_to_binary/1 and compared in TypeScript; where the term has no map, the bytes must be BEAM's exactly.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Atom,
  BitBinary,
  ExportFun,
  Float,
  Fun,
  ImproperList,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  decode,
  encode,
  equals,
  float,
  type Encodable,
  type Term,
} from "../../src/etf/index.js";
import { BeamNode, CtlOp, frame, unframe } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd | undefined;
let beam: BeamNode;

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd });
});

afterAll(async () => {
  await beam?.stop();
  await epmd?.stop();
});

/** Records what kinds of terms a batch contained, to prove the generator covered every type. */
function collectKinds(term: Term, seen: Set<string>, depth = 0): void {
  if (depth > 2000) return;
  const kind =
    typeof term === "object"
      ? Array.isArray(term)
        ? "list"
        : Buffer.isBuffer(term)
          ? "binary"
          : (term as object).constructor.name
      : typeof term === "number" && !Number.isSafeInteger(term)
        ? "unsafe-number"
        : typeof term;
  seen.add(kind);
  if (Array.isArray(term)) for (const t of term) collectKinds(t, seen, depth + 1);
  else if (term instanceof Tuple) for (const t of term.elements) collectKinds(t, seen, depth + 1);
  else if (term instanceof ImproperList) {
    for (const t of term.elements) collectKinds(t, seen, depth + 1);
    collectKinds(term.tail, seen, depth + 1);
  } else if (term instanceof Map) for (const [k, v] of term) (collectKinds(k, seen, depth + 1), collectKinds(v, seen, depth + 1));
  else if (term instanceof Fun) for (const t of term.freeVars) collectKinds(t as Term, seen, depth + 1);
}

describe("BEAM -> erldist -> BEAM", () => {
  it("re-encodes 10,000 random BEAM terms to terms =:= the originals", async () => {
    const batches = 20;
    const perBatch = 500;
    const kinds = new Set<string>();
    const tags = new Set<number>();
    let checked = 0;
    for (let seed = 1; seed <= batches; seed++) {
      const request = Buffer.alloc(9);
      request.writeUInt32BE(seed, 0);
      request.writeUInt32BE(perBatch, 4);
      request[8] = 255; // mix OTP 25 default, UTF-8 atoms, compressed and minor version 0
      const originals = unframe(await beam.request(CtlOp.Generate, request));
      expect(originals).toHaveLength(perBatch);
      const pairs: Buffer[] = [];
      for (const original of originals) {
        const term = decode(original);
        tags.add(original[1]);
        collectKinds(term, kinds);
        pairs.push(original, encode(term));
      }
      const failures = decode(await beam.request(CtlOp.Verify, frame(pairs)));
      expect(failures, `seed ${seed}`).toEqual([]);
      checked += originals.length;
    }
    expect(checked).toBeGreaterThanOrEqual(10_000);
    expect(tags.has(80)).toBe(true); // compressed terms were among them
    for (const kind of ["number", "bigint", "boolean", "Atom", "Float", "Tuple", "list", "ImproperList", "binary",
      "BitBinary", "Map", "Pid", "Reference", "Port", "Fun", "ExportFun"]) {
      expect(kinds, `generated terms include ${kind}`).toContain(kind);
    }
  });

  it("decodes the legacy and rare encodings BEAM still reads, re-encoding them =:=", async () => {
    const legacy = (await beam.eval("etf_gen:legacy().")) as Tuple[];
    expect(legacy.length).toBeGreaterThan(20);
    const pairs: Buffer[] = [];
    for (const entry of legacy) {
      const bytes = entry.elements[1] as Buffer;
      pairs.push(bytes, encode(decode(bytes)));
    }
    expect(decode(await beam.request(CtlOp.Verify, frame(pairs)))).toEqual([]);
  });

  it("decodes deep nesting from BEAM (900 levels, under the default maxDepth)", async () => {
    const bytes = (await beam.eval("term_to_binary(etf_gen:nest(900)).")) as Buffer;
    const reencoded = encode(decode(bytes));
    expect(decode(await beam.request(CtlOp.Verify, frame([bytes, reencoded])))).toEqual([]);
  });
});

// ---- erldist -> BEAM -> erldist ----

const nodeName = fc.constantFrom(atom("n@h"), atom("app@10.42.0.5"), atom("ünï@host"), atom("a@b"));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const atomName = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "binary", minLength: 200, maxLength: 255 }),
);
const atomArb = atomName.map((name) => atom(name));
const pidArb = fc.tuple(nodeName, u32, u32, fc.integer({ min: 1, max: 0xffffffff })).map(([n, id, serial, cr]) => new Pid(n, id, serial, cr));
const bitBinary = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 7 }))
  .map(([data, bits]) => {
    const masked = Buffer.from(data);
    masked[masked.length - 1] &= (0xff << (8 - bits)) & 0xff; // BEAM keeps only the significant bits
    return new BitBinary(masked, bits);
  });

const leaf: fc.Arbitrary<Encodable> = fc.oneof(
  fc.integer(),
  fc.integer({ min: 0, max: 255 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 2100n), max: 2n ** 2100n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(float),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  atomArb,
  fc.boolean(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  bitBinary,
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
  pidArb,
  fc.tuple(nodeName, fc.integer({ min: 1, max: 0xffffffff }), fc.array(u32, { minLength: 1, maxLength: 5 }))
    .map(([n, cr, ids]) => new Reference(n, cr, ids)),
  fc.tuple(nodeName, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: 0xffffffff }))
    .map(([n, id, cr]) => new Port(n, id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id, cr)),
  fc.tuple(atomArb, atomArb, fc.integer({ min: 0, max: 255 })).map(([m, f, a]) => new ExportFun(m, f, a)),
);

const { term: termArb } = fc.letrec<{ term: Encodable }>((tie) => ({
  term: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("term"), { maxLength: 6 }).map((items) => new Tuple(items as Term[])),
    fc.array(tie("term"), { maxLength: 6 }),
    fc
      .tuple(fc.array(tie("term"), { minLength: 1, maxLength: 4 }), leaf.filter((t) => !Array.isArray(t)))
      .map(([items, tail]) => new ImproperList(items as Term[], tail as Term)),
    fc
      .uniqueArray(fc.tuple(tie("term"), tie("term")), { maxLength: 5, comparator: (a, b) => equals(a[0], b[0]) })
      .map((pairs) => new Map(pairs)),
  ),
}));

function containsMap(term: unknown): boolean {
  if (term instanceof Map) return true;
  if (Array.isArray(term)) return term.some(containsMap);
  if (term instanceof Tuple) return term.elements.some(containsMap);
  if (term instanceof ImproperList) return term.elements.some(containsMap) || containsMap(term.tail);
  return false;
}

describe("erldist -> BEAM -> erldist", () => {
  it("every fast-check term survives binary_to_term/term_to_binary; without maps the bytes are BEAM's own", async () => {
    await fc.assert(
      fc.asyncProperty(termArb, async (term) => {
        const ours = encode(term);
        const theirs = await beam.request(CtlOp.Roundtrip, ours);
        const back = decode(theirs);
        expect(equals(back, term)).toBe(true);
        if (!containsMap(term)) expect(encode(back).equals(theirs)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("compressed output is read by BEAM", async () => {
    const term = new Tuple([atom("ok"), Array.from({ length: 3000 }, (_, i) => i % 7), float(2), "text".repeat(500)]);
    const theirs = await beam.request(CtlOp.Roundtrip, encode(term, { compressed: 9 }));
    expect(equals(decode(theirs), term)).toBe(true);
  });

  it("BEAM rejects nothing erldist produces for the edge values", async () => {
    const edges: Encodable[] = [
      0, 255, 256, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
      2n ** 64n, -(2n ** 64n), 2n ** 2040n - 1n, 2n ** 2040n, 2n ** 5000n, float(0), float(-0), float(5e-324), float(1.7976931348623157e308),
      atom(""), atom("a".repeat(255)), atom("😀".repeat(255)), "", Buffer.alloc(0), [], new Tuple([]), new Map(),
      new Tuple(Array.from({ length: 256 }, (_, i) => i)), Array.from({ length: 65535 }, () => 1), Array.from({ length: 65536 }, () => 1),
      new Pid(atom("x@y"), 0xffffffff, 0xffffffff, 0xffffffff), new Reference(atom("x@y"), 1, [0, 0, 0, 0, 0]),
      new Port(atom("x@y"), 2n ** 64n - 1n, 5), new ExportFun(atom("m"), atom("f"), 255), Buffer.alloc(1 << 20, 7),
    ];
    for (const term of edges) {
      const back = decode(await beam.request(CtlOp.Roundtrip, encode(term)));
      expect(equals(back, term), String(term)).toBe(true);
    }
  });

  it("atoms made on the BEAM side come back interned and comparable", async () => {
    const result = await beam.eval("[ok, 'héllo', true, false, undefined].");
    expect(result).toEqual([atom("ok"), atom("héllo"), true, false, atom("undefined")]);
    expect((result as Atom[])[0]).toBe(atom("ok"));
  });

  it("a BEAM float with an integral value decodes to Float, an integer to number", async () => {
    const [f, i] = (await beam.eval("[2.0, 2].")) as [Float, number];
    expect(f).toBeInstanceOf(Float);
    expect(i).toBe(2);
  });
});
