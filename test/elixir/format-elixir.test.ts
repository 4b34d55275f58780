// formatElixir against the peer's own Kernel.inspect/1, on each release's Elixir (1.14 on OTP 25, 1.18 on 27, 1.20
// on 29): generated corpora, sent to the peer, which returns each term with its inspect text; erldist formats the
// term as it came back (so maps are in the peer's order) and must print exactly that text. Explicit examples are
// values the peer itself makes from Elixir source. Nothing here pins one release's text: the peer says what is right.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatElixir, type ElixirFormatOptions } from "../../src/etf/format-elixir.js";
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
  charlist,
  equals,
  float,
  improperList,
  nativeRecord,
  tuple,
  type Encodable,
  type Term,
} from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd | undefined;
let beam: BeamNode | undefined;
let peer: BeamNode;
let elixirVersion: string;
let otp: number;
let creation: number;
/** Options that describe this peer: its version, release, node and the fixture structs it has loaded. */
let options: ElixirFormatOptions;
/** Fields of the standard library's structs in this release (they differ: MapSet, Regex). */
const stdFields = new Map<string, string[]>();
let regexOptsAreLists: boolean;

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd, elixir: true });
  peer = beam;
  elixirVersion = text(await peer.call("Elixir.System", "version", []));
  otp = Number(text(await peer.call("Elixir.System", "otp_release", [])));
  creation = (await peer.eval("erlang:system_info(creation).")) as number;
  // A helper module on the peer: each term with its inspect text, and atoms' inspect text by name.
  await ex(`
    defmodule ErldistFormatCheck do
      def pair(term), do: {term, inspect(term)}
      def atoms(names), do: Enum.map(names, &inspect(String.to_atom(&1)))
      def eval(source), do: (with {t, _} <- Code.eval_string(source), do: {t, inspect(t)})
    end`);
  const fieldsOf = async (module: string) =>
    ((await ex(`for %{field: f} <- ${module}.__info__(:struct), do: Atom.to_string(f)`)) as Term[]).map(text);
  for (const module of ["Date", "Time", "NaiveDateTime", "DateTime", "Date.Range", "MapSet", "Range", "URI", "Version", "Version.Requirement", "Regex"]) {
    stdFields.set(module, await fieldsOf(module));
  }
  regexOptsAreLists = Array.isArray(await ex("%Regex{}.opts"));
  options = {
    elixir: elixirVersion,
    otp,
    node: peer.name,
    structs: { "Elixir.Point": await fieldsOf("Point"), "Elixir.ErldistPeer.Boom": await fieldsOf("ErldistPeer.Boom") },
  };
});

afterAll(async () => {
  await beam?.stop();
  await epmd?.stop();
});

function text(term: Term): string {
  if (!Buffer.isBuffer(term)) throw new Error(`expected a binary, got ${String(term)}`);
  return term.toString("utf8");
}

/** Evaluates Elixir source on the peer and returns the value. */
async function ex(source: string, binding: Record<string, Encodable> = {}): Promise<Term> {
  const vars = Object.entries(binding).map(([name, value]) => tuple(atom(name), value));
  return ((await peer.call("Elixir.Code", "eval_string", [source, vars])) as Tuple).elements[0];
}

/** The term as the peer has it (sent there and back) and the peer's Kernel.inspect/1 of it. */
async function inspected(term: Encodable): Promise<[Term, string]> {
  const [back, printed] = ((await peer.call("Elixir.ErldistFormatCheck", "pair", [term])) as Tuple).elements;
  return [back, text(printed)];
}

/** A value the peer makes from Elixir source, with the peer's inspect of it. */
async function made(source: string): Promise<[Term, string]> {
  const [value, printed] = ((await peer.call("Elixir.ErldistFormatCheck", "eval", [source])) as Tuple).elements;
  return [value, text(printed)];
}

async function expectSameAsPeer(term: Encodable, extra: ElixirFormatOptions = {}): Promise<void> {
  const [back, printed] = await inspected(term);
  expect(formatElixir(back, { ...options, ...extra })).toBe(printed);
}

/** A map of the entries, without keys that repeat an earlier one as Erlang sees them (BEAM refuses such maps). */
function termMap(entries: ReadonlyArray<readonly [Encodable, Encodable]>): Map<Encodable, Encodable> {
  const kept: Array<readonly [Encodable, Encodable]> = [];
  for (const entry of entries) if (!kept.some(([key]) => equals(key, entry[0]))) kept.push(entry);
  return new Map(kept);
}

// --- arbitraries ---------------------------------------------------------------------------------------------------

const OPERATORS = [
  "+", "-", "*", "/", "++", "--", "<>", "..", "...", "..//", "//", "::", "|", "|>", "=", "==", "===", "!=", "!==", "=~",
  "<", ">", "<=", ">=", "&&", "||", "&&&", "|||", "<<<", ">>>", "<~", "~>", "<<~", "~>>", "<~>", "<|>", "^^^", "~~~",
  "**", "+++", "---", "\\\\", "<-", "->", "=>", "&", "!", "^", "@", ".", "%", "%{}", "{}", "<<>>", "not", "and", "or",
  "in", "when", "not in", "fn", "do", "end", "nil", "true", "false", "__struct__", "_", "__MODULE__",
];
// Letters of several scripts (some restricted, some that normalize), combining marks, look-alike spaces, symbols.
const UNICODE = [
  "é", "ü", "ß", "ñ", "ø", "Ĕ", "ĕ", "ǅ", "ª", "µ", "μ", "Ω", "ω", "ж", "Ж", "я", "日", "本", "語", "の", "カ", "한",
  "ע", "ب", "क", "ก", "ğ", "ı", "İ", "ſ", "ﬁ", "Ａ", "𝐀", "ㄅ", "ꓚ", "ᏼ", "\u0301", "\u0308", "\u200b", "\u00a0",
  "\u202e", "\ufeff", "٣", "١", "😀", "€", "\u{10ffff}", "\ufffe",
];
const PUNCTUATION = [" ", "-", ".", "?", "!", "@", "\"", "'", "\\", "#{", "}", "/", ":", "\n", "\t", "\u0000", "\u007f", "\u0001"];

const asciiIdentifier = fc.stringMatching(/^[a-z_][a-zA-Z0-9_@]{0,10}[?!]?$/);
const aliasName = fc
  .array(fc.stringMatching(/^[A-Z][a-zA-Z0-9_]{0,6}$/), { minLength: 1, maxLength: 3 })
  .map((pieces) => `Elixir.${pieces.join(".")}`);
const mixedName = fc
  .array(fc.oneof(fc.constantFrom(...UNICODE), fc.constantFrom(...PUNCTUATION), fc.stringMatching(/^[a-zA-Z0-9_]$/)), { maxLength: 10 })
  .map((parts) => parts.join(""));
const atomName = fc.oneof(
  asciiIdentifier,
  aliasName,
  fc.stringMatching(/^[A-Z][a-zA-Z0-9_]{0,8}$/),
  fc.constantFrom(...OPERATORS),
  fc.constantFrom("Elixir", "Elixir.Elixir", "Elixir.Elixir.Foo", "Elixir.foo", "Elixir.Foo.bar", "Elixir.", "Elixir.Foo."),
  mixedName,
  fc.array(fc.constantFrom(...UNICODE.slice(0, 36), "_", "a", "1"), { minLength: 1, maxLength: 8 }).map((p) => p.join("")),
);
const anAtom = atomName.map((name) => atom(name));

const integer = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  fc.maxSafeInteger(),
);
const aFloat = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => float(x));
const printableText = fc.string({ unit: fc.oneof(fc.constantFrom(...UNICODE, ...PUNCTUATION), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 20 });
const bytes = fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b));
const bitstring = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 7 })).map(([data, bits]) => new BitBinary(data, bits));
const printableCode = fc.oneof(fc.integer({ min: 32, max: 126 }), fc.constantFrom(7, 8, 9, 10, 11, 12, 13, 27, 34, 35, 39, 92, 123));
const aCharlist = fc.oneof(fc.array(printableCode, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 6 }));

const peerPid = () => fc.tuple(fc.integer({ min: 0, max: 32767 }), fc.integer({ min: 0, max: 8191 })).map(([id, serial]) => new Pid(atom(peer.name), id, serial, creation));
const peerRef = () => fc.tuple(fc.integer({ min: 0, max: 262143 }), fc.nat(), fc.nat()).map(([a, b, c]) => new Reference(atom(peer.name), creation, [a, b, c]));
const peerPort = () => fc.integer({ min: 0, max: 1_000_000 }).map((id) => new Port(atom(peer.name), id, creation));
const exportFun = fc.tuple(anAtom, anAtom, fc.integer({ min: 0, max: 255 })).map(([m, f, a]) => new ExportFun(m, f, a));

const leaf = (): fc.Arbitrary<Encodable> =>
  fc.oneof(
    { weight: 3, arbitrary: integer },
    { weight: 2, arbitrary: aFloat },
    { weight: 4, arbitrary: anAtom },
    { weight: 3, arbitrary: printableText },
    { weight: 1, arbitrary: bytes },
    { weight: 1, arbitrary: bitstring },
    { weight: 2, arbitrary: aCharlist },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.oneof(peerPid(), peerRef(), peerPort(), exportFun) },
  );

// The standard library's structs, with the fields this release has and values its Inspect implementations take.
const ISO = atom("Elixir.Calendar.ISO");
const microsecond = fc.tuple(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 6 })).map(([v, p]) => tuple(v, p));
const year = fc.oneof(fc.integer({ min: -9999, max: 9999 }), fc.integer({ min: -20000, max: 20000 }));
const dateFields = fc.record({ year, month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 31 }) });
const timeFields = fc.record({ hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }), second: fc.integer({ min: 0, max: 59 }), microsecond });
const zone = fc.constantFrom(
  { time_zone: "Etc/UTC", zone_abbr: "UTC", utc_offset: 0, std_offset: 0 },
  { time_zone: "Europe/Berlin", zone_abbr: "CEST", utc_offset: 3600, std_offset: 3600 },
  { time_zone: "America/New_York", zone_abbr: "EST", utc_offset: -18000, std_offset: 0 },
  { time_zone: "Asia/Kolkata", zone_abbr: "IST", utc_offset: 19800, std_offset: 0 },
);

function struct(module: string, values: Record<string, Encodable>): Encodable {
  const fields = stdFields.get(module)!;
  const defaults: Record<string, Encodable> = { calendar: ISO, version: 2, re_pattern: atom("nil"), re_version: "", lexed: [] };
  const out: Record<string, Encodable> = { __struct__: atom(`Elixir.${module}`) };
  for (const field of fields) out[field] = field in values ? values[field] : (defaults[field] ?? atom("nil"));
  return out;
}

const date = dateFields.map((d) => struct("Date", d));
const regexOption = fc.constantFrom<Encodable[]>(
  [atom("caseless")], [atom("multiline"), atom("caseless")], [atom("unicode"), atom("ucp")], [atom("dotall"), tuple(atom("newline"), atom("anycrlf"))],
  [atom("extended"), atom("firstline"), atom("ungreedy")], [atom("export")], [atom("anchored")], [],
);
const regexSource = fc.string({ unit: fc.constantFrom("a", "b", "/", "\\", "\\/", "\\\\", "#{", "\\#{", "+", "*", "(", ")", "\n", "é", "\u0001", " "), maxLength: 10 });

const standardStruct = (term: fc.Arbitrary<Encodable>): fc.Arbitrary<Encodable> =>
  fc.oneof(
    date,
    timeFields.map((t) => struct("Time", t)),
    fc.tuple(dateFields, timeFields).map(([d, t]) => struct("NaiveDateTime", { ...d, ...t })),
    fc.tuple(dateFields, timeFields, zone).map(([d, t, z]) => struct("DateTime", { ...d, ...t, ...z })),
    fc.tuple(date, date, fc.constantFrom(1, -1, 2, -3)).map(([first, last, step]) => struct("Date.Range", { first, last, step, first_in_iso_days: 0, last_in_iso_days: 0 })),
    fc.array(term, { maxLength: 6 }).map((items) => struct("MapSet", { map: termMap(items.map((i) => [i, []])) })),
    fc.tuple(integer, integer, fc.oneof(fc.constant(1), integer.filter((s) => s !== 0 && s !== 0n))).map(([first, last, step]) => struct("Range", { first, last, step })),
    fc
      .record({ scheme: fc.constantFrom("http", "https"), host: fc.constantFrom("example.com", "é.test"), port: fc.oneof(fc.constant(atom("nil")), fc.integer({ min: 1, max: 65535 })) })
      .chain((u) => fc.record({ authority: fc.constantFrom(atom("nil"), u.host), path: fc.constantFrom(atom("nil"), "/", "/a b"), query: fc.constantFrom(atom("nil"), "q=1") }).map((rest) => struct("URI", { ...u, ...rest }))),
    fc
      .record({ major: fc.nat(20), minor: fc.nat(20), patch: fc.nat(20), pre: fc.oneof(fc.constant<Encodable[]>([]), fc.array<Encodable>(fc.oneof(fc.constantFrom("rc", "beta"), fc.nat(9)), { maxLength: 2 })), build: fc.constantFrom(atom("nil"), "b1") })
      .map((v) => struct("Version", v)),
    fc.constantFrom("~> 1.2", ">= 1.0.0 and < 2.0.0", "== 1.0.0").map((source) => struct("Version.Requirement", { source })),
    fc.tuple(regexSource, regexOption).map(([source, opts]) => struct("Regex", { source, opts: regexOptsAreLists ? opts : "i" })),
  );

const point = (term: fc.Arbitrary<Encodable>) => fc.record({ x: term, y: term, label: term }).map((p) => ({ __struct__: atom("Elixir.Point"), ...p }));

const { term: anyTerm } = fc.letrec<{ term: Encodable; tuple: Encodable; list: Encodable; keyword: Encodable; map: Encodable; improper: Encodable; structs: Encodable }>((tie) => ({
  term: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 6, arbitrary: leaf() },
    { weight: 1, arbitrary: tie("tuple") },
    { weight: 1, arbitrary: tie("list") },
    { weight: 1, arbitrary: tie("keyword") },
    { weight: 1, arbitrary: tie("map") },
    { weight: 1, arbitrary: tie("improper") },
    { weight: 1, arbitrary: tie("structs") },
  ),
  tuple: fc.array(tie("term"), { maxLength: 4 }).map((e) => new Tuple(e)),
  list: fc.array(tie("term"), { maxLength: 5 }),
  keyword: fc.array(fc.tuple(anAtom, tie("term")), { maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => tuple(k, v))),
  map: fc.oneof(
    fc.array(fc.tuple(anAtom, tie("term")), { maxLength: 4 }).map(termMap),
    fc.array(fc.tuple(tie("term"), tie("term")), { maxLength: 4 }).map(termMap),
  ),
  improper: fc.tuple(fc.array(tie("term"), { minLength: 1, maxLength: 3 }), leaf().filter((t) => !Array.isArray(t))).map(([e, t]) => improperList(e, t)),
  structs: fc.oneof(point(tie("term")), standardStruct(tie("term")), tie("term").map((a) => ({ __struct__: atom("Elixir.ErldistNotLoaded"), a }))),
}));

// Structs whose text does not depend on the order of their map's keys (the fields print in a fixed order).
const FIXED_ORDER = new Set(["Point", "Date", "Time", "NaiveDateTime", "DateTime", "Date.Range", "Range", "URI", "Version", "Version.Requirement", "Regex"].map((m) => `Elixir.${m}`));

/** Whether a JS value holds a map of several keys whose text follows key order (which the peer decides). */
function hasOrderedMap(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasOrderedMap);
  if (value instanceof Tuple) return value.elements.some(hasOrderedMap);
  if (value instanceof Map || (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)) {
    const entries: Array<[unknown, unknown]> = value instanceof Map ? [...value.entries()] : Object.entries(value);
    const module = entries.find(([k]) => k === "__struct__" || (k instanceof Atom && k.name === "__struct__"))?.[1];
    const fixed = module instanceof Atom && FIXED_ORDER.has(module.name);
    return (!fixed && entries.length > 1) || entries.some(([k, v]) => hasOrderedMap(k) || hasOrderedMap(v));
  }
  return value instanceof ImproperList ? value.elements.some(hasOrderedMap) || hasOrderedMap(value.tail) : false;
}

/**
 * Every generated term must print as the peer prints it: the term as it came back (maps in the peer's order) and,
 * when no map's order shows, the JS value as generated (strings, plain objects, Uint8Arrays as the terms they encode to).
 */
async function corpus(arbitrary: fc.Arbitrary<Encodable>, numRuns: number): Promise<void> {
  const corpusOptions: ElixirFormatOptions = { ...options, unknownStructs: "map" };
  await fc.assert(
    fc.asyncProperty(arbitrary, async (term) => {
      const [back, printed] = await inspected(term);
      expect(formatElixir(back, corpusOptions)).toBe(printed);
      if (!hasOrderedMap(term)) expect(formatElixir(term, corpusOptions)).toBe(printed);
    }),
    { numRuns },
  );
}

// --- the corpora ----------------------------------------------------------------------------------------------------

describe("formatElixir matches the peer's Kernel.inspect/1 on generated terms", () => {
  it("runs the release's own Elixir", () => {
    expect(elixirVersion).toMatch(/^1\.\d+\.\d+/);
  });

  it("nested terms of every kind", async () => {
    await corpus(anyTerm, 2500);
  });

  it("atoms of every kind, alone, as keyword and map keys, and in remote funs", async () => {
    await corpus(
      fc.oneof(
        anAtom,
        fc.array(fc.tuple(anAtom, fc.nat(9)), { minLength: 1, maxLength: 3 }).map((pairs) => pairs.map(([k, v]) => tuple(k, v))),
        fc.array(fc.tuple(anAtom, fc.nat(9)), { minLength: 1, maxLength: 3 }).map(termMap),
        exportFun,
      ),
      2500,
    );
  });

  it("strings, binaries, bitstrings and charlists", async () => {
    await corpus(fc.oneof(printableText, bytes, bitstring, aCharlist, fc.string({ unit: "binary", maxLength: 30 }), fc.string({ unit: "grapheme-composite", maxLength: 10 })), 2500);
  });

  it("integers and floats", async () => {
    await corpus(fc.oneof(integer, aFloat, fc.array(aFloat, { maxLength: 5 })), 2000);
  });

  it("structs of the fixture module, of the standard library and of modules the peer does not have", async () => {
    await corpus(fc.oneof(point(leaf()), standardStruct(leaf()), standardStruct(anyTerm), point(anyTerm)), 2000);
  });

  it("collections past the limit: long, nested and large maps", async () => {
    const big = fc.oneof(
      fc.array(leaf(), { minLength: 40, maxLength: 260 }),
      fc.array(fc.array(fc.nat(), { minLength: 20, maxLength: 70 }), { minLength: 2, maxLength: 6 }),
      fc.array(fc.tuple(fc.nat(9), bytes), { minLength: 10, maxLength: 60 }).map((pairs) => pairs.map(([n, b]) => tuple(n, b))),
      fc.uint8Array({ minLength: 40, maxLength: 260 }).map((b) => Buffer.from(b)),
      fc.uniqueArray(fc.integer(), { minLength: 20, maxLength: 120 }).map((keys) => new Map<Encodable, Encodable>(keys.map((k) => [k, [k]]))),
      fc.uniqueArray(asciiIdentifier, { minLength: 30, maxLength: 80 }).map((keys) => new Map<Encodable, Encodable>(keys.map((k) => [atom(k), k]))),
      fc.uniqueArray(fc.nat(), { minLength: 30, maxLength: 80 }).map((keys) => struct("MapSet", { map: new Map(keys.map((k) => [k, []])) })),
      fc.array(fc.oneof(leaf(), fc.array(leaf(), { maxLength: 60 })), { minLength: 30, maxLength: 80 }).map((items) => improperList(items, atom("tail"))),
    );
    await corpus(big, 400);
  });
});

// --- explicit examples, made by the peer -------------------------------------------------------------------------

describe("formatElixir on values the peer makes", () => {
  const sources = [
    `"José"`, `"with \\"quotes\\", \\\\ and \\#{interpolation}\\n"`, `<<255, 0>>`, `<<1::3>>`, `<<1, 2, 3::5>>`, `<<>>`, `""`,
    `"\\u200B\\u00A0\\uFEFF zero-width"`, `[?a, ?b, ?c]`, `[?a, 200]`, `[7, 8, 27]`, `:ok`, `:"with space"`, `:"quote\\"d"`, `nil`, `true`, `false`,
    `Foo.Bar`, `:"Elixir.foo"`, `:foo?`, `:foo!`, `:"foo?bar"`, `:+`, `:"::"`, `:josé`, `:日本`, `:"a日"`, `String.to_atom("при_hello")`, `:Élan`,
    `{1, :a, "b"}`, `{}`, `[1, 2, 3]`, `[]`, `[1, 2 | 3]`, `[a: 1, b: 2]`, `[{Foo, 1}]`, `[{:a, 1}, {"b", 2}]`, `%{a: 1}`, `%{"k" => 1}`,
    `%{:a => 1, "b" => 2}`, `%{Foo => 1}`, `%{}`, `%{{1, 2} => [3]}`, `42`, `-(2 ** 70)`, `1.0`, `-0.0`, `0.1`, `1.0e-10`, `1.0e20`,
    `123456789.125`, `1.0e16`, `9.007199254740993e15`, `Enum.to_list(1..300)`, `Enum.map(1..60, &[&1])`, `Enum.reduce(1..300, [], fn _, acc -> [acc] end)`,
    `Enum.reduce(1..300, [], fn i, acc -> [i | acc] end) |> Enum.chunk_every(7)`, `Enum.reduce(1..300, :end, fn i, acc -> {i, acc} end)`,
    `Map.new(1..40, &{&1, &1})`, `Map.new(1..40, &{:"k#{&1}", &1})`, `String.duplicate("a", 5000)`, `List.duplicate(?a, 5000)`,
    `String.duplicate("\\#{", 3000)`, `:binary.copy(<<1>>, 300)`, `URI.parse("https://user@example.com:8080/a?b=c#d")`,
    `%Point{x: 1, y: 2}`, `%Point{x: %Point{x: 1, y: [2]}, y: "y", label: :l}`, `~D[2024-01-02]`, `~T[12:34:56.123456]`, `~T[01:02:03]`,
    `~N[2024-01-02 03:04:05.006]`, `DateTime.from_unix!(1_700_000_000)`, `DateTime.from_unix!(1_700_000_000_123, :millisecond)`,
    `%DateTime{year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, microsecond: {0, 0}, time_zone: "Europe/Berlin", zone_abbr: "CET", utc_offset: 3600, std_offset: 0}`,
    `%Date{year: 12345, month: 1, day: 2}`, `%NaiveDateTime{year: -12345, month: 1, day: 2, hour: 0, minute: 0, second: 0, microsecond: {0, 0}}`,
    `MapSet.new([1, 2, 3])`, `MapSet.new([[97, 98], [a: 1]])`, `MapSet.new(1..100)`, `1..10`, `1..10//3`, `10..1//-1`, `~r/a+b/i`,
    `~r/a\\/b\\#{c}/`, `Regex.compile!("a\\\\d", "ms")`, `Version.parse!("1.2.3-rc.1+build")`, `Version.parse!("1.2.3")`,
    `Version.parse_requirement!("~> 1.2")`, `Date.range(~D[2024-01-01], ~D[2024-01-10])`, `Date.range(~D[2024-01-10], ~D[2024-01-01], -2)`,
    `self()`, `make_ref()`, `hd(Port.list())`, `&Enum.map/2`, `&:erlang.+/2`, `&Kernel.inspect/1`, `&:lists.reverse/1`,
    `%ErldistPeer.Boom{message: "boom", code: 7}`, `%ArgumentError{message: "bad"}`, `%{__struct__: ErldistNotLoaded, a: 1}`,
    `%{__struct__: :not_an_alias, a: 1}`, `%{__struct__: "not an atom", a: 1}`, `{:error, %KeyError{key: :k, term: %{}, message: nil}}`,
  ];

  it("prints each exactly as the peer does", async () => {
    const extra: ElixirFormatOptions = {
      unknownStructs: "map",
      structs: { ...options.structs, "Elixir.ArgumentError": ["message"], "Elixir.KeyError": (await ex("for %{field: f} <- KeyError.__info__(:struct), do: Atom.to_string(f)") as Term[]).map(text) },
    };
    const failures: string[] = [];
    for (const source of sources) {
      const [value, printed] = await made(source);
      const ours = formatElixir(value, { ...options, ...extra });
      if (ours !== printed) failures.push(`${source}\n  peer:     ${printed.slice(0, 300)}\n  erldist:  ${ours.slice(0, 300)}`);
    }
    expect(failures.join("\n")).toBe("");
  });

  it("charlists follow the peer's release: ~c\"abc\" since Elixir 1.15, 'abc' before", async () => {
    const [value, printed] = await made("[?a, ?b, ?c]");
    expect(formatElixir(value, options)).toBe(printed);
    expect(formatElixir(charlist("abc"), { elixir: "1.14.0" })).toBe("'abc'");
    expect(formatElixir(charlist("abc"), { elixir: "1.15.0" })).toBe('~c"abc"');
  });

  it("JS values that encode as terms: strings as binaries, plain objects as maps with atom keys, numbers by integrality", async () => {
    await expectSameAsPeer("José");
    await expectSameAsPeer({ only: 1 });
    await expectSameAsPeer({ point: { __struct__: atom("Elixir.Point"), x: 1, y: 2.5, label: "l" } });
    await expectSameAsPeer([1, 2.5, 2n ** 64n, Uint8Array.from([1, 2]), true]);
    // A BigInt travels as the integer it holds: a list of small ones is a charlist to the peer, and prints as one.
    for (const list of [[32n], [72n, 105n], [[32n], 1], [1n, 2n], [0x110000n]]) {
      const [, printed] = await inspected(list);
      expect(formatElixir(list, options)).toBe(printed);
    }
    // As format() and the encoder with nilAsNull: null is nil, a plain object's undefined fields are left out.
    expect(formatElixir(null)).toBe(formatElixir(atom("nil")));
    expect(formatElixir({ a: 1, b: undefined })).toBe(formatElixir({ a: 1 }));
    expect(() => formatElixir(undefined)).toThrow(TypeError);
  });

  it("a struct of a loaded module not named in `structs` prints as a struct, its fields in the map's order", async () => {
    const [value, printed] = await made("%Point{x: 1, y: 2, label: 3}");
    const withoutFields = { ...options, structs: {} };
    const ours = formatElixir(value, withoutFields);
    expect(ours.startsWith("%Point{")).toBe(true);
    const items = (s: string) => s.slice("%Point{".length, -1).split(", ").sort();
    expect(items(ours)).toEqual(items(printed));
    // A module the peer does not have: "struct" (the default) assumes it has; "map" prints what the peer prints.
    const [missing, missingPrinted] = await made("%{__struct__: ErldistNotLoaded, a: 1}");
    expect(formatElixir(missing, options)).toBe("%ErldistNotLoaded{a: 1}");
    expect(formatElixir(missing, { ...options, unknownStructs: "map" })).toBe(missingPrinted);
  });

  it("a local fun: all but its name, which the peer takes from the module's code", async () => {
    const [fun, printed] = await made("fn x -> x end");
    expect(fun).toBeInstanceOf(Fun);
    const ours = formatElixir(fun, options);
    expect(printed.startsWith(ours.slice(0, -1))).toBe(true);
    expect(printed.slice(ours.length - 1)).toMatch(/^(\.\S+)?>$/);
  });

  it("pids, ports and references: the peer's own with node 0; another node's with its name where the peer has a number", async () => {
    for (const source of ["self()", "make_ref()", "hd(Port.list())", ":erlang.monitor(:process, self())"]) {
      const [value, printed] = await made(source);
      expect(formatElixir(value, options)).toBe(printed);
    }
    const other = "other@127.0.0.1";
    for (const value of [new Pid(atom(other), 7, 1, 3), new Port(atom(other), 9, 3), new Reference(atom(other), 3, [1, 2, 3])]) {
      const [back, printed] = await inspected(value);
      const ours = formatElixir(back, options);
      expect(ours).toContain(`<${other}.`);
      expect(printed.replace(/<\d+\./, `<${other}.`)).toBe(ours);
    }
  });

  it("maps of more than 32 keys print in the peer's order (with `otp`, for OTP 29's reversed encoding)", async () => {
    const [value, printed] = await made("Map.new(1..100, &{&1 * 7919, &1})");
    expect(formatElixir(value, options)).toBe(printed);
    const [atoms, atomsPrinted] = await made(`Map.new(1..50, &{:"key#{&1}", &1})`);
    expect(formatElixir(atoms, options)).toBe(atomsPrinted);
  });

  it("OTP 29 native records print as Elixir 1.20 prints them, in Erlang syntax (older peers have none)", async () => {
    if (otp < 29) {
      // Before OTP 29 there is no native record for the peer to print: it cannot make one.
      await expect(peer.call("records", "create", [atom("nrm"), atom("point"), [tuple(atom("x"), 1)], new Map()])).rejects.toThrow(/undef/);
      return;
    }
    for (const record of [nativeRecord("nrm", "point", { x: 1, y: 2 }), nativeRecord("nrm", "local", { a: charlist("abc"), b: Buffer.from("hi"), c: tuple(atom("ok"), [1, 2]) }, { exported: false })]) {
      await expectSameAsPeer([record, { r: record }]);
    }
  });
});

describe("atoms against the peer's own tokenizer, code point by code point", () => {
  it("every code point up to U+2FFF and a sample beyond, alone and after a Latin letter", async () => {
    const points: number[] = [];
    for (let cp = 0x80; cp <= 0x2fff; cp++) points.push(cp);
    for (let cp = 0x3000; cp <= 0x323af; cp += 7) if (cp < 0xd800 || cp > 0xdfff) points.push(cp);
    for (let cp = 0x323b0; cp <= 0x10ffff; cp += 997) points.push(cp);
    const names = points.flatMap((cp) => [String.fromCodePoint(cp), `a${String.fromCodePoint(cp)}`, `${String.fromCodePoint(cp)}_x`]);
    const printed = ((await peer.call("Elixir.ErldistFormatCheck", "atoms", [names])) as Term[]).map(text);
    const failures: string[] = [];
    names.forEach((name, i) => {
      const ours = formatElixir(new Atom(name), options);
      if (ours !== printed[i] && failures.length < 20) failures.push(`U+${name.codePointAt(name.startsWith("a") ? 1 : 0)!.toString(16)} ${JSON.stringify(name)}: peer ${printed[i]}, erldist ${ours}`);
    });
    expect(failures).toEqual([]);
  });
});

describe("formatElixir without a peer", () => {
  it("refuses what is not a term", () => {
    expect(() => formatElixir(Symbol("s"))).toThrow(/no Erlang form/);
    expect(() => formatElixir(new Date())).toThrow(/no Erlang form/);
    expect(() => formatElixir(NaN)).toThrow(/no Erlang form/);
    expect(() => formatElixir([() => 1])).toThrow(TypeError);
    // Every level of nesting takes one from the item limit, so even a cyclic JS value prints (as Elixir's "...").
    const cycle: unknown[] = [];
    cycle.push(cycle);
    let deep: unknown[] = [];
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(formatElixir(cycle)).toBe(formatElixir(deep));
    expect(() => formatElixir(1, { elixir: "one" })).toThrow(/not an Elixir version/);
  });

  it("a Float is a float even when integral; an integral number is an integer", () => {
    expect(formatElixir(float(2))).toBe("2.0");
    expect(formatElixir(2)).toBe("2");
    expect(formatElixir(new Float(0.5))).toBe("0.5");
  });
});
