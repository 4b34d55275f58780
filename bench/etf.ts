// npm run bench:etf: erldist's codec against erlpack (native), @yukikaze-bot/erlpack (native), erlang_js (pure JS)
// and BEAM's own term_to_binary/binary_to_term, on one shared corpus, all measured in this run. Every figure is
// printed as a ratio to erldist: above 1.00 means erldist is faster. A codec that cannot represent an item (or
// produces a different term) is reported as such, never skipped silently.
//
// Options: --ms=N  minimum milliseconds per measurement round (default 300).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import {
  Atom,
  Float,
  Pid,
  Reference,
  Tuple,
  atom,
  decode,
  encode,
  equals,
  float,
  type Term,
} from "../src/etf/index.js";
import { BeamNode } from "../test/support/beam.js";
import { startEpmd } from "../test/support/epmd.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";
import { stopAllChildren } from "../test/support/children.js";

const require = createRequire(import.meta.url);
const minMs = Number(process.argv.find((a) => a.startsWith("--ms="))?.slice(5) ?? 300);

// ---- the corpus -------------------------------------------------------------------------------------------

const node = atom("app@10.42.0.7");
function printable(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = 32 + ((x >>> 16) % 95);
  }
  return out;
}
const b = (s: string) => Buffer.from(s);

function record(i: number): Map<Term, Term> {
  return new Map<Term, Term>([
    [b("id"), 1000 + i],
    [b("name"), b(`user-${i}`)],
    [b("email"), b(`user${i}@example.com`)],
    [b("active"), i % 2 === 0],
    [b("score"), float(i + 0.25)],
    [b("tags"), [b("admin"), b("beta"), b("eu-west")]],
    [b("address"), new Map<Term, Term>([[b("street"), b("Main St 1")], [b("city"), b("Lisbon")], [b("zip"), 1100]])],
    [b("logins"), [1, 2, 3, 5, 8, 13, 21]],
  ]);
}

function deep(levels: number): Term {
  let term: Term = [1, 2, 3];
  for (let i = 0; i < levels; i++) {
    term = i % 2 === 0 ? [term, i] : new Map<Term, Term>([[b("child"), term], [b("level"), i]]);
  }
  return term;
}

let intSeed = 7;
const ints = Array.from({ length: 100_000 }, (_, i) => {
  intSeed = (intSeed * 1103515245 + 12345) >>> 0;
  return i % 3 === 0 ? intSeed % 256 : (intSeed | 0);
});

interface Item {
  name: string;
  term: Term;
}

const corpus: Item[] = [
  {
    name: "small message tuple",
    term: new Tuple<Term>([
      atom("$gen_call"),
      new Tuple<Term>([new Pid(node, 117, 0, 3), new Reference(node, 3, [1, 2, 3])]),
      new Tuple<Term>([atom("get"), b("user:42"), 42]),
    ]),
  },
  { name: "map-heavy record", term: new Map<Term, Term>([[b("users"), Array.from({ length: 10 }, (_, i) => record(i))], [b("page"), 1]]) },
  { name: "list of 200 pids", term: Array.from({ length: 200 }, (_, i) => new Pid(node, i, 0, 3)) },
  { name: "1 MiB binary", term: printable(1 << 20, 42) },
  { name: "deep nested (100 levels)", term: deep(100) },
  { name: "100k integers", term: ints },
  { name: "10k floats", term: Array.from({ length: 10_000 }, (_, i) => float(i * 1.5 + 0.25)) }, // never integral: every codec can take them
];

// ---- adapters: each codec's own representation of a corpus term ------------------------------------------

class CannotRepresent extends Error {}

interface Codec {
  name: string;
  /** A one-line script decoding stdin with this codec: run in a child first, as a native decoder may abort the process. */
  probe: string;
  kind: string;
  /** Converts an erldist term into what this codec's encoder takes. */
  toNative(term: Term): unknown;
  encode(native: unknown): Buffer;
  decode(bytes: Buffer): unknown;
  /** What its decoder changes, if anything (said in the report). */
  decodeNote: string;
}

function utf8Text(bytes: Buffer): string {
  const text = bytes.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(bytes)) throw new CannotRepresent("binaries that are not UTF-8 text");
  return text;
}

/** erlpack and its fork take plain JS: strings become binaries, arrays lists, objects maps with binary keys. */
function toPlain(term: Term): unknown {
  if (typeof term === "number") {
    if (!Number.isInteger(term) || term < -(2 ** 31) || term >= 2 ** 31) throw new CannotRepresent("integers beyond 32 bits");
    return term;
  }
  if (typeof term === "boolean") return term;
  if (term instanceof Float) {
    if (Number.isInteger(term.value)) throw new CannotRepresent("integral floats");
    return term.value;
  }
  if (Buffer.isBuffer(term)) return utf8Text(term);
  if (Array.isArray(term)) return term.map(toPlain);
  if (term instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [k, v] of term) {
      if (!Buffer.isBuffer(k)) throw new CannotRepresent("map keys other than binaries");
      object[utf8Text(k)] = toPlain(v);
    }
    return object;
  }
  if (term instanceof Atom) throw new CannotRepresent("atoms");
  if (term instanceof Tuple) throw new CannotRepresent("tuples");
  throw new CannotRepresent(`${(term as object)?.constructor?.name ?? typeof term}s`);
}

function erlangJsCodec(): Codec {
  const { Erlang } = require("erlang_js");
  const sync = (fn: (arg: unknown, cb: (err: Error | null, value: unknown) => void) => void, arg: unknown) => {
    let result: unknown;
    let error: Error | null = null;
    fn(arg, (err, value) => ((error = err), (result = value)));
    if (error) throw error;
    return result;
  };
  const u32 = (n: number) => {
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(n);
    return buf;
  };
  const toNative = (term: Term): unknown => {
    if (typeof term === "number") {
      if (!Number.isInteger(term) || term < -(2 ** 31) || term >= 2 ** 31) throw new CannotRepresent("integers beyond 32 bits");
      return term;
    }
    if (typeof term === "boolean") return new Erlang.OtpErlangAtom(String(term), true);
    if (term instanceof Float) {
      if (Number.isInteger(term.value)) throw new CannotRepresent("integral floats");
      return term.value;
    }
    if (term instanceof Atom) return new Erlang.OtpErlangAtom(term.name, true);
    if (Buffer.isBuffer(term)) return new Erlang.OtpErlangBinary(term);
    if (Array.isArray(term)) return new Erlang.OtpErlangList(term.map(toNative));
    if (term instanceof Tuple) return term.elements.map(toNative);
    if (term instanceof Map) return new Map([...term].map(([k, v]) => [toNative(k), toNative(v)]));
    if (term instanceof Pid) {
      return new Erlang.OtpErlangPid(new Erlang.OtpErlangAtom(term.node.name, true), u32(term.id), u32(term.serial), u32(term.creation));
    }
    if (term instanceof Reference) {
      return new Erlang.OtpErlangReference(
        new Erlang.OtpErlangAtom(term.node.name, true),
        Buffer.concat(term.ids.map(u32)),
        u32(term.creation),
      );
    }
    throw new CannotRepresent(`${(term as object)?.constructor?.name ?? typeof term}s`);
  };
  return {
    name: "erlang_js",
    probe: "require('erlang_js').Erlang.binary_to_term(input, (e) => { if (e) throw e; })",
    kind: "pure JS",
    toNative,
    encode: (native) => sync(Erlang.term_to_binary, native) as Buffer,
    decode: (bytes) => sync(Erlang.binary_to_term, bytes),
    decodeNote: "wrapper objects; ids of pids and refs stay Buffers",
  };
}

/** erlpack and its fork share an API (pack/unpack of plain JS values). */
function erlpackCodec(name: string): Codec {
  const codec = require(name);
  return {
    name,
    probe: `require('${name}').unpack(input)`,
    kind: "native (C++)",
    toNative: toPlain,
    encode: (native) => codec.pack(native),
    decode: (bytes) => codec.unpack(bytes),
    decodeNote: "lossy: binaries become strings, tuples arrays, atoms strings",
  };
}

function codecs(): Codec[] {
  return [erlpackCodec("erlpack"), erlpackCodec("@yukikaze-bot/erlpack"), erlangJsCodec()];
}

/** Runs the codec's decoder on `bytes` in a child process; says how it failed, or undefined when it worked. */
function probeDecode(codec: Codec, bytes: Buffer): string | undefined {
  const script = `const input = require("fs").readFileSync(0); ${codec.probe};`;
  const child = spawnSync(process.execPath, ["-e", script], { input: bytes, cwd: benchDir, encoding: "utf8" });
  if (child.status === 0) return undefined;
  const lastError = child.stderr.split("\n").find((l) => /Error|error/.test(l))?.trim().slice(0, 60) ?? "";
  return child.signal ? `crashes the process (${child.signal}) ${lastError}` : `fails: ${lastError}`;
}
const benchDir = fileURLToPath(new URL(".", import.meta.url));

// ---- timing -----------------------------------------------------------------------------------------------

let sink: unknown;

/** Minor page faults per call in the last measure(): fresh memory is what large items cost most on some machines. */
let lastFaultsPerOp = 0;

/** ns per call: calibrate to minMs, then the best of three rounds (as etf_bench.erl does on the BEAM side). */
function measure(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) sink = fn(); // warm up
  let n = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = fn();
    const elapsed = Number(process.hrtime.bigint() - start);
    if (elapsed >= minMs * 1e6) break;
    n *= 2;
  }
  let best = Infinity;
  const faultsBefore = process.resourceUsage().minorPageFault;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  lastFaultsPerOp = (process.resourceUsage().minorPageFault - faultsBefore) / (3 * n);
  return best;
}

type Cell = number | string; // ns per op, or why there is no figure

function formatNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

function table(title: string, columns: string[], rows: Array<[string, ...Cell[]]>, baseline: number[]): string {
  const cells = rows.map(([name, ...values]) => [
    name,
    ...values.map((v, i) => (typeof v === "string" ? v : i === 0 ? formatNs(v) : `${(v / baseline[rows.findIndex((r) => r[0] === name)]).toFixed(2)}x`)),
  ]);
  const header = ["item", ...columns];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => String(r[i]).length)));
  const line = (r: string[]) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ");
  return [`\n${title}`, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
  requireErlang();
  compileFixtures();
  const epmd = await startEpmd();
  const beam = await BeamNode.start({ epmd });
  try {
    const otp = String.fromCharCode(...((await beam.eval("erlang:system_info(otp_release).")) as number[]));
    const list = codecs();
    console.log(`erldist codec benchmark: node ${process.version}, OTP ${otp}, ${minMs} ms per round, best of 3`);
    console.log("ratios are the other codec's time divided by erldist's: above 1.00x, erldist is faster");

    const encodeRows: Array<[string, ...Cell[]]> = [];
    const decodeRows: Array<[string, ...Cell[]]> = [];
    const encodeBase: number[] = [];
    const decodeBase: number[] = [];
    const notes = new Set<string>();
    const faults: string[] = [];
    for (const item of corpus) {
      // Decoders read what BEAM itself writes (term_to_binary/1 on this OTP), BEAM included.
      const bytes = (await beam.call("erlang", "term_to_binary", [item.term])) as Buffer;
      const enc = measure(() => encode(item.term));
      const encFaults = lastFaultsPerOp;
      const dec = measure(() => decode(bytes));
      faults.push(`${item.name}: ${encFaults.toFixed(1)} encoding, ${lastFaultsPerOp.toFixed(1)} decoding`);
      const ours = { enc, dec };
      const copying = measure(() => decode(bytes, { copyBinaries: true }));
      const encodeRow: [string, ...Cell[]] = [item.name, ours.enc];
      const decodeRow: [string, ...Cell[]] = [item.name, ours.dec, copying];
      for (const codec of list) {
        let native: unknown;
        try {
          native = codec.toNative(item.term);
          const theirs = codec.encode(native);
          if (!equals(decode(theirs), item.term)) throw new CannotRepresent("a different term (checked by decoding it)");
          encodeRow.push(measure(() => codec.encode(native)));
        } catch (err) {
          encodeRow.push(err instanceof CannotRepresent ? `n/a: ${err.message}` : `fails: ${(err as Error).message}`);
        }
        const failure = probeDecode(codec, bytes);
        if (failure === undefined) {
          decodeRow.push(measure(() => codec.decode(bytes)));
          notes.add(`${codec.name} decode: ${codec.decodeNote}`);
        } else {
          decodeRow.push(failure);
        }
      }
      const [beamEnc, beamDec] = (
        (await beam.call("etf_bench", "measure", [encode(item.term), minMs])) as Tuple
      ).elements.map(Number) as [number, number];
      encodeRow.push(beamEnc);
      decodeRow.push(beamDec);
      encodeRows.push(encodeRow);
      decodeRows.push(decodeRow);
      encodeBase.push(ours.enc);
      decodeBase.push(ours.dec);
      process.stdout.write(".");
    }
    const names = list.map((c) => `${c.name} (${c.kind})`);
    console.log(table("ENCODE", ["erldist", ...names, "BEAM term_to_binary"], encodeRows, encodeBase));
    console.log(table("DECODE", ["erldist", "erldist copyBinaries", ...names, "BEAM binary_to_term"], decodeRows, decodeBase));
    console.log("\nnotes:");
    console.log("- erldist decodes binaries as views of the input (no copy) by default; 'copyBinaries' copies them, as BEAM does.");
    console.log("- the 1 MiB binary is printable ASCII so that codecs which only take JS strings can represent it.");
    for (const note of notes) console.log(`- ${note}`);
    console.log(`- erldist's minor page faults per operation (fresh memory; each costs far more in a sandbox than on bare metal):`);
    for (const line of faults) console.log(`    ${line}`);
    summarize(encodeRows, decodeRows);
  } finally {
    await beam.stop();
    await epmd.stop();
    await stopAllChildren();
  }
}

/** Prints the two targets: >= 2x the fastest JS codec, and within 1.5x of BEAM (ratio >= 0.67). */
function summarize(encodeRows: Array<[string, ...Cell[]]>, decodeRows: Array<[string, ...Cell[]]>): void {
  console.log("\ntargets: erldist >= 2.00x faster than the fastest JS codec; BEAM ratio >= 0.67 (erldist within 1.5x of BEAM)");
  for (const [direction, rows, jsColumns, ourColumn] of [
    ["encode", encodeRows, [2, 3, 4], 1],
    ["decode", decodeRows, [3, 4, 5], 1],
  ] as const) {
    for (const row of rows) {
      const ours = row[ourColumn] as number;
      const js = jsColumns.map((c) => row[c]).filter((v): v is number => typeof v === "number");
      const fastest = js.length > 0 ? Math.min(...js) / ours : undefined;
      const beam = (row[row.length - 1] as number) / ours;
      console.log(
        `  ${direction} ${String(row[0]).padEnd(26)} vs fastest JS: ${fastest === undefined ? "none can" : `${fastest.toFixed(2)}x`}` +
          `  vs BEAM: ${beam.toFixed(2)}x${(fastest === undefined || fastest >= 2) && beam >= 1 / 1.5 ? "" : "  (short of target)"}`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
