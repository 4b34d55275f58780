// npm run bench:pubsub: broadcasts per second through Phoenix.PubSub, in one run on loopback. Two Elixir nodes A and
// B run the real Phoenix.PubSub (server Demo.PubSub, PG adapter, pool size 1), connected to each other, and erldist
// joins both. On one topic, with exactly one subscriber in each measurement:
//   1. Elixir -> JS: a process on A broadcasts N messages {n, I} with Phoenix.PubSub.broadcast/3 as fast as it
//      goes; timed from the first broadcast until the JS subscription has had all N;
//   2. JS -> Elixir: erldist broadcasts N messages, awaiting each broadcast's promise (as a sender that respects
//      backpressure does); a subscriber on A counts them; timed until it has all N;
//   3. the anchor, Elixir -> Elixir: a process on B broadcasts N messages; a subscriber on A counts them; timed
//      until all N arrived.
// Every receiver checks that each message arrived exactly once (a bitmap by I), and reports the count it reached if
// it stops making progress. The BEAM side (broadcaster and counter) is a module compiled for the run, not erl_eval.
// A short warm-up of each measurement comes first. Printed: the three rates and the two ratios to the anchor
// (above 1.00x, erldist is faster).
// Options: --messages=N (default 100000).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Node, Tuple, atom, tuple, type Atom, type PubSub, type Term } from "../src/index.js";
import type { BeamNode } from "../test/support/beam.js";
import { stopAllChildren } from "../test/support/children.js";
import { startEpmd, type Epmd } from "../test/support/epmd.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";
import { startPubSubNode } from "../test/support/phoenix.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const MESSAGES = arg("messages", 100_000);
const WARMUP = Math.min(MESSAGES, 5000);
/** A receiver that makes no progress for this long (checked twice) is reported as stalled. */
const STALL_MS = 5000;
/** After each measurement, how long to wait for anything more (a duplicate) before reading the final counts. */
const SETTLE_MS = 300;
const TOPIC = "bench:pubsub";
const TOPIC_BIN = Buffer.from(TOPIC, "utf8");
const PUBSUB = atom("Elixir.Demo.PubSub");
const N = atom("n");
const BENCH_MODULE = "pubsub_bench";

const now = () => Number(process.hrtime.bigint()) / 1000; // µs
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The BEAM side: a broadcaster and a counting subscriber, compiled on A and B for the run.
const BEAM_SOURCE = `
-module(${BENCH_MODULE}).
-export([broadcast/3, counter/4, wait/2, stats/1, stop/1]).

%% Spawns a process that broadcasts {n, 1} .. {n, N} on Topic with Phoenix.PubSub.broadcast/3, as fast as it goes.
broadcast(PubSub, Topic, N) ->
    spawn(fun() -> blast(PubSub, Topic, 1, N) end),
    ok.

blast(_, _, I, N) when I > N -> ok;
blast(PubSub, Topic, I, N) ->
    ok = 'Elixir.Phoenix.PubSub':broadcast(PubSub, Topic, {n, I}),
    blast(PubSub, Topic, I + 1, N).

%% A subscriber of Topic registered as Name, counting {n, I} (1 =< I =< N) by I: distinct, total, others.
counter(Name, PubSub, Topic, N) ->
    Self = self(),
    Pid = spawn(fun() ->
        register(Name, self()),
        ok = 'Elixir.Phoenix.PubSub':subscribe(PubSub, Topic),
        Self ! {subscribed, self()},
        count({PubSub, Topic}, atomics:new(N, []), N, 0, 0, 0, [])
    end),
    receive {subscribed, Pid} -> ok end.

count(Sub, Seen, N, D, T, O, Waiting) ->
    receive
        {n, I} when is_integer(I), I >= 1, I =< N ->
            D1 = case atomics:add_get(Seen, I, 1) of 1 -> D + 1; _ -> D end,
            Waiting1 = case D1 =:= N andalso D =/= N of
                           true -> [P ! {all, self()} || P <- Waiting], [];
                           false -> Waiting
                       end,
            count(Sub, Seen, N, D1, T + 1, O, Waiting1);
        {wait, From} when D =:= N ->
            From ! {all, self()},
            count(Sub, Seen, N, D, T, O, Waiting);
        {wait, From} ->
            count(Sub, Seen, N, D, T, O, [From | Waiting]);
        {stats, From} ->
            From ! {stats, self(), D, T, O},
            count(Sub, Seen, N, D, T, O, Waiting);
        stop ->
            {PubSub, Topic} = Sub,
            ok = 'Elixir.Phoenix.PubSub':unsubscribe(PubSub, Topic);
        _ ->
            count(Sub, Seen, N, D, T + 1, O + 1, Waiting)
    end.

%% ok once the counter Name has all N; {stalled, Distinct, Total, Others} if it stops making progress.
wait(Name, StallMs) ->
    Pid = whereis(Name),
    Pid ! {wait, self()},
    wait(Pid, StallMs, -1).

wait(Pid, StallMs, Last) ->
    receive
        {all, Pid} -> ok
    after StallMs ->
        {D, T, O} = stats(Pid),
        case D of
            Last -> {stalled, D, T, O};
            _ -> wait(Pid, StallMs, D)
        end
    end.

%% {Distinct, Total, Others} so far.
stats(Name) when is_atom(Name) -> stats(whereis(Name));
stats(Pid) ->
    Pid ! {stats, self()},
    receive {stats, Pid, D, T, O} -> {D, T, O} end.

%% Unsubscribes and ends the counter Name.
stop(Name) ->
    case whereis(Name) of
        undefined -> ok;
        Pid ->
            Ref = monitor(process, Pid),
            Pid ! stop,
            receive {'DOWN', Ref, process, Pid, _} -> ok end
    end.
`;

interface Context {
  a: BeamNode;
  b: BeamNode;
  pubsub: PubSub;
}

/** One measurement: its time and what the receiver counted. */
interface Outcome {
  micros: number;
  distinct: number;
  total: number;
  other: number;
  stalled: boolean;
}

async function main(): Promise<void> {
  requireErlang();
  compileFixtures();
  let epmd: Epmd | undefined;
  let a: BeamNode | undefined;
  let b: BeamNode | undefined;
  let node: Node | undefined;
  const dir = mkdtempSync(join(tmpdir(), "erldist-pubsub-bench-"));
  try {
    const source = join(dir, `${BENCH_MODULE}.erl`);
    writeFileSync(source, BEAM_SOURCE);
    epmd = await startEpmd();
    const started = await Promise.allSettled([startPubSubNode({ epmd }), startPubSubNode({ epmd })]);
    [a, b] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined));
    for (const s of started) if (s.status === "rejected") throw s.reason;
    const [beamA, beamB] = [a!, b!];
    for (const beam of [beamA, beamB]) {
      await beam.eval(
        `{ok, M, Bin} = compile:file(${JSON.stringify(source)}, [binary, return_errors]), ` +
          `{module, M} = code:load_binary(M, ${JSON.stringify(source)}, Bin), ok.`,
      );
    }
    await beamA.eval(`true = net_kernel:connect_node('${beamB.name}'), ok.`);
    node = await Node.start({ name: "pubsubbench@127.0.0.1", cookie: beamA.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
    for (const beam of [beamA, beamB]) await node.connect(beam.name);
    const pubsub = node.pubsub("Demo.PubSub");
    await node.pg("Elixir.Phoenix.PubSub").whenSynced({ timeout: 10_000 });
    // Every node's adapter group holds all three nodes, as seen from each: broadcasts from anywhere reach everyone.
    const everyone = `length(lists:usort([node(P) || P <- pg:get_members('Elixir.Phoenix.PubSub', 'Elixir.Demo.PubSub.Adapter')])) =:= 3.`;
    await until("the Demo.PubSub adapter group to hold A, B and erldist on every node", async () => {
      const seen = await Promise.all([beamA.eval(everyone), beamB.eval(everyone)]);
      return seen.every((v) => v === true) && pubsub.nodes().length === 3;
    });

    const ctx: Context = { a: beamA, b: beamB, pubsub };
    const failures: string[] = [];
    const check = (label: string, n: number, o: Outcome): void => {
      const duplicates = o.total - o.distinct - o.other;
      if (o.distinct === n && o.total === n && !o.stalled) return;
      failures.push(
        `${label}: ${o.distinct} of ${n} distinct, ${o.total} received (${duplicates} duplicates, ${o.other} other messages)` +
          (o.stalled ? `, stalled: no progress for ${STALL_MS / 1000} s` : ""),
      );
    };
    const measure = async (n: number, warm: boolean) => {
      const tag = warm ? " (warm-up)" : "";
      const js = await elixirToJs(ctx, n);
      check(`Elixir A -> JS subscriber${tag}`, n, js);
      const out = await jsToElixir(ctx, n);
      check(`JS broadcast -> subscriber on A${tag}`, n, out);
      const anchor = await anchorElixir(ctx, n);
      check(`Elixir B -> subscriber on A (anchor)${tag}`, n, anchor);
      return { js, out, anchor };
    };

    await measure(WARMUP, true);
    const { js, out, anchor } = await measure(MESSAGES, false);

    const anchorRate = rate(MESSAGES, anchor.micros);
    console.log("Phoenix.PubSub benchmark, loopback: Elixir -> Elixir against Elixir -> erldist and erldist -> Elixir, same run");
    console.log(
      `(Demo.PubSub, PG adapter, pool size 1; ${MESSAGES} broadcasts of {n, I} on one topic per measurement, one subscriber each, ` +
        `after a warm-up of ${WARMUP})`,
    );
    const line = (name: string, o: Outcome, ratio?: number) =>
      console.log(
        `  ${name.padEnd(42)} ${fmt(rate(MESSAGES, o.micros)).padStart(8)} broadcasts/s  (${(o.micros / 1000).toFixed(0)} ms)` +
          (ratio === undefined ? "" : `  ratio ${ratio.toFixed(2)}x  (above 1.00x, erldist is faster)`),
      );
    line("anchor: Elixir B -> subscriber on A", anchor);
    line("Elixir A -> JS subscriber", js, rate(MESSAGES, js.micros) / anchorRate);
    line("JS broadcast (awaited) -> subscriber on A", out, rate(MESSAGES, out.micros) / anchorRate);
    if (failures.length === 0) {
      console.log("every broadcast delivered exactly once, in every measurement: yes");
    } else {
      console.log("every broadcast delivered exactly once, in every measurement: NO");
      for (const failure of failures) console.log(`  ${failure}`);
      process.exitCode = 1;
    }
  } finally {
    await node?.stop().catch(() => undefined);
    await Promise.all([a?.stop(), b?.stop()]);
    await epmd?.stop();
    await stopAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 1. A process on A broadcasts n messages; the JS subscription counts them. */
async function elixirToJs(ctx: Context, n: number): Promise<Outcome> {
  const seen = new Uint8Array(n + 1);
  let distinct = 0;
  let total = 0;
  let other = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finish = resolve));
  const subscription = ctx.pubsub.subscribe(TOPIC, (message: Term) => {
    total++;
    const i = message instanceof Tuple && message.length === 2 && message.elements[0] === N ? message.elements[1] : undefined;
    if (typeof i !== "number" || !Number.isInteger(i) || i < 1 || i > n) {
      other++;
      return;
    }
    if (seen[i] !== 0) return;
    seen[i] = 1;
    if (++distinct === n) finish();
  });
  try {
    const start = now();
    await ctx.a.call(BENCH_MODULE, "broadcast", [PUBSUB, TOPIC_BIN, n]);
    const stalled = await doneOrStalled(all, () => distinct);
    const micros = now() - start;
    await sleep(SETTLE_MS);
    return { micros, distinct, total, other, stalled };
  } finally {
    subscription.unsubscribe();
  }
}

/** 2. erldist broadcasts n messages, awaiting each; a subscriber on A counts them. */
async function jsToElixir(ctx: Context, n: number): Promise<Outcome> {
  let resolved = 0;
  const send = async (): Promise<void> => {
    for (let i = 1; i <= n; i++) {
      await ctx.pubsub.broadcast(TOPIC, tuple(N, i));
      resolved = i;
    }
  };
  return withCounter(ctx, n, async (name) => {
    // A broadcast whose promise never settles would hang the loop: reported, with what A had by then.
    if (await doneOrStalled(send(), () => resolved)) {
      const [distinct, total, other] = (await counterStats(ctx, name)).map(String);
      throw new Error(
        `JS broadcast stalled: ${resolved} of ${n} broadcasts resolved, the next has not settled for ${STALL_MS / 1000} s; ` +
          `the subscriber on A has ${distinct} distinct, ${total} received, ${other} other messages`,
      );
    }
  });
}

/** 3. The anchor: a process on B broadcasts n messages; a subscriber on A counts them. */
async function anchorElixir(ctx: Context, n: number): Promise<Outcome> {
  return withCounter(ctx, n, async () => {
    await ctx.b.call(BENCH_MODULE, "broadcast", [PUBSUB, TOPIC_BIN, n]);
  });
}

let counters = 0;

/** Times `send` until a fresh counting subscriber on A has all n (or stalls), then reads its final counts. */
async function withCounter(ctx: Context, n: number, send: (name: Atom) => Promise<void>): Promise<Outcome> {
  const name = atom(`pubsub_bench_counter_${++counters}`);
  await ctx.a.call(BENCH_MODULE, "counter", [name, PUBSUB, TOPIC_BIN, n]);
  try {
    const start = now();
    await send(name);
    const waited = await ctx.a.call(BENCH_MODULE, "wait", [name, STALL_MS]);
    const micros = now() - start;
    await sleep(SETTLE_MS);
    const [distinct, total, other] = await counterStats(ctx, name);
    return { micros, distinct, total, other, stalled: waited !== atom("ok") };
  } finally {
    await ctx.a.call(BENCH_MODULE, "stop", [name]);
  }
}

/** [distinct, total, other] of the counter `name` on A. */
async function counterStats(ctx: Context, name: Atom): Promise<number[]> {
  return ((await ctx.a.call(BENCH_MODULE, "stats", [name])) as Tuple).elements as number[];
}

/**
 * false once `all` resolves; true if `progress` has not moved for STALL_MS (checked every STALL_MS); rejects if
 * `all` does.
 */
function doneOrStalled(all: Promise<void>, progress: () => number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let last = -1;
    const timer = setInterval(() => {
      const p = progress();
      if (p === last) {
        clearInterval(timer);
        resolve(true);
      }
      last = p;
    }, STALL_MS);
    all.then(
      () => {
        clearInterval(timer);
        resolve(false);
      },
      (err: unknown) => {
        clearInterval(timer);
        reject(err);
      },
    );
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function rate(count: number, micros: number): number {
  return (count / micros) * 1e6;
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
