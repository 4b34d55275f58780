// The codec's options and helpers for Elixir-shaped data: binariesAsStrings, nilAsNull (both directions, and what
// undefined fields do), structs, keyword lists and maps as objects. The bytes decoded come from a real erl of the
// release under test (term_to_binary in each encoding it writes) as well as from hand-made encodings; what is
// encoded is checked with =:= on that erl. Elixir itself is in test/elixir/terms.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EncodeError,
  Tuple,
  atom,
  decode,
  decodeTerm,
  encode,
  equals,
  isKeyword,
  isStruct,
  keyword,
  keywordToObject,
  mapToObject,
  struct,
  structModule,
  tuple,
  type DecodeOptions,
  type Encodable,
  type Term,
} from "../../src/etf/index.js";
import { BeamNode, CtlOp } from "../support/beam.js";
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

/** The bytes of term_to_binary(Expr, Options) on the peer. */
async function beamBytes(expr: string, options = "[]"): Promise<Buffer> {
  return decode(await beam.request(CtlOp.Eval, Buffer.from(`term_to_binary(${expr}, ${options}).`))) as Buffer;
}

/** Erlang's own verdict: does the term `bytes` encode =:= the Erlang expression? */
async function beamEquals(bytes: Buffer, expr: string): Promise<boolean> {
  return (await beam.call("erlang", "=:=", [await beam.call("erlang", "binary_to_term", [bytes]), await evalTerm(expr)])) as boolean;
}

async function evalTerm(expr: string): Promise<Term> {
  // As a binary, so that the term reaches =:= exactly as the peer made it (decoding and re-encoding it here
  // would test this codec with itself).
  return beam.call("erlang", "binary_to_term", [await beamBytes(expr)]);
}

const strings: DecodeOptions = { binariesAsStrings: true };
const nils: DecodeOptions = { nilAsNull: true };
const asBytes = (...b: number[]) => Buffer.from([131, ...b]);
const binaryOf = (...b: number[]) => asBytes(109, 0, 0, 0, b.length, ...b);

describe("decode option binariesAsStrings", () => {
  it("UTF-8 binaries from BEAM decode to strings: empty, short, long, non-ASCII, a BOM kept", async () => {
    const texts = ["", "ok", "héllo wörld ✓ 🎉", "x".repeat(31), "y".repeat(32), "ü".repeat(200), "\uFEFFbom", "nul\0inside"];
    for (const text of texts) {
      const bytes = await beamBytes(`<<${JSON.stringify(text).replace(/\\u0000/g, "\\000")}/utf8>>`);
      expect(decode(bytes, strings)).toBe(text);
      expect(encode(text)).toEqual(bytes); // the same binary again, byte for byte
    }
    const big = "z".repeat(1 << 20);
    expect(decode(await beamBytes(`binary:copy(<<"z">>, ${1 << 20})`), strings)).toBe(big);
  });

  it("binaries that are not UTF-8 stay Buffers, and decode as usual", async () => {
    const cases = ["<<255>>", "<<16#c3>>", "<<16#c0, 16#80>>", "<<16#ed, 16#a0, 16#80>>", "<<16#f4, 16#90, 16#80, 16#80>>", "<<\"abc\", 200, \"def\">>", "binary:copy(<<200>>, 100)"];
    for (const expr of cases) {
      const bytes = await beamBytes(expr);
      const value = decode(bytes, strings);
      expect(Buffer.isBuffer(value)).toBe(true);
      expect(value).toEqual(decode(bytes));
      expect(encode(value)).toEqual(bytes);
      const copied = decode(bytes, { ...strings, copyBinaries: true }) as Buffer;
      expect(copied.buffer).not.toBe(bytes.buffer); // copyBinaries still copies the ones left as binaries
    }
  });

  it("binary map keys are strings with or without it; values follow it", async () => {
    const bytes = await beamBytes(`#{<<"name">> => <<"ada">>, <<255>> => <<"x">>, k => <<255>>}`);
    const plain = decode(bytes) as Map<Term, Term>;
    const texts = decode(bytes, strings) as Map<Term, Term>;
    expect(plain.get("name")).toEqual(Buffer.from("ada"));
    expect(texts.get("name")).toBe("ada");
    expect([...texts.keys()].filter(Buffer.isBuffer)).toEqual([Buffer.from([255])]);
    expect(Buffer.isBuffer(texts.get(atom("k")))).toBe(true);
    expect(await beamEquals(encode(texts), `#{<<"name">> => <<"ada">>, <<255>> => <<"x">>, k => <<255>>}`)).toBe(true);
  });

  it("applies inside compressed terms, in lists and tuples, and to decodeTerm; bitstrings stay BitBinary", async () => {
    const expr = `{[<<"a">>, <<"${"long text ".repeat(40)}">>], <<1:3>>, <<"é"/utf8>>}`;
    for (const options of ["[]", "[compressed]", "[{minor_version, 0}]"]) {
      const bytes = await beamBytes(expr, options);
      const term = decode(bytes, strings) as Tuple;
      expect(term.elements[0]).toEqual(["a", "long text ".repeat(40)]);
      expect(term.elements[1]).toMatchObject({ bits: 3 });
      expect(term.elements[2]).toBe("é");
      expect(await beamEquals(encode(term), expr)).toBe(true);
    }
    const body = encode(tuple("x", Buffer.from([255]))).subarray(1);
    expect(decodeTerm(body, 0, strings).term).toEqual(tuple("x", Buffer.from([255])));
    // A whole-byte BIT_BINARY_EXT (tag 77, 8 bits in the last byte) is a binary, so it follows the option too.
    expect(decode(asBytes(77, 0, 0, 0, 2, 8, 0x68, 0x69), strings)).toBe("hi");
    expect(decode(asBytes(77, 0, 0, 0, 1, 8, 0xff), strings)).toEqual(Buffer.from([255]));
  });

  it("is off by default: binaries are Buffers", () => {
    expect(decode(binaryOf(0x68, 0x69))).toEqual(Buffer.from("hi"));
    expect(decode(binaryOf(0x68, 0x69), { binariesAsStrings: false })).toEqual(Buffer.from("hi"));
  });
});

describe("nilAsNull", () => {
  it("decodes nil to null in every atom encoding BEAM writes, and in the atom cache", async () => {
    for (const options of ["[]", "[{minor_version, 0}]", "[{minor_version, 1}]", "[{minor_version, 2}]"]) {
      const bytes = await beamBytes("[nil, {nil}, #{nil => nil}]", options);
      expect(decode(bytes, nils)).toEqual([null, tuple(null), new Map([[null, null]])]);
      expect(decode(bytes)).toEqual([atom("nil"), tuple(atom("nil")), new Map([[atom("nil"), atom("nil")]])]);
    }
    // ATOM_CACHE_REF (82) to a cached nil, as a distribution header makes them.
    expect(decodeTerm(Buffer.from([82, 0]), 0, { nilAsNull: true, atomCache: [atom("nil")] }).term).toBe(null);
    expect(decode(asBytes(119, 3, 0x6e, 0x69, 0x6c), { nilAsNull: false })).toBe(atom("nil"));
  });

  it("other atoms, and booleans, are unchanged", () => {
    expect(decode(encode([atom("ok"), true, false, atom("Nil"), atom("nil_")]), nils)).toEqual([atom("ok"), true, false, atom("Nil"), atom("nil_")]);
  });

  it("encodes null as nil, byte for byte what term_to_binary writes", async () => {
    // UTF-8 atoms, as every release writes them with minor_version 2 (OTP 25's default is latin-1 ones).
    expect(encode(null, { nilAsNull: true })).toEqual(await beamBytes("nil", "[{minor_version, 2}]"));
    const nested = encode(tuple(null, [null], new Map<Encodable, Encodable>([[null, null]])), { nilAsNull: true });
    expect(await beamEquals(nested, "{nil, [nil], #{nil => nil}}")).toBe(true);
    expect(decode(nested, nils)).toEqual(tuple(null, [null], new Map([[null, null]])));
  });

  it("without it, null is an EncodeError with its path, saying how to send nil", () => {
    const error = catchEncode(() => encode(tuple(1, { a: null })));
    expect(error.path).toBe("{1}.a");
    expect(error.message).toMatch(/null has no Erlang form.*atom\('nil'\).*nilAsNull/);
  });

  it("with it, a plain object's undefined fields are left out; without it they are an EncodeError", async () => {
    const withUndefined = { a: 1, b: undefined, c: "x" };
    const bytes = encode(withUndefined, { nilAsNull: true });
    expect(await beamEquals(bytes, `#{a => 1, c => <<"x">>}`)).toBe(true);
    expect(bytes).toEqual(encode({ a: 1, c: "x" }));
    expect(encode({ only: undefined }, { nilAsNull: true })).toEqual(encode({}));
    const refused = catchEncode(() => encode([withUndefined]));
    expect(refused.path).toBe("[0].b");
    expect(refused.message).toMatch(/undefined has no Erlang form/);
  });

  it("with it, undefined anywhere but an object's field is still an EncodeError, with its path", () => {
    for (const [term, path] of [
      [[1, undefined], "[1]"],
      [tuple(undefined as unknown as Encodable), "{0}"],
      [new Map([[atom("k"), undefined]]), "<value 0>"],
      [{ a: [undefined] }, ".a[0]"],
    ] as Array<[unknown, string]>) {
      const error = catchEncode(() => encode(term as Encodable, { nilAsNull: true }));
      expect(error.path).toBe(path);
      expect(error.message).toMatch(/undefined has no Erlang form/);
    }
  });

  it("equals: null is nil, and an object's undefined fields are not there", () => {
    expect(equals(null, atom("nil"))).toBe(true);
    expect(equals(tuple(null), decode(encode(tuple(atom("nil")))))).toBe(true);
    expect(equals(null, atom("undefined"))).toBe(false);
    expect(equals({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(equals({ a: 1, b: undefined }, { a: 1, b: null })).toBe(false);
  });
});

describe("structs", () => {
  it("struct() names the Elixir module either way, and builds what %URI{} is", async () => {
    const uri = struct("URI", { host: "example.com", port: 443, path: null, query: undefined });
    expect(uri.__struct__).toBe(atom("Elixir.URI"));
    expect(struct("Elixir.URI", {}).__struct__).toBe(atom("Elixir.URI"));
    expect(struct("MyApp.User", {}).__struct__).toBe(atom("Elixir.MyApp.User"));
    expect(struct(atom("plain_module"), {}).__struct__).toBe(atom("plain_module"));
    expect(
      await beamEquals(encode(uri), `#{'__struct__' => 'Elixir.URI', host => <<"example.com">>, port => 443, path => nil, query => nil}`),
    ).toBe(true);
  });

  it("struct(): a copied __struct__ is replaced by the module, and a __proto__ field is only a field", () => {
    const copied = struct("B", { __struct__: atom("Elixir.A"), x: 1 });
    expect(copied).toEqual({ __struct__: atom("Elixir.B"), x: 1 });
    const odd = struct("C", JSON.parse('{"__proto__": 5}') as Record<string, Encodable>);
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
    expect(Object.keys(odd)).toEqual(["__struct__", "__proto__"]);
  });

  it("isStruct and structModule read decoded structs and built ones, as is_struct/1,2", async () => {
    const decoded = decode(await beamBytes(`#{'__struct__' => 'Elixir.URI', host => <<"h">>}`));
    expect(isStruct(decoded)).toBe(true);
    expect(isStruct(decoded, "URI")).toBe(true);
    expect(isStruct(decoded, "Elixir.URI")).toBe(true);
    expect(isStruct(decoded, atom("Elixir.URI"))).toBe(true);
    expect(isStruct(decoded, "Elixir.Other")).toBe(false);
    expect(structModule(decoded)).toBe("Elixir.URI");
    if (isStruct(decoded)) {
      const narrowed: Map<Term, Term> = decoded; // the guard makes a decoded term a Map
      expect(narrowed.get(atom("host"))).toEqual(Buffer.from("h"));
    }
    expect(isStruct(struct("URI", {}), "URI")).toBe(true);
    expect(structModule(struct("URI", {}))).toBe("Elixir.URI");
    // Not structs: no __struct__, or one that is not an atom; not a map at all.
    expect(isStruct(decode(await beamBytes(`#{host => 1}`)))).toBe(false);
    expect(isStruct(decode(await beamBytes(`#{'__struct__' => <<"URI">>}`)))).toBe(false);
    expect(isStruct([tuple(atom("__struct__"), atom("Elixir.URI"))])).toBe(false);
    expect(structModule(42)).toBe(undefined);
    // As in Elixir, any atom will do, nil among them (null with nilAsNull).
    expect(structModule(decode(await beamBytes(`#{'__struct__' => nil}`), nils))).toBe("nil");
  });
});

describe("keyword lists", () => {
  it("keyword() builds [{atom, value}] from an object, pairs or a Map, as BEAM writes [a: 1]", async () => {
    const fromObject = keyword({ timeout: 5000, name: "x", missing: undefined, none: null });
    expect(await beamEquals(encode(fromObject), `[{timeout, 5000}, {name, <<"x">>}, {none, nil}]`)).toBe(true);
    const pairs = keyword([["a", 1], [atom("a"), 2], ["b", null]]);
    expect(await beamEquals(encode(pairs), `[{a, 1}, {a, 2}, {b, nil}]`)).toBe(true);
    expect(keyword(new Map<string, Encodable>([["z", 1], ["y", 2]]))).toEqual([tuple(atom("z"), 1), tuple(atom("y"), 2)]);
    expect(keyword({})).toEqual([]);
  });

  it("isKeyword says what Keyword.keyword?/1 says", async () => {
    expect(isKeyword(decode(await beamBytes("[{a, 1}, {b, <<\"x\">>}]")))).toBe(true);
    expect(isKeyword(decode(await beamBytes("[]")))).toBe(true);
    expect(isKeyword(decode(await beamBytes("[{true, 1}, {nil, 2}]"), nils))).toBe(true); // true and nil are atoms
    expect(isKeyword(decode(await beamBytes("[{a, 1}, {<<\"b\">>, 2}]")))).toBe(false);
    expect(isKeyword(decode(await beamBytes("[{a, 1, 2}]")))).toBe(false);
    expect(isKeyword(decode(await beamBytes("#{a => 1}")))).toBe(false);
  });

  it("keywordToObject: first value of a repeated key wins (Keyword.get), atoms that are JS values keep their names", async () => {
    const list = decode(await beamBytes(`[{a, 1}, {b, <<"x">>}, {a, 3}, {true, t}, {nil, n}, {'__proto__', p}]`), nils);
    const object = keywordToObject(list);
    expect(object).toEqual({ a: 1, b: Buffer.from("x"), true: atom("t"), nil: atom("n"), ["__proto__"]: atom("p") });
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(keywordToObject(decode(encode(keyword({ k: "v" })), strings))).toEqual({ k: "v" });
  });

  it("keywordToObject refuses what is not a keyword list, saying which element", () => {
    expect(() => keywordToObject([tuple(atom("a"), 1), tuple("b", 2)] as Term[])).toThrow(/element 1 is a tuple.*not an \{atom, value\} tuple/);
    expect(() => keywordToObject([tuple(atom("a"), 1), 7] as Term[])).toThrow(/element 1 is number 7/);
    expect(() => keywordToObject(new Map())).toThrow(/not a keyword list.*a map of 0 keys/);
  });
});

describe("mapToObject", () => {
  it("atom-keyed and string-keyed maps, and structs, become plain objects", async () => {
    expect(mapToObject(decode(await beamBytes(`#{name => <<"ada">>, age => 36}`), strings))).toEqual({ name: "ada", age: 36 });
    expect(mapToObject(decode(await beamBytes(`#{<<"name">> => <<"ada">>, <<"tags">> => [a]}`)))).toEqual({ name: Buffer.from("ada"), tags: [atom("a")] });
    const uri = mapToObject(decode(await beamBytes(`#{'__struct__' => 'Elixir.URI', host => <<"h">>, port => nil}`), { nilAsNull: true, binariesAsStrings: true }));
    expect(uri).toEqual({ __struct__: atom("Elixir.URI"), host: "h", port: null });
    // Nested maps stay Maps (convert them where wanted).
    const nested = mapToObject(decode(await beamBytes(`#{inner => #{x => 1}}`)));
    expect(nested.inner).toEqual(new Map([[atom("x"), 1]]));
    expect(mapToObject(decode(await beamBytes(`#{true => 1, false => 0}`)))).toEqual({ true: 1, false: 0 });
  });

  it("refuses keys an object cannot hold apart, or that are not atoms or strings, saying to use map.get", async () => {
    expect(() => mapToObject(decode(encode(new Map<Encodable, Encodable>([["a", 1], [atom("a"), 2]]))))).toThrow(/both an atom and a string key "a".*map\.get/);
    expect(() => mapToObject(decode(encode(new Map<Encodable, Encodable>([[1, 1]]))))).toThrow(/atom or string keys.*number 1.*map\.get/);
    expect(() => mapToObject(decode(encode(new Map<Encodable, Encodable>([[Buffer.from([255]), 1]]))))).toThrow(/a binary of 1 bytes/);
    expect(() => mapToObject([] as Term[])).toThrow(/not a map: got a list of 0 elements/);
    expect(() => mapToObject(atom("x"))).toThrow(/not a map: got the atom x/);
  });
});

function catchEncode(run: () => unknown): EncodeError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(EncodeError);
    return err as EncodeError;
  }
  throw new Error("expected an EncodeError");
}
