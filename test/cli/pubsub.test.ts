// erldist subscribe and erldist broadcast, run as a user runs them (the built command in a child process), against
// two Elixir nodes running the real Phoenix.PubSub: messages an Elixir node broadcasts print one per line as the
// peer's ~tp and inspect write them (the topic first when there are several), --count and SIGTERM end cleanly, a
// broadcast (Erlang or Elixir syntax) reaches the Elixir subscribers, and a PubSub that runs nowhere is an error
// that names the ones that do.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Term } from "../../src/etf/index.js";
import { iolistToString } from "../../src/node/index.js";
import type { BeamNode } from "../support/beam.js";
import { runCli, startCli, type CliProcess } from "../support/cli.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { startPubSubNode } from "../support/phoenix.js";

let epmd: Epmd;
let a: BeamNode;
let b: BeamNode;
let env: Record<string, string>;
let both: string; // --static's value: both Elixir nodes

beforeAll(async () => {
  epmd = await startEpmd();
  [a, b] = await Promise.all([startPubSubNode({ epmd, alive: "psa" }), startPubSubNode({ epmd, alive: "psb" })]);
  env = { ERL_EPMD_PORT: String(epmd.port), ERLANG_COOKIE: a.cookie };
  both = `${a.name},${b.name}`;
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await epmd?.stop();
});

/** Waits until the command says on stderr that its subscription is in place on the nodes. */
async function subscribed(cli: CliProcess): Promise<void> {
  await vi.waitFor(() => expect(cli.stderr()).toMatch(/^subscribed to /m), { timeout: 30_000, interval: 50 });
}

/** Broadcasts each Erlang term on `topic` from `beam`, in order, from one process (so they arrive in that order). */
async function broadcastFrom(beam: BeamNode, messages: Array<[topic: string, erlangTerm: string]>): Promise<void> {
  const calls = messages.map(([topic, term]) => `ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"${topic}">>, ${term})`);
  await beam.eval(`${calls.join(", ")}, ok.`);
}

/** What the peer prints for an Erlang term: ~tp (one line for these short terms), or Elixir's inspect. */
async function peerPrints(beam: BeamNode, erlangTerm: string, syntax: "erlang" | "elixir"): Promise<string> {
  const call = syntax === "erlang" ? `io_lib:format("~tp", [${erlangTerm}])` : `'Elixir.Kernel':inspect(${erlangTerm})`;
  return iolistToString((await beam.eval(`${call}.`)) as Term);
}

/** An Elixir subscriber on `beam` registered as `name`, keeping what arrives on `topic` (read back with got/2). */
async function elixirSubscriber(beam: BeamNode, topic: string, name: string): Promise<void> {
  await beam.eval(
    `Self = self(), register(${name}, spawn(fun() -> ok = 'Elixir.Phoenix.PubSub':subscribe('Elixir.Demo.PubSub', <<"${topic}">>), ` +
      `Self ! ready, (fun Loop(Got) -> receive {get, From} -> From ! {got, lists:reverse(Got)}, Loop(Got); M -> Loop([M | Got]) end end)([]) end)), ` +
      "receive ready -> ok end.",
  );
}

/** Whether what `name` received on `beam` is exactly the Erlang list `expected` (compared there, with =:=). */
async function gotExactly(beam: BeamNode, name: string, expected: string): Promise<boolean> {
  return (await beam.eval(`${name} ! {get, self()}, receive {got, L} -> L =:= ${expected} after 5000 -> timeout end.`)) === true;
}

const TERMS = [`{hello, <<"José"/utf8>>, [1,2,3], 'Quoted atom'}`, `#{count => 2, tags => [a, b]}`];

describe("erldist subscribe", () => {
  it("prints each message an Elixir node broadcasts as ~tp writes it there, one per line; --count 2 exits 0", async () => {
    const cli = startCli(["subscribe", "--pubsub", "Demo.PubSub", "--static", both, "--count", "2", "room:cli"], env);
    await subscribed(cli);
    expect(cli.stderr()).toContain(`subscribed to "room:cli" of Demo.PubSub on 2 nodes: ${[a.name, b.name].sort().join(", ")}`);
    await broadcastFrom(a, TERMS.map((term) => ["room:cli", term]));
    const result = await cli.exited;
    const expected = await Promise.all(TERMS.map((term) => peerPrints(a, term, "erlang")));
    expect(expected[0]).toBe(`{hello,<<"José"/utf8>>,[1,2,3],'Quoted atom'}`);
    expect([result.code, result.stdout]).toEqual([0, expected.map((line) => `${line}\n`).join("")]);
  });

  it("--elixir prints as inspect/1 there (structs' fields in their module's order), each line's topic first with several topics", async () => {
    const cli = startCli(["subscribe", "--pubsub", "Demo.PubSub", "--static", both, "--elixir", "--count", "3", "room:x", "room:y"], env);
    await subscribed(cli);
    const point = "'Elixir.Point':new(1, 2)"; // a struct of the fixtures: its map's keys travel sorted, not as defined
    await broadcastFrom(b, [["room:y", TERMS[0]], ["room:x", TERMS[1]], ["room:x", point]]);
    const result = await cli.exited;
    const expected = await Promise.all([...TERMS, point].map((term) => peerPrints(b, term, "elixir")));
    expect(expected[0]).toBe(`{:hello, "José", [1, 2, 3], :"Quoted atom"}`);
    expect(expected[2]).toBe("%Point{x: 1, y: 2, label: nil}");
    expect([result.code, result.stdout]).toEqual([0, `room:y: ${expected[0]}\nroom:x: ${expected[1]}\nroom:x: ${expected[2]}\n`]);
  });

  it("runs until SIGTERM, then leaves the PubSub's groups and exits 0", async () => {
    const cli = startCli(["subscribe", "--pubsub", "Demo.PubSub", "--static", a.name, "room:until"], env);
    await subscribed(cli);
    const members = `length(pg:get_members('Elixir.Phoenix.PubSub', 'Elixir.Demo.PubSub.Adapter')).`;
    await expect.poll(() => a.eval(members), { timeout: 10_000 }).toBe(2); // a's own worker and the command's listener
    await broadcastFrom(a, [["room:until", "one"]]);
    await vi.waitFor(() => expect(cli.stdout()).toBe("one\n"), { timeout: 10_000, interval: 50 });
    const result = await cli.stop("SIGTERM");
    expect([result.code, result.stdout]).toEqual([0, "one\n"]);
    await expect.poll(() => a.eval(members), { timeout: 10_000 }).toBe(1);
  });

  it("says what is wrong with its command line (exit 2)", async () => {
    const noPubSub = await runCli(["subscribe", "--static", a.name, "room:x"], env);
    expect([noPubSub.code, noPubSub.stderr]).toEqual([2, expect.stringContaining("subscribe needs --pubsub <Name>")]);
    const noTopic = await runCli(["subscribe", "--pubsub", "Demo.PubSub", "--static", a.name], env);
    expect([noTopic.code, noTopic.stderr]).toEqual([2, expect.stringContaining("subscribe needs at least one topic")]);
    const badCount = await runCli(["subscribe", "--pubsub", "Demo.PubSub", "--static", a.name, "--count", "0", "t"], env);
    expect([badCount.code, badCount.stderr]).toEqual([2, expect.stringContaining("--count takes a number of messages (1 or more), not '0'")]);
  });
});

describe("erldist broadcast", () => {
  it("reaches the Elixir subscribers on every node running the PubSub, and says how many nodes", async () => {
    await elixirSubscriber(a, "room:bc", "sub_bc");
    await elixirSubscriber(b, "room:bc", "sub_bc");
    const result = await runCli(["broadcast", "--pubsub", "Demo.PubSub", "--static", both, "room:bc", `{from_cli, <<"José"/utf8>>, [1,2]}`], env);
    expect([result.code, result.stdout, result.stderr]).toEqual([0, `reached 2 nodes: ${[a.name, b.name].sort().join(", ")}\n`, ""]);
    for (const beam of [a, b]) expect(await gotExactly(beam, "sub_bc", `[{from_cli, <<"José"/utf8>>, [1,2]}]`)).toBe(true);
  });

  it("--elixir: the term is Elixir code, evaluated on a node that runs the PubSub", async () => {
    await elixirSubscriber(a, "room:ex", "sub_ex");
    const result = await runCli(["broadcast", "--pubsub", "Elixir.Demo.PubSub", "--static", a.name, "--elixir", "room:ex", `%{body: "hi", n: Enum.sum([1, 2])}`], env);
    expect([result.code, result.stdout]).toEqual([0, `reached 1 node: ${a.name}\n`]);
    expect(await gotExactly(a, "sub_ex", `[#{body => <<"hi">>, n => 3}]`)).toBe(true);
  });

  it("a PubSub that runs nowhere: exit 1, naming the PubSub servers that do run", async () => {
    const result = await runCli(["broadcast", "--pubsub", "Nowhere.PubSub", "--static", both, "room:bc", "ok"], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `erldist broadcast: no node runs the PubSub Nowhere.PubSub: 2 of the 2 connected nodes (${[a.name, b.name].sort().join(", ")}) run ` +
        "Phoenix.PubSub, and the PubSub servers there are Demo.PubSub; check --pubsub (the name the app gives it, as in {Phoenix.PubSub, name: MyApp.PubSub})\n",
    );
  });

  it("a term that does not parse is a one-line error (exit 1)", async () => {
    const result = await runCli(["broadcast", "--pubsub", "Demo.PubSub", "--static", a.name, "room:bc", "{unclosed"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^erldist broadcast: '\{unclosed' is not an Erlang term/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});
