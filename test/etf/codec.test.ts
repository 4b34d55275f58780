// The codec's own contract: the term mapping, every tag, options, and typed errors. Interop with real BEAM is
// proven in beam-fidelity.test.ts; these tests pin the JS-side shapes the README documents.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  Atom,
  BitBinary,
  DecodeError,
  EncodeError,
  ExportFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  NativeRecord,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  charlist,
  charlistToString,
  decode,
  decodeTerm,
  encode,
  encodeBody,
  encodeFrameInto,
  equals,
  float,
  improperList,
  isAtom,
  nativeRecord,
  tuple,
  type Encodable,
} from "../../src/etf/index.js";

const bytes = (...b: number[]) => Buffer.from([131, ...b]);
const roundtrip = (t: Parameters<typeof encode>[0]) => decode(encode(t));

describe("term mapping", () => {
  it("integers: small, 32-bit, safe and big", () => {
    expect(encode(5)).toEqual(bytes(97, 5));
    expect(encode(-1)).toEqual(bytes(98, 255, 255, 255, 255));
    expect(encode(256)).toEqual(bytes(98, 0, 0, 1, 0));
    expect(encode(2 ** 31)).toEqual(bytes(110, 4, 0, 0, 0, 0, 128));
    expect(encode(-(2 ** 40))).toEqual(bytes(110, 6, 1, 0, 0, 0, 0, 0, 1));
    for (const n of [0, 255, 256, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)]) {
      expect(roundtrip(n)).toBe(n);
    }
    const big = 2n ** 200n + 12345n;
    expect(roundtrip(big)).toBe(big);
    expect(roundtrip(-big)).toBe(-big);
    expect(roundtrip(2n ** 53n)).toBe(2n ** 53n); // beyond safe: stays a bigint
    expect(roundtrip(7n)).toBe(7); // small bigints come back as numbers
    expect(roundtrip(1e21)).toBe(10n ** 21n); // an integral JS number beyond 2^53 is encoded exactly
  });

  it("large bignums use LARGE_BIG_EXT and decode exactly", () => {
    const huge = 3n ** 2000n;
    const encoded = encode(huge);
    expect(encoded[1]).toBe(111);
    expect(decode(encoded)).toBe(huge);
  });

  it("floats stay floats: 1.0 is not 1", () => {
    expect(encode(1.5)).toEqual(bytes(70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0));
    expect(encode(float(1))).toEqual(bytes(70, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0));
    const one = roundtrip(float(1));
    expect(one).toBeInstanceOf(Float);
    expect((one as Float).value).toBe(1);
    expect(+(one as Float)).toBe(1);
    expect(Object.is((roundtrip(float(-0)) as Float).value, -0)).toBe(true);
    expect(decode(encode(2.5), { floatsAsNumbers: true })).toBe(2.5);
    expect(() => encode(NaN)).toThrow(EncodeError);
    expect(() => encode(Infinity)).toThrow(EncodeError);
    expect(() => float(Infinity)).toThrow(RangeError);
  });

  it("many floats read and write the same bytes wherever the buffers start", () => {
    // Past a few floats the decoder reads through a DataView of the input, and the encoder writes through one of
    // its output: offsets inside a larger buffer, compressed input and caller-given targets must all agree.
    const values = Array.from({ length: 40 }, (_, i) => (i % 2 ? -1 : 1) * (i * 1.25 + 1e-7) * 10 ** (i % 9));
    const one = (v: number) => Buffer.from([70, ...new Uint8Array(new Float64Array([v]).buffer).reverse()]);
    const expected = Buffer.concat([bytes(108, 0, 0, 0, 40), ...values.map(one), Buffer.from([106])]);
    const terms = values.map((v) => float(v));
    expect(encode(terms)).toEqual(expected);
    const shifted = Buffer.concat([Buffer.from([1, 2, 3]), expected]).subarray(3);
    expect(shifted.byteOffset % 8).not.toBe(0);
    for (const input of [expected, shifted, encode(terms, { compressed: true })]) {
      expect((decode(input) as Float[]).map((f) => f.value)).toEqual(values);
      expect(decode(input, { floatsAsNumbers: true })).toEqual(values);
    }
    const body = Buffer.concat([Buffer.from([9, 9]), expected.subarray(1)]);
    expect((decodeTerm(body, 2).term as Float[]).map((f) => f.value)).toEqual(values);
    const target = Buffer.alloc(4096).subarray(5); // a view that starts inside its ArrayBuffer
    for (const at of [0, 3, 1001]) {
      const end = encodeFrameInto(target, at, Buffer.from([112]), terms, undefined, false);
      expect(target.subarray(at + 5, end as number)).toEqual(expected.subarray(1));
    }
  });

  it("atoms are interned; true and false are booleans", () => {
    expect(atom("ok")).toBe(atom("ok"));
    expect(encode(atom("ok"))).toEqual(bytes(119, 2, 111, 107));
    expect(roundtrip(atom("ok"))).toBe(atom("ok"));
    expect(roundtrip(atom("héllo wörld"))).toBe(atom("héllo wörld"));
    expect(roundtrip(true)).toBe(true);
    expect(roundtrip(atom("false"))).toBe(false);
    expect(isAtom(atom("x"), "x")).toBe(true);
    expect(isAtom("x")).toBe(false);
    const long = "é".repeat(255); // 510 bytes of UTF-8: ATOM_UTF8_EXT
    expect(encode(atom(long))[1]).toBe(118);
    expect(roundtrip(atom(long))).toBe(atom(long));
    expect(() => encode(atom("a".repeat(256)))).toThrow(/longer than 255/);
  });

  it("strings are UTF-8 binaries; binaries are Buffers; charlists are lists of code points", () => {
    expect(encode("hé")).toEqual(bytes(109, 0, 0, 0, 3, 104, 0xc3, 0xa9));
    expect(roundtrip("hé")).toEqual(Buffer.from("hé"));
    expect(roundtrip(new Uint8Array([1, 2, 3]))).toEqual(Buffer.from([1, 2, 3]));
    expect(encode(charlist("abc"))).toEqual(bytes(107, 0, 3, 97, 98, 99));
    expect(roundtrip(charlist("abc"))).toEqual([97, 98, 99]);
    expect(charlistToString(roundtrip(charlist("añ€😀")) as number[])).toBe("añ€😀");
    expect(() => charlistToString([atom("x")])).toThrow(TypeError);
    const long = "x".repeat(100) + "é".repeat(100);
    expect((roundtrip(long) as Buffer).toString()).toBe(long);
  });

  it("lists: proper, improper, long byte lists", () => {
    expect(encode([])).toEqual(bytes(106));
    expect(encode([atom("a"), 1])).toEqual(bytes(108, 0, 0, 0, 2, 119, 1, 97, 97, 1, 106));
    const improper = new ImproperList<Encodable>([1, 2], atom("tail"));
    const back = roundtrip(improper) as ImproperList;
    expect(back).toBeInstanceOf(ImproperList);
    expect(back.elements).toEqual([1, 2]);
    expect(back.tail).toBe(atom("tail"));
    const bytesList = Array.from({ length: 70000 }, (_, i) => i % 256);
    const encoded = encode(bytesList);
    expect(encoded[1]).toBe(108); // too long for STRING_EXT
    expect(decode(encoded)).toEqual(bytesList);
    expect(roundtrip(new ImproperList([], 5))).toBe(5); // [ | 5] is just 5
  });

  it("tuples, small and large", () => {
    expect(encode(tuple(atom("ok"), 1))).toEqual(bytes(104, 2, 119, 2, 111, 107, 97, 1));
    const t = roundtrip(tuple(atom("ok"), 1)) as Tuple;
    expect(t).toBeInstanceOf(Tuple);
    expect(t.length).toBe(2);
    expect([...t]).toEqual([atom("ok"), 1]);
    expect(t.at(-1)).toBe(1);
    const large = new Tuple(Array.from({ length: 300 }, (_, i) => i));
    expect(encode(large)[1]).toBe(105);
    expect(equals(roundtrip(large), large)).toBe(true);
    expect(roundtrip(tuple())).toEqual(tuple());
  });

  it("maps: Map in and out; plain objects encode with atom keys", () => {
    const m = new Map<unknown, unknown>([
      [atom("a"), 1],
      [Buffer.from("k"), [2]],
      [tuple(1, 2), float(3)],
    ]);
    const back = roundtrip(m as never) as Map<unknown, unknown>;
    expect(back).toBeInstanceOf(Map);
    expect(back.get(atom("a"))).toBe(1);
    expect(equals(back, m)).toBe(true);
    const fromObject = roundtrip({ name: "x", n: 1 }) as Map<unknown, unknown>;
    expect(fromObject.get(atom("name"))).toEqual(Buffer.from("x"));
    expect(fromObject.get(atom("n"))).toBe(1);
    expect(roundtrip(new Map())).toEqual(new Map());
  });

  it("pids, references and ports", () => {
    const node = atom("n@h");
    const pid = new Pid(node, 1, 2, 3);
    expect(encode(pid)).toEqual(bytes(88, 119, 3, 110, 64, 104, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3));
    expect(roundtrip(pid)).toEqual(pid);
    const ref = new Reference(node, 7, [1, 2, 3, 4, 5]);
    expect(roundtrip(ref)).toEqual(ref);
    expect(() => encode(new Reference(node, 7, []))).toThrow(EncodeError);
    expect(encode(new Reference(node, 0xffffffff, [0, 0xffffffff]))).toEqual(
      bytes(90, 0, 2, 119, 3, 110, 64, 104, 255, 255, 255, 255, 0, 0, 0, 0, 255, 255, 255, 255),
    );
    for (const word of [-1, 2 ** 32, 1.5, NaN]) {
      expect(() => encode(new Reference(node, 7, [1, word]))).toThrow(/a reference id word must be an integer from 0 to 2\^32-1/);
      expect(() => encode(new Reference(node, word, [1]))).toThrow(/a reference's creation must be an integer from 0 to 2\^32-1/);
    }
    const port = new Port(node, 5, 9);
    expect(encode(port)[1]).toBe(120); // V4_PORT_EXT always by default, as term_to_binary since OTP 26
    expect(encode(port, { ports: "new_port" })).toEqual(bytes(89, 119, 3, 110, 64, 104, 0, 0, 0, 5, 0, 0, 0, 9)); // as OTP 25
    expect(encode(new Port(node, 2 ** 40, 9), { ports: "new_port" })[1]).toBe(120); // beyond 32 bits: V4 either way
    expect(encode(port)).toEqual(bytes(120, 119, 3, 110, 64, 104, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 9));
    expect(roundtrip(port)).toEqual(port);
    const v4 = new Port(node, 0x123456789abcdef0n, 9);
    expect(encode(v4)[1]).toBe(120);
    expect(roundtrip(v4)).toEqual(v4);
    expect(roundtrip(new Port(node, 2 ** 40, 1))).toEqual(new Port(node, 2 ** 40, 1));
    expect(String(pid)).toBe("<n@h.1.2>");
  });

  it("bitstrings keep their bit length", () => {
    const bits = new BitBinary(Buffer.from([0xff, 0b10100000]), 3);
    expect(encode(bits)).toEqual(bytes(77, 0, 0, 0, 2, 3, 0xff, 0b10100000));
    const back = roundtrip(bits) as BitBinary;
    expect(back).toBeInstanceOf(BitBinary);
    expect(back.bitLength).toBe(11);
    expect(roundtrip(new BitBinary(Buffer.from([1]), 8))).toEqual(Buffer.from([1])); // whole bytes: a binary
  });

  it("funs re-encode exactly", () => {
    const exp = new ExportFun(atom("lists"), atom("map"), 2);
    expect(encode(exp)).toEqual(bytes(113, 119, 5, ...Buffer.from("lists"), 119, 3, ...Buffer.from("map"), 97, 2));
    expect(roundtrip(exp)).toEqual(exp);
    const fun = new Fun(1, Buffer.alloc(16, 7), 3, atom("m"), 4, -5, new Pid(atom("n@h"), 1, 0, 2), [atom("x"), 1]);
    const encoded = encode(fun);
    expect(encoded.readUInt32BE(2)).toBe(encoded.length - 2); // Size counts itself, not the tag
    expect(equals(decode(encoded), fun)).toBe(true);
  });

  it("a fun whose free variables outgrow the encoder's buffer mid-way still gets its size right", () => {
    const big = new Fun(0, Buffer.alloc(16), 1, atom("m"), 1, 1, new Pid(atom("n@h"), 1, 0, 2), [Buffer.alloc(100_000, 1)]);
    for (let i = 0; i < 80; i++) {
      encode(Buffer.alloc(997)); // move the encoder's write position around its buffers
      const encoded = encode(big);
      expect(encoded.readUInt32BE(2)).toBe(encoded.length - 2);
      expect(equals(decode(encoded), big)).toBe(true);
    }
  });

  it("encodings stay intact while later ones are made", () => {
    const terms = Array.from({ length: 300 }, (_, i) => [i, "x".repeat(i * 37), new Tuple([atom(`a${i}`)])]);
    const encoded = terms.map((t) => encode(t));
    terms.forEach((t, i) => expect(equals(decode(encoded[i]), t)).toBe(true));
  });

  it("native records (OTP 29's RECORD_EXT): module, name, fields in order, exported", () => {
    const point = nativeRecord("nr", "point", { x: 1, y: 2 });
    // The bytes OTP 29.1's term_to_binary writes for #nr:point{x = 1, y = 2} (an exported record: flags byte 1).
    const seen = bytes(67, 0, 0, 0, 2, 1, 119, 2, ...Buffer.from("nr"), 119, 5, ...Buffer.from("point"), 119, 1, 120, 119, 1, 121, 97, 1, 97, 2);
    expect(encode(point)).toEqual(seen);
    const back = decode(seen) as NativeRecord;
    expect(back).toBeInstanceOf(NativeRecord);
    expect([back.module, back.name, back.fieldNames, back.values, back.exported]).toEqual([atom("nr"), atom("point"), [atom("x"), atom("y")], [1, 2], true]);
    expect(back.size).toBe(2);
    expect(back.get("x")).toBe(1);
    expect(back.get(atom("y"))).toBe(2);
    expect(back.get("z")).toBeUndefined();
    expect([...back.entries()]).toEqual([[atom("x"), 1], [atom("y"), 2]]);
    expect(back.toMap()).toEqual(new Map([[atom("x"), 1], [atom("y"), 2]]));
    // util.inspect is the ~tp text (test/etf/format.test.ts compares it with OTP 29's own).
    expect(inspect(back)).toBe("#nr:point{x = 1,y = 2}");
    expect(inspect(nativeRecord("Elixir.M", "r", [["Cap", [tuple(1)]]]))).toBe("#'Elixir.M':r{'Cap' = [{1}]}");

    const local = nativeRecord("nr", "point", [["x", 1], [atom("y"), 2]], { exported: false });
    expect(encode(local)[6]).toBe(0); // flags byte: not exported
    expect(equals(decode(encode(local)), local)).toBe(true);
    expect(equals(local, point)).toBe(false); // exportedness is part of the value
    expect(equals(nativeRecord("nr", "point", { y: 2, x: 1 }), point)).toBe(false); // so is the field order
    expect(equals(point, new Map([[atom("x"), 1], [atom("y"), 2]]))).toBe(false); // a record is not a map
    expect(equals(decode(encode(nativeRecord("nr", "empty", {}))), nativeRecord("nr", "empty", {}))).toBe(true);
    const nested = nativeRecord("m", "outer", { inner: point, list: [local, float(1)] });
    expect(equals(decode(encode(nested)), nested)).toBe(true);
  });

  it("native records that BEAM would refuse are not encoded", () => {
    expect(() => new NativeRecord(atom("m"), atom("r"), [atom("a")], [], true)).toThrow(TypeError);
    const repeated = new NativeRecord(atom("m"), atom("r"), [atom("a"), atom("a")], [1, 2], true);
    expect(() => encode(tuple(repeated))).toThrow(/field 'a' appears twice/);
    const notAtom = new NativeRecord(atom("m"), atom("r"), ["a" as never], [1], true);
    expect(() => encode(notAtom)).toThrow(EncodeError);
    const deep = nativeRecord("m", "r", { ok: 1, bad: [null as never] });
    expect(() => encode(deep)).toThrow(expect.objectContaining({ path: "#bad[0]" }));
  });

  it("nativeRecords: false refuses native records with an EncodeError that names the receiver", () => {
    const options = { nativeRecords: false, receiver: "old@host, which did not advertise DFLAG_NATIVE_RECORDS" };
    let error: unknown;
    try {
      encode([1, tuple(nativeRecord("nr", "point", { x: 1 }))], options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EncodeError);
    expect((error as EncodeError).path).toBe("[1]{0}");
    expect((error as EncodeError).message).toMatch(/#nr:point\{\} cannot go to old@host.*OTP 29.*record\.toMap\(\)/);
    expect(() => encode(nativeRecord("nr", "point", {}), { nativeRecords: false })).toThrow(/nativeRecords: false/);
    expect(encode([1, 2], options)).toEqual(encode([1, 2])); // everything else encodes as usual
  });

  it("LOCAL_EXT passes through opaquely", () => {
    const local = Buffer.from([131, 121, 1, 2, 3, 4, 5]);
    const term = decode(local);
    expect(term).toBeInstanceOf(LocalTerm);
    expect(encode(term)).toEqual(local);
  });

  it("compressed terms: produced on request, always decoded", () => {
    const big = Array.from({ length: 2000 }, () => atom("repeat"));
    const packed = encode(big, { compressed: true });
    expect(packed[1]).toBe(80);
    expect(packed.length).toBeLessThan(encode(big).length);
    expect(decode(packed)).toEqual(big);
    expect(encode(atom("x"), { compressed: 9 })).toEqual(encode(atom("x"))); // not smaller: left uncompressed
    expect(() => encode(1, { compressed: 11 })).toThrow(RangeError);
  });

  it("decodeTerm reads a body without the version byte, for the distribution layer", () => {
    const body = encodeBody(tuple(1, atom("a")));
    const twice = Buffer.concat([body, body]);
    const first = decodeTerm(twice, 0);
    expect(equals(first.term, tuple(1, atom("a")))).toBe(true);
    expect(decodeTerm(twice, first.offset).offset).toBe(twice.length);
  });

  it("atom cache references resolve through the given cache", () => {
    const cache = [atom("cached"), atom("true")];
    expect(decodeTerm(Buffer.from([82, 0]), 0, { atomCache: cache }).term).toBe(atom("cached"));
    expect(decodeTerm(Buffer.from([82, 1]), 0, { atomCache: cache }).term).toBe(true);
    expect(() => decodeTerm(Buffer.from([82, 2]), 0, { atomCache: cache })).toThrow(DecodeError);
  });

  it("binaries are views of the input unless copyBinaries", () => {
    const input = encode(Buffer.from("abcdef"));
    const view = decode(input) as Buffer;
    const copy = decode(input, { copyBinaries: true }) as Buffer;
    input[input.length - 1] = 0x5a;
    expect(view.toString()).toBe("abcdeZ");
    expect(copy.toString()).toBe("abcdef");
  });
});

describe("encode errors say what and where", () => {
  it("rejects values with no Erlang form, naming the path", () => {
    const attempt = (v: unknown) => {
      try {
        encode(v as never);
      } catch (err) {
        return err as EncodeError;
      }
      throw new Error("expected an EncodeError");
    };
    expect(attempt(undefined).message).toMatch(/undefined has no Erlang form/);
    const nested = attempt(tuple(1, [2, { a: [null as never] }]));
    expect(nested).toBeInstanceOf(EncodeError);
    expect(nested.path).toBe("{1}[1].a[0]");
    expect(nested.message).toMatch(/null/);
    expect(attempt(Symbol("s")).message).toMatch(/symbol/);
    expect(attempt(new Date()).message).toMatch(/Date/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(attempt(cyclic).message).toMatch(/nested deeper/);
  });
});

describe("decode errors are typed, with offset and reason", () => {
  const reasonOf = (input: number[] | Buffer, options?: Parameters<typeof decode>[1]) => {
    try {
      decode(Buffer.from(input), options);
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError);
      return [(err as DecodeError).reason, (err as DecodeError).offset];
    }
    throw new Error("expected a DecodeError");
  };

  it("covers each kind of bad input", () => {
    expect(reasonOf([])).toEqual(["truncated", 0]);
    expect(reasonOf([130, 97, 1])).toEqual(["bad_version", 0]);
    expect(reasonOf([131, 98, 0, 0])).toEqual(["truncated", 2]);
    expect(reasonOf([131, 200])).toEqual(["bad_tag", 1]);
    expect(reasonOf([131, 97, 1, 0])).toEqual(["trailing_bytes", 3]);
    expect(reasonOf([131, 108, 0xff, 0xff, 0xff, 0xff, 106])).toEqual(["truncated", 6]);
    expect(reasonOf([131, 109, 0x7f, 0xff, 0xff, 0xff, 1])).toEqual(["truncated", 6]);
    expect(reasonOf([131, 110, 2, 7, 1, 1])).toEqual(["bad_value", 1]);
    expect(reasonOf([131, 90, 0, 9, 119, 1, 97, 0, 0, 0, 1])).toEqual(["bad_value", 1]);
    expect(reasonOf([131, 77, 0, 0, 0, 1, 9, 0])).toEqual(["bad_value", 1]);
    expect(reasonOf([131, 88, 97, 1])).toEqual(["bad_tag", 2]); // a pid's node must be an atom
    expect(reasonOf([131, 104, 1, 80, 0])).toEqual(["bad_tag", 3]); // compressed only at the top
    expect(reasonOf([131, 82, 0])).toEqual(["atom_cache", 1]);
    const record = [67, 0, 0, 0, 1, 1, 119, 1, 109, 119, 1, 114, 119, 1, 97, 97, 1]; // #m:r{a = 1}
    expect(decode(Buffer.from([131, ...record]))).toBeInstanceOf(NativeRecord);
    expect(reasonOf([131, ...record.slice(0, 5), 2, ...record.slice(6)])).toEqual(["bad_value", 6]); // flags byte
    expect(reasonOf([131, 67, 0xff, 0xff, 0xff, 0xff, 1, 119, 1, 109])).toEqual(["truncated", 7]); // 2^32-1 fields
    expect(reasonOf([131, 67, 0, 0, 0, 1, 1, 119, 1, 109, 119, 1, 114, 97, 1, 97, 1])).toEqual(["bad_tag", 13]); // field name
    expect(reasonOf([131, 67, 0, 0, 0, 2, 1, 119, 1, 109, 119, 1, 114, 119, 1, 97, 119, 1, 97, 97, 1, 97, 2])).toEqual(["bad_value", 1]);
    expect(reasonOf([131, 67, 0, 0, 0, 1, 1, 97, 1, 119, 1, 114, 119, 1, 97, 97, 1])).toEqual(["bad_tag", 7]); // module
  });

  it("bounds nesting depth instead of overflowing the stack", () => {
    const deep = Buffer.from([131, ...Array.from({ length: 50_000 }, () => [104, 1]).flat(), 106]); // {{{...}}}
    expect(reasonOf(deep)[0]).toBe("too_deep");
    expect(reasonOf(encode(nest(50)), { maxDepth: 10 })[0]).toBe("too_deep");
    let records: Encodable = 0;
    for (let i = 0; i < 20; i++) records = nativeRecord("m", "r", { inner: records });
    expect(reasonOf(encode(records), { maxDepth: 10 })[0]).toBe("too_deep");
    expect(equals(decode(encode(nest(900))), nest(900))).toBe(true);
  });

  it("bounds the inflated size of compressed terms", () => {
    const packed = encode(Array.from({ length: 5000 }, () => atom("z")), { compressed: true });
    expect(reasonOf(packed, { maxInflatedSize: 1000 })[0]).toBe("too_large");
    const lying = Buffer.from(packed);
    lying.writeUInt32BE(lying.readUInt32BE(2) - 1, 2); // claims one byte less than it inflates to
    expect(reasonOf(lying)[0]).toBe("bad_compression");
    const corrupt = Buffer.from(packed);
    corrupt.fill(0, 10, 20);
    expect(reasonOf(corrupt)[0]).toBe("bad_compression");
  });

  it("a decode error never leaves the decoder unusable", () => {
    expect(() => decode(Buffer.from([131, 104, 2, 97]))).toThrow(DecodeError);
    expect(decode(encode(tuple(1, 2)))).toEqual(tuple(1, 2));
  });
});

function nest(depth: number): Encodable {
  let term: Encodable = 0;
  for (let i = 0; i < depth; i++) term = tuple(term);
  return term;
}

describe("equals follows =:=", () => {
  it("distinguishes integers from floats and compares structurally", () => {
    expect(equals(1, float(1))).toBe(false);
    expect(equals(1.5, float(1.5))).toBe(true);
    expect(equals(5, 5n)).toBe(true);
    expect(equals(true, atom("true"))).toBe(true);
    expect(equals("a", Buffer.from("a"))).toBe(true);
    expect(equals(tuple(1), [1])).toBe(false);
    expect(equals(improperList([1], [2]), [1, 2])).toBe(true);
    expect(equals(new Map([[atom("a"), 1]]), { a: 1 })).toBe(true);
    expect(equals(new BitBinary(Buffer.from([0b11100001]), 3), new BitBinary(Buffer.from([0b11100000]), 3))).toBe(true);
    expect(equals(new Atom("same"), atom("same"))).toBe(true);
  });
});
