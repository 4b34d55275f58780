// format(term) against the real BEAM the suite runs (OTP 25, 27 or 29): every expected text is what the peer's own
// io_lib:format("~*tp", [Width, T]) writes (test/fixtures/format_peer.erl), never a string written here.
// - Corpora: thousands of fast-check terms sent to the peer, and thousands of terms etf_gen makes on the BEAM side,
//   each printed by the peer on one line (width 1,000,000) and wrapped (at 80, and at other widths for the
//   fast-check terms), then compared exactly with erldist's text for the term as the peer sent it back (its map
//   order) and, where no map order can differ, for the JS value that was sent.
// - Explicit cases: each special case the README lists, built here or on the peer, compared with the peer's text.
// - A second peer started with `+pc unicode` checks { printableRange: "unicode" }.
import fc from "fast-check";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Atom,
  BitBinary,
  ExportFun,
  Fun,
  ImproperList,
  NativeRecord,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  charlist,
  decode,
  equals,
  float,
  format,
  improperList,
  nativeRecord,
  tuple,
  type Encodable,
  type FormatOptions,
  type Term,
} from "../../src/etf/index.js";
import { formatElixir } from "../../src/etf/format-elixir.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { nativeRecordArb } from "../support/term-arbitraries.js";
import { otpReleaseOf } from "../support/release.js";

let epmd: Epmd | undefined;
let beam: BeamNode;
/** A peer whose io:printable_range() is unicode (erl +pc unicode). */
let unicodeBeam: BeamNode;
/** The peer's OTP major release, as it reports it. */
let release: number;

beforeAll(async () => {
  epmd = await startEpmd();
  [beam, unicodeBeam] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd, args: ["+pc", "unicode"] })]);
  release = await otpReleaseOf(beam);
});

afterAll(async () => {
  await Promise.all([beam?.stop(), unicodeBeam?.stop()]);
  await epmd?.stop();
});

const ONE_LINE = 1_000_000;

interface Printed {
  /** The term as the peer holds it (term_to_binary on the peer, decoded). */
  term: Term;
  /** The peer's ~*tp text. */
  text: string;
}

interface PeerOutput {
  printed: Printed[];
  /** The peer's numbers for the nodes of the pids, references and ports in the terms. */
  numbers: Map<string, number>;
}

function readOutput(result: Term): PeerOutput {
  const [printed, numbers] = (result as Tuple).elements as [Tuple[], Tuple[]];
  return {
    printed: printed.map((entry) => ({
      term: decode(entry.elements[0] as Buffer),
      text: (entry.elements[1] as Buffer).toString("utf8"),
    })),
    numbers: new Map(numbers.map((entry) => [(entry.elements[0] as Atom).name, entry.elements[1] as number])),
  };
}

/** The peer prints the terms at this width. */
async function peerPrint(terms: Encodable[], width: number, node: BeamNode = beam): Promise<PeerOutput> {
  return readOutput(await node.call("format_peer", "print", [terms, width]));
}

function options(width: number, numbers: Map<string, number>, extra?: FormatOptions): FormatOptions {
  return { otp: release, lineLength: width, nodeNumbers: numbers, ...extra };
}

interface Mismatch {
  index: number;
  /** Where the texts first differ, and 60 characters either side of it. */
  at: number;
  peer: string;
  erldist: string;
}

function mismatch(index: number, peer: string, ours: string): Mismatch[] {
  if (ours === peer) return [];
  let at = 0;
  while (at < peer.length && peer[at] === ours[at]) at++;
  const around = (s: string) => s.slice(Math.max(0, at - 60), at + 60);
  return [{ index, at, peer: around(peer), erldist: around(ours) }];
}

function mismatches(output: PeerOutput, width: number, extra?: FormatOptions): Mismatch[] {
  return output.printed.flatMap(({ term, text }, index) => mismatch(index, text, format(term, options(width, output.numbers, extra))));
}

/** True when the term holds no map with two or more pairs, whose order the peer may choose differently. */
function orderFree(term: unknown): boolean {
  if (term instanceof Map) return term.size < 2 && [...term].every(([k, v]) => orderFree(k) && orderFree(v));
  if (Array.isArray(term)) return term.every(orderFree);
  if (term instanceof Tuple) return term.elements.every(orderFree);
  if (term instanceof ImproperList) return term.elements.every(orderFree) && orderFree(term.tail);
  if (term instanceof NativeRecord) return term.values.every(orderFree);
  if (term !== null && typeof term === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(term))) {
    const values = Object.values(term);
    return values.length < 2 && values.every(orderFree);
  }
  return true;
}

// ---- corpora ----

const nodeName = fc.constantFrom("n@h", "app@10.42.0.5", "ünï@host", "a@b");
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Names that exercise quoting: keywords, capitals, @ and dots, Latin-1 letters, controls, emoji. */
const specialAtomName = fc.constantFrom(
  "ok", "maybe", "else", "when", "end", "Elixir.Foo", "ünï", "ƒun", "\x01a", "a\x7f", "a\x85", "a b", "a'b", "a\\b",
  "", "a@b", "a.b", "aÀ", "ß", "÷a", "a÷", "×", "a×", "😀", "a\nb", "a\x1bb", "a\u00a0", "_a", "A", "a1_@Z", "1a",
  "true", "nil", "undefined", "é", "'", "\"", "a\tb\rc\vd\fe\bf",
);
const atomName = fc.oneof(specialAtomName, fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }));
const atomArb = atomName.map((name) => atom(name));

/** Code points around every boundary of the printable ranges. */
const codePoint = fc.oneof(
  fc.integer({ min: 32, max: 126 }),
  fc.constantFrom(0, 7, 8, 9, 10, 11, 12, 13, 27, 31, 127, 128, 133, 159, 160, 223, 247, 255, 256, 0x3b1, 0x4e2d),
  fc.constantFrom(0xd7ff, 0xe000, 0xfffd, 0xfffe, 0xffff, 0x10000, 0x1f600, 0x10ffff),
  fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff),
);
const intList = fc.array(fc.oneof(codePoint, fc.integer({ min: -5, max: 300 })), { maxLength: 12 });
const printableCharlist = fc.oneof(
  fc.string({ maxLength: 20 }).map(charlist),
  fc.array(fc.oneof(fc.integer({ min: 32, max: 126 }), fc.constantFrom(9, 10, 13, 27, 34, 92, 160, 233, 255)), { minLength: 1, maxLength: 20 }),
);

/** Bytes that are UTF-8, Latin-1, both, or neither. */
const binaryArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  fc.string({ unit: "binary", maxLength: 20 }).map((s) => Buffer.from(s, "utf8")),
  fc.array(codePoint, { maxLength: 10 }).map((cs) => Buffer.from(String.fromCodePoint(...cs), "utf8")),
  fc.array(fc.oneof(fc.integer({ min: 32, max: 126 }), fc.integer({ min: 160, max: 255 })), { maxLength: 20 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.string({ maxLength: 6 }), fc.uint8Array({ minLength: 1, maxLength: 3 })).map(([s, b]) => Buffer.concat([Buffer.from(s), b])),
  fc.constantFrom(Buffer.from("中", "utf8"), Buffer.concat([Buffer.from("中", "utf8"), Buffer.from([255])]), Buffer.from([0xef, 0xbf, 0xbe])),
);

const bitBinary = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 7 }))
  .map(([data, bits]) => {
    const masked = Buffer.from(data);
    masked[masked.length - 1] &= (0xff << (8 - bits)) & 0xff;
    return new BitBinary(masked, bits);
  });

/** Floats: any double, integral ones around powers of ten, and the 2^53 boundary where ~p switches to e-notation. */
const floatArb = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(float),
  fc.tuple(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: -25, max: 25 })).map(([m, e]) => float(Number(`${m}e${e}`))),
  fc.integer({ min: -3, max: 3 }).map((d) => float(2 ** 53 + d * 2)),
  fc.constantFrom(0, -0, 0.1, 1e-4, 1e-5, 1e3, 1e4, 1e15, 1e16, 1e21, 1e22, 5e-324, 1.7976931348623157e308).map(float),
);

const pidArb = fc.tuple(nodeName, u32, u32, fc.integer({ min: 1, max: 0xffffffff })).map(([n, id, serial, cr]) => new Pid(atom(n), id, serial, cr));

const leaf: fc.Arbitrary<Encodable> = fc.oneof(
  fc.integer(),
  fc.integer({ min: 0, max: 255 }),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  floatArb,
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  atomArb,
  fc.boolean(),
  fc.string({ unit: "binary", maxLength: 20 }),
  binaryArb,
  bitBinary,
  intList,
  printableCharlist,
  pidArb,
  fc.tuple(nodeName, fc.integer({ min: 1, max: 0xffffffff }), fc.array(u32, { minLength: 1, maxLength: 5 }))
    .map(([n, cr, ids]) => new Reference(atom(n), cr, ids)),
  fc.tuple(nodeName, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: 0xffffffff }))
    .map(([n, id, cr]) => new Port(atom(n), id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id, cr)),
  fc.tuple(atomArb, atomArb, fc.integer({ min: 0, max: 255 })).map(([m, f, a]) => new ExportFun(m, f, a)),
  // A random MD5 each: BEAM (OTP 28+) keeps one old uniq per module, index and MD5, whatever a later fun says.
  fc.tuple(atomArb, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), pidArb, fc.uint8Array({ minLength: 16, maxLength: 16 }))
    .map(([m, index, uniq, pid, md5]) => new Fun(1, md5, index, m, index, uniq, pid, [])),
);


function termArbitrary(withNativeRecords: boolean): fc.Arbitrary<Encodable> {
  return fc.letrec<{ term: Encodable }>((tie) => ({
    term: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("term"), { maxLength: 6 }).map((items) => new Tuple(items as Term[])),
      fc.tuple(atomArb, fc.array(tie("term"), { minLength: 1, maxLength: 5 })).map(([tag, items]) => tuple(tag, ...items)),
      fc.array(tie("term"), { maxLength: 8 }),
      fc
        .tuple(fc.array(tie("term"), { minLength: 1, maxLength: 4 }), leaf.filter((t) => !Array.isArray(t)))
        .map(([items, tail]) => improperList(items, tail)),
      fc.tuple(fc.array(tie("term"), { maxLength: 3 }), fc.array(tie("term"), { maxLength: 3 })).map(([a, b]) => improperList(a, b)),
      fc
        .uniqueArray(fc.tuple(tie("term"), tie("term")), { maxLength: 5, comparator: (a, b) => equals(a[0], b[0]) })
        .map((pairs) => new Map(pairs)),
      fc.dictionary(fc.string({ maxLength: 6 }), tie("term"), { maxKeys: 4 }),
      ...(withNativeRecords ? [nativeRecordArb(atomArb, tie("term"))] : []),
    ),
  })).term;
}

describe("format against the peer's ~tp: generated corpora", () => {
  it("fast-check terms sent to the peer print as the peer prints them, on one line and wrapped (80 and other widths)", async () => {
    const batches = 12;
    const perBatch = 250;
    let compared = 0;
    for (let seed = 1; seed <= batches; seed++) {
      const terms = fc.sample(termArbitrary(release >= 29), { numRuns: perBatch, seed });
      for (const width of [ONE_LINE, 80, 12 + seed * 9]) {
        const output = await peerPrint(terms, width);
        expect(mismatches(output, width).slice(0, 3), `seed ${seed}, width ${width}`).toEqual([]);
        // The JS value that was sent formats as the term it encoded to (where the peer cannot reorder a map).
        const direct = terms.flatMap((term, index) =>
          orderFree(term) ? mismatch(index, output.printed[index].text, format(term, options(width, output.numbers))) : [],
        );
        expect(direct.slice(0, 3), `seed ${seed}, width ${width}, as sent`).toEqual([]);
        compared += terms.length;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(9000);
  }, 300_000); // thousands of terms printed by BEAM: slow on a loaded machine, whatever the result

  it("terms made on the BEAM side by etf_gen print as the peer prints them, on one line and wrapped at 80", async () => {
    const batches = 10;
    const perBatch = 500;
    let compared = 0;
    for (let seed = 101; seed < 101 + batches; seed++) {
      for (const width of [ONE_LINE, 80]) {
        const output = readOutput(await beam.call("format_peer", "generated", [seed, perBatch, width]));
        expect(output.printed.length).toBeGreaterThan(perBatch * 0.9); // all but the huge ones
        expect(mismatches(output, width).slice(0, 3), `seed ${seed}, width ${width}`).toEqual([]);
        compared += output.printed.length;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(9000);
  }, 300_000); // thousands of terms printed by BEAM: slow on a loaded machine, whatever the result

  it("with printableRange unicode, as a peer started with +pc unicode prints", async () => {
    expect(await unicodeBeam.call("format_peer", "printable_range", [])).toEqual(atom("unicode"));
    const terms = fc.sample(termArbitrary(release >= 29), { numRuns: 1500, seed: 42 });
    for (const width of [ONE_LINE, 80]) {
      const output = await peerPrint(terms, width, unicodeBeam);
      expect(mismatches(output, width, { printableRange: "unicode" }).slice(0, 3), `width ${width}`).toEqual([]);
    }
  });
});

// ---- explicit cases, each compared with the peer's own text ----

/** Terms built here and sent: the peer prints them (and sends them back, which is what is formatted). */
async function expectSentAsPeerPrints(terms: Encodable[], widths: number[] = [ONE_LINE, 80], extra?: FormatOptions, node?: BeamNode): Promise<PeerOutput[]> {
  const outputs: PeerOutput[] = [];
  for (const width of widths) {
    const output = await peerPrint(terms, width, node);
    expect(mismatches(output, width, extra), `width ${width}`).toEqual([]);
    const direct = terms.flatMap((term, index) =>
      orderFree(term) ? mismatch(index, output.printed[index].text, format(term, options(width, output.numbers, extra))) : [],
    );
    expect(direct, `width ${width}, as sent`).toEqual([]);
    outputs.push(output);
  }
  return outputs;
}

/** Terms made on the peer by Erlang expressions (a list of them): the peer prints them as it holds them. */
async function expectMadeAsPeerPrints(listSource: string, widths: number[] = [ONE_LINE, 80]): Promise<PeerOutput[]> {
  const outputs: PeerOutput[] = [];
  for (const width of widths) {
    const output = readOutput(await beam.eval(`format_peer:print(${listSource}, ${width}).`));
    expect(mismatches(output, width), `width ${width}`).toEqual([]);
    outputs.push(output);
  }
  return outputs;
}

describe("format against the peer's ~tp: the special cases", () => {
  it("atoms: which need quotes, escapes inside quotes, unicode atoms, keywords of the peer's release", async () => {
    const names = [
      "ok", "maybe", "else", "when", "end", "receive", "Elixir.Foo", "ünï", "ƒun", "\x01a", "a\x7f", "a\x85", "a b",
      "a'b", "a\\b", "", "a@b", "a.b", "aÀ", "ß", "÷a", "a÷", "×", "a×", "😀", "a😀", "a\nb", "a\x1bb", "a\u00a0", "_a",
      "A", "a1_@Z", "1a", "é", "e\u0301", "'", "\"", "a\tb\rc\vd\fe\bf", "日本", "nil", "undefined",
    ];
    await expectSentAsPeerPrints(names.map((name) => atom(name)));
    await expectSentAsPeerPrints([true, false]);
  });

  it("lists: charlists in the Latin-1 printable range as strings, other lists of integers as lists", async () => {
    await expectSentAsPeerPrints([
      charlist("abc"), charlist("José"), [1000, 2000], charlist("日本"), charlist("a\n\t\r\x1b\v\b\f"), [7], [27], [127],
      [128], [159], [160, 255], [255, 256], charlist('a"b\\c'), charlist("a'b"), [97, -1], [], [[]], [charlist("")],
      [97, float(98)], [97n, 98n], charlist("\u00e9t\u00e9"), charlist("e\u0301"), [0x1f600],
    ]);
  });

  it("lists whose code points are outside Latin-1 print as strings on a peer started with +pc unicode", async () => {
    await expectSentAsPeerPrints(
      [[1000, 2000], charlist("日本"), charlist("😀"), [0xd7ff], [0xe000], [0xfffd], [0xfffe], [0x10ffff], [0x85], charlist("José")],
      [ONE_LINE, 80],
      { printableRange: "unicode" },
      unicodeBeam,
    );
    await expectSentAsPeerPrints(
      ["日本", "😀", Buffer.from([0xef, 0xbf, 0xbe]), Buffer.concat([Buffer.from("中", "utf8"), Buffer.from([255])]), "a\x85"],
      [ONE_LINE, 80],
      { printableRange: "unicode" },
      unicodeBeam,
    );
  });

  it("improper lists, and lists whose tail is a list (one list, as they encode)", async () => {
    await expectSentAsPeerPrints([
      improperList([atom("a")], atom("b")), improperList([1, 2], 3), improperList([1], [2, 3]), improperList([], atom("x")),
      improperList([charlist("ab")], charlist("cd")), improperList([97], 98), improperList([atom("a")], improperList([atom("b")], atom("c"))),
      improperList([1], "bin"), improperList([1], new Map()),
    ]);
  });

  it("binaries: Latin-1 text, UTF-8 text (/utf8), bytes, and bit strings", async () => {
    await expectSentAsPeerPrints([
      "abc", "José", "日本", "", Buffer.from([1, 2, 3]), Buffer.from([233]), Buffer.from("é", "latin1"), Buffer.from("a\n\x1b\"\\'"),
      Buffer.concat([Buffer.from("é", "utf8"), Buffer.from([1])]), Buffer.concat([Buffer.from("é", "utf8"), Buffer.from([255])]),
      Buffer.concat([Buffer.from("中", "utf8"), Buffer.from([255])]), Buffer.from([0xef, 0xbf, 0xbe]), Buffer.from("a\x85", "utf8"),
      Buffer.from([0xc2, 0x85]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("a\x7f"),
      new Uint8Array([104, 105]), new BitBinary(Buffer.from([0x20]), 3), new BitBinary(Buffer.from([5, 0x20]), 3),
      new BitBinary(Buffer.from([0x80]), 1), new BitBinary(Buffer.from([0]), 7), new BitBinary(Buffer.from("ab\xc0", "latin1"), 2),
      new BitBinary(Buffer.from([7, 8]), 8), new BitBinary(Buffer.alloc(0), 3),
    ]);
  });

  it("floats: the shortest digits that read back, fixed or with an exponent as io_lib chooses", async () => {
    const values = [
      1, 0.1, 1e-10, 1e20, 1e15, 1e16, 2 ** 53, 2 ** 53 - 2, 2 ** 53 + 2, 123456789, 1000, 100, 10, 0.001, 0.0001, 0.00012,
      -0, 0, 5e-324, 1.7976931348623157e308, 2e-5, 123.456, 1.2345e5, 1.5e300, -2.5e-300, 1e21, 1e22, 0.5, 1 / 3, 2 / 3,
      9007199254740990, 123456789012345680, 4.35, 0.3, 1e100, 1.0000000000000002, 999999999999999.9,
    ];
    await expectSentAsPeerPrints([...values.map(float), 0.1, -1.5, 1 / 3]);
  });

  it("integers and big integers; JS numbers, bigints and Floats as the terms they encode to", async () => {
    await expectSentAsPeerPrints([
      0, -0, 1, -1, 255, 256, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1e300, -1e20, 2n ** 64n, -(2n ** 100n),
      2n ** 2100n, 5n, float(5), 5.5,
    ]);
  });

  it("tuples, tagged tuples, maps (Map and plain objects), and JS conveniences", async () => {
    await expectSentAsPeerPrints([
      tuple(), tuple(atom("ok"), 1), tuple(1, 2), tuple(atom("ok")), tuple(tuple()), new Map(), new Map([[atom("a"), 1]]),
      { a: 1 }, {}, { "a b": "text" }, new Map([["key", [1, 2]]]), new Map([[tuple(1), new Map([[1, 2]])]]),
      { nested: { deeper: tuple(atom("x"), "y") } }, { kept: 1 },
    ]);
    // A plain object's undefined fields are left out, as the encoder leaves them out with nilAsNull.
    const [withKept] = (await peerPrint([{ kept: 1 }], 80)).printed;
    expect(format({ skipped: undefined, kept: 1 } as unknown as Encodable)).toBe(withKept.text);
    // Several keys: the peer chooses the order, so only the text of the term it sends back is compared.
    await expectSentAsPeerPrints([new Map<Encodable, Encodable>([[atom("b"), 1], [atom("a"), 2], [1, 3], ["s", 4], [float(1), 5]]), { b: 1, a: 2, c: 3 }]);
  });

  it("maps of more than 32 pairs print in the peer's order (the reverse of the order they arrive in)", async () => {
    await expectMadeAsPeerPrints(
      "[maps:from_list([{I, I * I} || I <- lists:seq(1, N)]) || N <- [31, 32, 33, 34, 64, 200]] ++ " +
        "[maps:from_list([{list_to_atom([$k | integer_to_list(I)]), I} || I <- lists:seq(1, 40)]), " +
        "#{a => maps:from_list([{{I}, <<I>>} || I <- lists:seq(1, 50)]), b => [maps:from_list([{I, x} || I <- lists:seq(1, 33)])]}]",
    );
    // The same maps sent from erldist: the peer rebuilds them in its own order, and that is what comes back.
    const sent = [33, 100, 500].map((n) => new Map(Array.from({ length: n }, (_, i) => [i, charlist(`v${i}`)] as [Encodable, Encodable])));
    await expectSentAsPeerPrints(sent);
  });

  it("pids, references and ports: the peer's own and other nodes', with the peer's node numbers", async () => {
    const [output] = await expectMadeAsPeerPrints(
      "[self(), spawn(fun() -> ok end), make_ref(), erlang:alias(), hd(erlang:ports()), " +
        "binary_to_term(<<131, 88, 119, 3, \"x@y\", 5:32, 6:32, 7:32>>), " +
        "binary_to_term(<<131, 90, 3:16, 119, 3, \"x@y\", 9:32, 1:32, 2:32, 3:32>>), " +
        "binary_to_term(<<131, 120, 119, 3, \"x@y\", 123456789012:64, 4:32>>)]",
    );
    // Built here: the peer numbers these nodes itself, and erldist is told its numbers.
    await expectSentAsPeerPrints([
      new Pid(atom("x@y"), 80, 0, 1), new Reference(atom("app@10.42.0.5"), 3, [1, 2, 3]), new Port(atom("ünï@host"), 2n ** 64n - 1n, 2),
    ]);
    // The peer's own pids print with 0 when erldist is told the peer's name.
    const others = new Map([...output.numbers].filter(([node]) => node !== beam.name));
    output.printed.forEach(({ term, text }) => expect(format(term, { otp: release, node: beam.name, nodeNumbers: others })).toBe(text));
    // Without the numbers, the node's name takes their place.
    const numbers = output.numbers;
    output.printed.forEach(({ term, text }) => {
      const withNames = [...numbers].reduce((t, [node, n]) => t.replace(new RegExp(`(<|Ref<|Port<)${n}\\.`, "g"), `$1${node}.`), text);
      expect(format(term, { otp: release })).toBe(withNames);
    });
  });

  it("funs: external funs (fun M:F/A, as erts writes them), local funs (#Fun<M.I.U>)", async () => {
    await expectMadeAsPeerPrints(
      "[fun lists:map/2, fun erlang:'+'/2, fun 'Elixir.Enum':map/2, erlang:make_fun('a b', 'A', 0), " +
        "erlang:make_fun(list_to_atom([252, 110, 239]), list_to_atom([16#192, $u, $n]), 1), erlang:make_fun(m, list_to_atom([1]), 0), " +
        "erlang:make_fun('a@b', 'maybe', 3), format_peer:local_fun(free), fun(X) -> X end]",
    );
    await expectSentAsPeerPrints([new ExportFun(atom("m"), atom("a'b"), 2), new ExportFun(atom("Elixir.Mod"), atom("f?"), 0)]);
  });

  it("native records (OTP 29) as the peer prints them, on one line and wrapped; erldist's own records too", async () => {
    if (release < 29) return; // no native records before OTP 29
    await expectMadeAsPeerPrints(
      "[records:create(nr, point, [{x, 1}, {y, 2}], #{is_exported => true}), " +
        "records:create(nr, point, [{y, 2}, {x, 1}], #{is_exported => false}), records:create(nr, empty, [], #{is_exported => true}), " +
        "records:create('Elixir.M', 'r b', [{'Cap', [{1}]}, {'maybe', \"str\"}], #{is_exported => true}), " +
        "records:create(list_to_atom([252]), list_to_atom([16#3B1]), [{'a@b', <<\"x\">>}], #{is_exported => true}), " +
        "records:create(nr, long, [{list_to_atom(\"field\" ++ integer_to_list(I)), lists:seq(1, I)} || I <- lists:seq(1, 12)], #{is_exported => true}), " +
        "{ok, records:create(nr, long, [{list_to_atom(\"f\" ++ integer_to_list(I)), {I, atom}} || I <- lists:seq(1, 9)], #{is_exported => true})}, " +
        "#{key => records:create(nr, inner, [{a, records:create(nr, p, [{x, lists:seq(1, 30)}], #{is_exported => true})}], #{is_exported => true})}]",
      [ONE_LINE, 80, 40],
    );
    await expectSentAsPeerPrints([
      nativeRecord("nr", "point", { x: 1, y: 2 }), nativeRecord("Elixir.M", "r", [["Cap", [tuple(1)]]]),
      nativeRecord("m", "many", Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`field_${i}`, charlist("v".repeat(i))]))),
    ], [ONE_LINE, 80, 30]);
  });

  it("long terms wrap as ~tp wraps them: lists, tagged tuples, nested maps, long binaries, strings, deep nesting", async () => {
    await expectSentAsPeerPrints(
      [
        Array.from({ length: 60 }, (_, i) => atom(`atom_${i}`)),
        tuple(atom("a_rather_long_tag_name_here"), ...Array.from({ length: 20 }, (_, i) => tuple(atom("k"), i, charlist("x".repeat(i))))),
        tuple(atom("error"), tuple(atom("badmatch"), Array.from({ length: 30 }, (_, i) => i * 1000))),
        new Map([[atom("key"), new Map([[atom("inner"), Array.from({ length: 40 }, (_, i) => i)]])]]),
        Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) % 256)),
        new BitBinary(Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256)), 5),
        charlist("a long printable string ".repeat(20)),
        "a long binary string ".repeat(20),
        Array.from({ length: 70_000 }, (_, i) => i % 300),
        improperList(Array.from({ length: 30 }, (_, i) => tuple(i)), atom("tail_atom_that_is_long")),
      ],
      [ONE_LINE, 80, 20, 132],
    );
    await expectMadeAsPeerPrints("[etf_gen:nest(300), etf_gen:nest(900), binary:copy(<<1, 200>>, 600000)]", [ONE_LINE, 80]);
  });

  it("null formats as nil, as the encoder writes it with nilAsNull", async () => {
    const output = await peerPrint([atom("nil"), [atom("nil")]], 80);
    expect(format(null)).toBe(output.printed[0].text);
    expect(format([null])).toBe(output.printed[1].text);
  });

  it("lineLength Infinity writes one line; the default release is the newest", async () => {
    const long = Array.from({ length: 100 }, (_, i) => tuple(atom("n"), i));
    const output = await peerPrint([long], ONE_LINE);
    expect(format(long, { lineLength: Infinity })).toBe(output.printed[0].text);
    expect(format(long, { lineLength: 0 })).toBe(output.printed[0].text);
    expect(format(atom("maybe"))).toBe(format(atom("maybe"), { otp: 29 }));
  });

  it("values with no Erlang form throw a TypeError; a cycle, a RangeError", () => {
    for (const bad of [undefined, Symbol("s"), () => 1, NaN, Infinity, new Date(0)]) {
      expect(() => format(bad as unknown as Encodable)).toThrow(TypeError);
    }
    const cycle: Encodable[] = [];
    cycle.push(cycle);
    expect(() => format(cycle)).toThrow(/nested too deeply/);
    expect(inspect(tuple(atom("ok"), cycle))).toBe("#Term<nested too deeply to format>");
  });
});

describe("format with syntax elixir", () => {
  it("is the Elixir formatter's text, options passed on", () => {
    const term = tuple(atom("ok"), [1, 2], "text", new Map([[atom("a"), 1]]), new Pid(atom("x@y"), 1, 2, 3));
    expect(format(term, { syntax: "elixir" })).toBe(formatElixir(term));
    expect(format(term, { syntax: "elixir", elixir: "1.14", node: "x@y" })).toBe(formatElixir(term, { elixir: "1.14", node: "x@y" }));
  });
});

describe("util.inspect of every term type is its ~tp text", () => {
  it("console.log(tuple(atom('ok'), 1)) shows {ok,1}, as the peer prints it, and so for every type", async () => {
    const terms: Encodable[] = [
      tuple(atom("ok"), 1), atom("ok"), atom("Hello world"), float(2), new Pid(atom("x@y"), 1, 2, 3),
      new Reference(atom("x@y"), 1, [1, 2, 3]), new Port(atom("x@y"), 7, 1), new BitBinary(Buffer.from([5, 0x20]), 3),
      improperList([atom("a")], atom("b")), new ExportFun(atom("lists"), atom("map"), 2),
      new Fun(1, new Uint8Array(16).fill(9), 3, atom("m"), 3, 77, new Pid(atom("x@y"), 1, 2, 3), []),
      ...(release >= 29 ? [nativeRecord("nr", "point", { x: 1, y: 2 })] : []),
    ];
    const output = await peerPrint(terms, 80);
    terms.forEach((term, i) => {
      const shown = inspect(term);
      expect(shown).toBe(format(term));
      if (!(term instanceof Pid || term instanceof Reference || term instanceof Port || term instanceof Fun)) {
        expect(shown, `inspect of ${i}`).toBe(output.printed[i].text);
      }
    });
    // Inside JS values util.inspect still uses the term's own text.
    expect(inspect({ reply: tuple(atom("ok"), 1) })).toBe("{ reply: {ok,1} }");
    // A value with no Erlang form inside a term is shown as Node shows it rather than throwing.
    expect(inspect(tuple(atom("ok"), undefined as unknown as Encodable))).toBe("{ok,undefined}");
  });
});
