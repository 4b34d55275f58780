// Fidelity against the real BEAM the suite runs (OTP 25, 27 or 29), both directions:
// - BEAM -> erldist -> BEAM: 10,000 random terms made by test/fixtures/etf_gen.erl in every encoding OTP writes,
//   decoded and re-encoded by erldist, then compared with =:= in Erlang; plus hand-made legacy encodings.
// - erldist -> BEAM -> erldist: fast-check terms encoded by erldist, read by binary_to_term/1, written again by
//   term_to_binary/1 and compared in TypeScript; where the term has no map, the bytes must be the peer's own.
// What "the peer's own bytes" are depends on its release, so the tests ask it (erlang:system_info(otp_release)).
// Native records (OTP 29) are tested where the peer has them; against older peers, that erldist refuses to send one.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Atom,
  BitBinary,
  EncodeError,
  ExportFun,
  Float,
  Fun,
  ImproperList,
  NativeRecord,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  decode,
  encode,
  equals,
  float,
  nativeRecord,
  tuple,
  type EncodeOptions,
  type Encodable,
  type Term,
} from "../../src/etf/index.js";
import { Node } from "../../src/node/index.js";
import { BeamNode, CtlOp, frame, unframe } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { nativeRecordArb } from "../support/term-arbitraries.js";
import { rejectionOf } from "../support/rejection.js";
import { otpReleaseOf } from "../support/release.js";

let epmd: Epmd | undefined;
let beam: BeamNode;
/** The peer's OTP major release, as it reports it. */
let release: number;
/**
 * How the peer's own term_to_binary writes what erldist can write: ports as V4_PORT_EXT from OTP 26 on, as
 * NEW_PORT_EXT (for 32-bit ids) on OTP 25. Atoms are UTF-8 either way: erldist_ctl asks OTP 25 for
 * {minor_version, 2}, the default since OTP 26.
 */
let peerEncoding: EncodeOptions;

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd });
  release = await otpReleaseOf(beam);
  peerEncoding = { ports: release >= 26 ? "v4" : "new_port" };
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
  else if (term instanceof NativeRecord) for (const t of term.values) collectKinds(t, seen, depth + 1);
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
      "BitBinary", "Map", "Pid", "Reference", "Port", "Fun", "ExportFun", ...(release >= 29 ? ["NativeRecord"] : [])]) {
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


/** Any term erldist encodes; native records among them only for a peer that has them. */
function termArbitrary(withNativeRecords: boolean): fc.Arbitrary<Encodable> {
  return fc.letrec<{ term: Encodable }>((tie) => ({
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
      ...(withNativeRecords ? [nativeRecordArb(atomArb, tie("term"))] : []),
    ),
  })).term;
}

function containsMap(term: unknown): boolean {
  if (term instanceof Map) return true;
  if (Array.isArray(term)) return term.some(containsMap);
  if (term instanceof Tuple) return term.elements.some(containsMap);
  if (term instanceof ImproperList) return term.elements.some(containsMap) || containsMap(term.tail);
  if (term instanceof NativeRecord) return term.values.some(containsMap);
  return false;
}

describe("erldist -> BEAM -> erldist", () => {
  it("every fast-check term survives binary_to_term/term_to_binary; without maps the bytes are BEAM's own", async () => {
    await fc.assert(
      fc.asyncProperty(termArbitrary(release >= 29), async (term) => {
        const ours = encode(term, peerEncoding);
        const theirs = await beam.request(CtlOp.Roundtrip, ours);
        const back = decode(theirs);
        expect(equals(back, term)).toBe(true);
        if (!containsMap(term)) expect(encode(back, peerEncoding).equals(theirs)).toBe(true);
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

// ---- native records (OTP 29) ----

/** True when `term` is or holds a native record. */
function containsNativeRecord(term: unknown): boolean {
  if (term instanceof NativeRecord) return true;
  if (Array.isArray(term)) return term.some(containsNativeRecord);
  if (term instanceof Tuple) return term.elements.some(containsNativeRecord);
  return false;
}

describe("native records", () => {
  it("BEAM's records (compiled and records:create/4) decode to NativeRecord and re-encode =:=, to BEAM's own bytes", async () => {
    if (release < 29) {
      // Before OTP 29 there are none to decode: the peer cannot make one.
      await expect(beam.eval("records:create(nr, point, [{x, 1}], #{is_exported => true}).")).rejects.toThrow(/undef/);
      return;
    }
    const samples = (await beam.eval(
      "[{N, term_to_binary(R), term_to_binary(R, [{minor_version, 1}]), term_to_binary(R, [compressed])} || {N, R} <- etf_gen:native_records()].",
    )) as Tuple[];
    expect(samples.length).toBeGreaterThan(10);
    const byName = new Map<string, Term>();
    const pairs: Buffer[] = [];
    for (const sample of samples) {
      const [name, utf8Atoms, latin1Atoms, compressed] = sample.elements as [Atom, Buffer, Buffer, Buffer];
      const term = decode(utf8Atoms);
      byName.set(name.name, term);
      expect(containsNativeRecord(term), name.name).toBe(true);
      // BEAM's term_to_binary is deterministic here (maps come back in the order they were decoded in).
      expect(encode(term, peerEncoding).equals(utf8Atoms), `${name.name} re-encodes to BEAM's bytes`).toBe(true);
      for (const bytes of [utf8Atoms, latin1Atoms, compressed]) pairs.push(bytes, encode(decode(bytes), peerEncoding));
    }
    expect(decode(await beam.request(CtlOp.Verify, frame(pairs)))).toEqual([]);

    // Atoms are compared by name: the fast-check tests may have filled the decoder's intern table.
    const point = byName.get("created_exported") as NativeRecord;
    expect(point).toBeInstanceOf(NativeRecord);
    expect([point.module.name, point.name.name, point.fieldNames.map((f) => f.name), point.values, point.exported]).toEqual(["nr", "point", ["x", "y"], [1, 2], true]);
    expect(point.get("y")).toBe(2);
    expect(equals(point, nativeRecord("nr", "point", { x: 1, y: 2 }))).toBe(true);
    // Field order and exportedness are part of the value, as BEAM's =:= says (the Verify above agreed).
    expect((byName.get("created_local") as NativeRecord).exported).toBe(false);
    expect(equals(point, byName.get("created_local"))).toBe(false);
    expect(equals(point, byName.get("field_order"))).toBe(false);
    expect((byName.get("compiled_local") as NativeRecord).exported).toBe(false);
    expect((byName.get("compiled_exported") as NativeRecord).module.name).toBe("etf_gen");
  });

  it("erldist's native records are read by binary_to_term and written back byte for byte (OTP 29+; refused before)", async () => {
    if (release < 29) {
      // An older peer does not know tag 67: binary_to_term refuses the bytes.
      await expect(beam.request(CtlOp.Roundtrip, encode(nativeRecord("nr", "point", { x: 1, y: 2 }), peerEncoding))).rejects.toThrow(/badarg/);
      return;
    }
    const records = nativeRecordArb(atomArb, termArbitrary(false));
    await fc.assert(
      fc.asyncProperty(records, async (record) => {
        const theirs = await beam.request(CtlOp.Roundtrip, encode(record, peerEncoding));
        const back = decode(theirs);
        expect(back).toBeInstanceOf(NativeRecord);
        expect(equals(back, record)).toBe(true);
        if (!containsMap(record)) expect(encode(back, peerEncoding).equals(theirs)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    const bad = encode(nativeRecord("nr", "point", { x: 1, y: 2 }));
    bad[6] = 2; // a flags byte BEAM does not know
    await expect(beam.request(CtlOp.Roundtrip, bad)).rejects.toThrow(/badarg/);
  });

  it("over a distribution connection: records go both ways and stay =:= with an OTP 29+ peer; to an older one, an EncodeError and the connection stays up", async () => {
    if (release < 29) return sendToPeerWithoutNativeRecords();
    const node = await Node.start({ name: "nr_ts@127.0.0.1", cookie: beam.cookie, epmd: { port: epmd!.port }, listenHost: "127.0.0.1" });
    try {
      // The BEAM side sends each of its records to an erldist process, and checks what comes back against its own.
      await beam.eval(
        "Records = [R || {_, R} <- etf_gen:native_records()], " +
          "register(nr_peer, spawn(fun Loop() -> receive " +
          "{From, send_all} -> [From ! {nr, I, R} || {I, R} <- lists:enumerate(Records)], From ! done, Loop(); " +
          "{From, check, I, Got} -> From ! {checked, I, Got =:= lists:nth(I, Records)}, Loop() end end)), ok.",
      );
      const count = ((await beam.eval("length(etf_gen:native_records()).")) as number);
      const p = node.spawn();
      await p.send(["nr_peer", beam.name], tuple(p.pid, atom("send_all")));
      const received: Term[] = [];
      for (let i = 1; i <= count; i++) {
        const message = (await p.receive(undefined, { timeout: 10_000 })) as Tuple;
        expect(equals(message.elements.slice(0, 2), [atom("nr"), i])).toBe(true);
        expect(containsNativeRecord(message.elements[2])).toBe(true);
        received.push(message.elements[2]);
      }
      expect(equals(await p.receive(undefined, { timeout: 10_000 }), atom("done"))).toBe(true);
      for (let i = 1; i <= count; i++) await p.send(["nr_peer", beam.name], tuple(p.pid, atom("check"), i, received[i - 1] as Encodable));
      for (let i = 1; i <= count; i++) {
        expect(equals(await p.receive(undefined, { timeout: 10_000 }), tuple(atom("checked"), i, true)), `record ${i}`).toBe(true);
      }
      // And one made in TypeScript arrives as the record BEAM builds with records:create/4.
      await beam.eval(
        "register(nr_expect, spawn(fun() -> receive {From, Got} -> " +
          "From ! (Got =:= records:create(nr, point, [{x, 1}, {y, [<<\"two\">>]}], #{is_exported => true})) end end)), ok.",
      );
      await p.send(["nr_expect", beam.name], tuple(p.pid, nativeRecord("nr", "point", { x: 1, y: ["two"] })));
      expect(await p.receive(undefined, { timeout: 10_000 })).toBe(true);
      p.exit();
    } finally {
      await node.stop();
    }
  });
});

/**
 * To a peer without DFLAG_NATIVE_RECORDS (OTP 28 and older), sending a native record fails with EncodeError and the
 * connection stays up.
 */
async function sendToPeerWithoutNativeRecords(): Promise<void> {
  const node = await Node.start({ name: "nr_old_ts@127.0.0.1", cookie: beam.cookie, epmd: { port: epmd!.port }, listenHost: "127.0.0.1" });
  try {
    await beam.eval("register(nr_echo, spawn(fun Loop() -> receive {From, M} -> From ! {echo, M}, Loop() end end)), ok.");
    const p = node.spawn();
    const record = nativeRecord("nr", "point", { x: 1, y: 2 });
    const error = await rejectionOf(p.send(["nr_echo", beam.name], tuple(p.pid, record)), EncodeError);
    expect(error.code).toBe("ERLDIST_ENCODE");
    expect(error.path).toBe("{1}");
    expect(error.message).toContain(beam.name);
    expect(error.message).toMatch(/DFLAG_NATIVE_RECORDS.*OTP 28 or older.*OTP 29/);
    expect(error.message).toContain("record.toMap()");
    // Nothing half-written went out: the same connection still carries messages, the map form included.
    await p.send(["nr_echo", beam.name], tuple(p.pid, record.toMap()));
    const echoed = (await p.receive(undefined, { timeout: 10_000 })) as Tuple;
    expect(equals(echoed, tuple(atom("echo"), new Map<Encodable, Encodable>([[atom("x"), 1], [atom("y"), 2]])))).toBe(true);
    expect(node.nodes()).toContain(beam.name);
    p.exit();
  } finally {
    await node.stop();
  }
}
