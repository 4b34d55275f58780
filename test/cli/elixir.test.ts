// The command's --elixir against a real Elixir node of the release under test: eval and rpc take Elixir syntax,
// evaluated there, and print with that node's own inspect (so each Elixir version's output is expected, not
// pinned: 1.14 writes charlists 'abc', 1.18 ~c"abc"); syntax errors, exceptions and compile errors are one line;
// and a node without Elixir says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, tuple, type Encodable, type Term, Tuple } from "../../src/etf/index.js";
import { iolistToString } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { runCli } from "../support/cli.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd | undefined;
let elixir: BeamNode;
let erl: BeamNode;
let env: Record<string, string>;

beforeAll(async () => {
  epmd = await startEpmd();
  [elixir, erl] = await Promise.all([BeamNode.start({ epmd, alive: "clielixir", elixir: true }), BeamNode.start({ epmd, alive: "clierl" })]);
  env = { ERL_EPMD_PORT: String(epmd.port), ERLANG_COOKIE: elixir.cookie };
});

afterAll(async () => {
  await Promise.all([elixir?.stop(), erl?.stop()]);
  await epmd?.stop();
});

/** Evaluates Elixir on the peer (Code.eval_string) and returns the value. */
async function ex(source: string): Promise<Term> {
  return ((await elixir.call("Elixir.Code", "eval_string", [source])) as Tuple).elements[0];
}

/** How the peer's Elixir inspects the value of `source`, with the options the command uses. */
async function inspected(source: string): Promise<string> {
  const options = [tuple(atom("pretty"), true), tuple(atom("limit"), atom("infinity")), tuple(atom("printable_limit"), atom("infinity"))];
  return iolistToString(await elixir.call("Elixir.Kernel", "inspect", [(await ex(source)) as Encodable, options]));
}

/** Each error of the command is one line, without a stack trace. */
function oneLine(stderr: string): string {
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  return stderr.trimEnd();
}

describe("erldist eval --elixir", () => {
  it("evaluates Elixir on the node and prints the value as its inspect does", async () => {
    for (const source of ["Enum.map(1..3, &(&1 * 2))", '%{name: "José", tags: [:a, :"b c"], chars: ~c"abc", t: {1, 2.5}}', '"日本 " <> String.upcase("josé")', "Enum.to_list(1..40)"]) {
      const result = await runCli(["eval", "--elixir", elixir.name, source], env);
      expect([result.code, result.stdout, result.stderr], source).toEqual([0, `${await inspected(source)}\n`, ""]);
    }
  });

  it("shows what the code prints, and the value after it", async () => {
    const result = await runCli(["eval", "--elixir", elixir.name, 'IO.puts("héllo 日本"); node()'], env);
    expect(result.stdout).toBe(`héllo 日本\n${await inspected("node()")}\n`);
  });

  it("a syntax error, an exception and a compile error are one line each, with the peer's own words", async () => {
    const syntax = await runCli(["eval", "--elixir", elixir.name, "[1,"], env);
    expect(syntax.code).toBe(1);
    expect(oneLine(syntax.stderr)).toMatch(/^erldist eval: cannot parse the Elixir code: nofile:1(:\d+)?: missing terminator: \]/);

    const raised = await runCli(["eval", "--elixir", elixir.name, 'raise ArgumentError, "nope"'], env);
    expect(raised.code).toBe(1);
    expect(oneLine(raised.stderr)).toBe("erldist eval: ** (ArgumentError) nope");

    // The peer's banner for the same exception, whatever its Elixir version writes.
    const banner = iolistToString(await ex("try do 1 / 0 rescue e -> Exception.format_banner(:error, e, __STACKTRACE__) end"));
    const arith = await runCli(["eval", "--elixir", elixir.name, "x = 0; 1 / x"], env);
    expect(oneLine(arith.stderr)).toBe(`erldist eval: ${banner.replace(/\s*\n\s*/g, " ")}`);

    // An undefined variable: Elixir 1.14 raises a CompileError saying so; 1.15+ logs the error and raises "cannot
    // compile", and the command shows the logged error (collected with Code.with_diagnostics) instead.
    const compile = await runCli(["eval", "--elixir", elixir.name, "undefined_thing + 1"], env);
    expect(compile.code).toBe(1);
    expect(oneLine(compile.stderr)).toMatch(/^erldist eval: \*\* \(CompileError\) .*undefined_thing/);
  });

  it("--all with --elixir: one line per node", async () => {
    const result = await runCli(["eval", "--all", "--elixir", "--static", elixir.name, "1 + 1"], env);
    expect([result.code, result.stdout]).toEqual([0, `${elixir.name}: 2\n`]);
  });

  it("says so when the node runs no Elixir", async () => {
    const result = await runCli(["eval", "--elixir", erl.name, "1 + 1"], env);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(new RegExp(`^erldist eval: --elixir needs Elixir on ${erl.name.replace(/\./g, "\\.")}, .*is it an Elixir node\\?`));
  });
});

describe("erldist rpc --elixir", () => {
  it("takes the module as Elixir names it and the arguments as one Elixir list; prints with inspect", async () => {
    const sum = await runCli(["rpc", "--elixir", elixir.name, "Enum", "sum", "[[1, 2, 3]]"], env);
    expect([sum.code, sum.stdout, sum.stderr]).toEqual([0, `${await inspected("Enum.sum([1, 2, 3])")}\n`, ""]);
    const upcase = await runCli(["rpc", "--elixir", elixir.name, "String", "upcase", '["josé 日本"]'], env);
    expect(upcase.stdout).toBe(`${await inspected('String.upcase("josé 日本")')}\n`);
    const erlang = await runCli(["rpc", "--elixir", elixir.name, ":lists", "reverse", "[[1, 2, 3]]"], env);
    expect(erlang.stdout).toBe(`${await inspected(":lists.reverse([1, 2, 3])")}\n`);
    const nested = await runCli(["rpc", "--elixir", elixir.name, "Map", "put", '[%{}, :key, {"v", 1..2}]'], env);
    expect(nested.stdout).toBe(`${await inspected('Map.put(%{}, :key, {"v", 1..2})')}\n`);
  });

  it("a failed call is one line in Elixir syntax: the exception and where it was raised", async () => {
    const result = await runCli(["rpc", "--elixir", elixir.name, "ErldistPeer", "fail", '["bad input"]'], env);
    expect(result.code).toBe(1);
    const line = oneLine(result.stderr);
    expect(line).toMatch(/^erldist rpc: rpc ErldistPeer\.fail\/1 on clielixir@127\.0\.0\.1 failed: %ArgumentError\{message: "bad input"\} at ErldistPeer\.fail\/1 \(\S+erldist_peer\.ex:\d+\); badrpc reason: \{:EXIT, /);
    const notList = await runCli(["rpc", "--elixir", elixir.name, "Enum", "sum", "1"], env);
    expect([notList.code, oneLine(notList.stderr)]).toEqual([2, "erldist rpc: the arguments must be one Elixir list, e.g. '[[1, 2, 3]]', not 1"]);
  });
});
