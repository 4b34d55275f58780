// npm run bench:backpressure: a soak of a paused peer (about a minute with the defaults). A BEAM node P is stopped
// with SIGSTOP while erldist sends to it, four senders that await each send and one that does not, and while a BEAM
// node A does the same (a sender with plain `!`, which BEAM suspends on a busy dist port, and one with
// erlang:send/3 [nosuspend]): A is the anchor, measured in the same run. Two pauses:
//   1. half of net_ticktime, then SIGCONT: every send that resolved must arrive, in order;
//   2. twice net_ticktime: the connection is declared down; every send must settle, and the time to nodedown is
//      compared with BEAM's own.
// Reported: erldist's largest RSS growth (target: under maxQueuedBytes + 64 MiB) against A's memory growth, sends
// held and refused, unhandled rejections (target: none), delivered and in order, time to nodedown.
// Options: --ticktime=S (default 10), --payload=BYTES (default 1024).
import { Atom, atom, tuple, type Term, type Tuple } from "../src/etf/index.js";
import { DEFAULT_MAX_QUEUED_BYTES } from "../src/dist/index.js";
import { Node } from "../src/node/index.js";
import { BeamNode } from "../test/support/beam.js";
import { stopAllChildren } from "../test/support/children.js";
import { startEpmd } from "../test/support/epmd.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const TICKTIME = arg("ticktime", 10);
const PAYLOAD = Buffer.alloc(arg("payload", 1024), 7);
const AWAITING_SENDERS = 4;
const MiB = 1024 * 1024;

let unhandled = 0;
process.on("unhandledRejection", () => void unhandled++);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

interface PhaseResult {
  rssGrowth: number;
  anchor: Map<string, Term>;
  resolved: Map<string, number[]>; // per erldist stream: the sequence numbers whose send resolved, in order
  rejected: number;
  refused: number;
  nodedownMs: number | undefined;
}

async function main(): Promise<void> {
  requireErlang();
  compileFixtures();
  const epmd = await startEpmd();
  const args = ["-kernel", "net_ticktime", String(TICKTIME)];
  const [paused, anchorNode] = await Promise.all([BeamNode.start({ epmd, args }), BeamNode.start({ epmd, args })]);
  const node = await Node.start({ name: "bpbench@127.0.0.1", cookie: paused.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1", tickTime: TICKTIME });
  try {
    await paused.eval("backpressure_sink:start(bp_sink).");
    await anchorNode.eval(`pong = net_adm:ping('${paused.name}'), ok.`);
    console.log(`erldist and BEAM against a paused BEAM node (SIGSTOP), net_ticktime ${TICKTIME} s, ${PAYLOAD.length}-byte messages`);
    console.log(`erldist: busyLimit 1 MiB, maxQueuedBytes ${mib(DEFAULT_MAX_QUEUED_BYTES)}; BEAM: +zdbbl 1 MiB\n`);

    const first = await phase(node, paused, anchorNode, "short", (TICKTIME * 1000) / 2, false);
    const seqs = (await paused.call("backpressure_sink", "seqs", [atom("bp_sink")])) as Tuple[];
    const delivered = new Map<string, number[]>();
    for (const seq of seqs) {
      const [tag, n] = seq.elements as [Term, number];
      if (!(tag instanceof Atom)) continue; // the anchor's own messages
      if (!delivered.has(tag.name)) delivered.set(tag.name, []);
      delivered.get(tag.name)!.push(n);
    }
    let allDelivered = true;
    for (const [stream, sent] of first.resolved) {
      const got = delivered.get(stream) ?? [];
      // Every resolved send arrived, in order (a fire-and-forget stream's refused sends are simply not in it).
      if (got.length !== sent.length || got.some((n, i) => n !== sent[i])) allDelivered = false;
    }
    report("1. paused for half of net_ticktime, then resumed", first, { allDelivered });

    const second = await phase(node, paused, anchorNode, "long", TICKTIME * 2000, true);
    report("2. paused for twice net_ticktime (declared down)", second, {});

    const cap = DEFAULT_MAX_QUEUED_BYTES + 64 * MiB;
    const worst = Math.max(first.rssGrowth, second.rssGrowth);
    console.log(`\ntargets: RSS growth ${mib(worst)} < ${mib(cap)}: ${worst < cap ? "met" : "MISSED"}; unhandled rejections ${unhandled}: ${unhandled === 0 ? "met" : "MISSED"}`);
  } finally {
    try {
      if (paused.pid) process.kill(paused.pid, "SIGCONT");
    } catch {
      // gone
    }
    await node.stop();
    await Promise.all([paused.stop(), anchorNode.stop()]);
    await epmd.stop();
    await stopAllChildren();
  }
}

async function phase(node: Node, paused: BeamNode, anchorNode: BeamNode, label: string, pauseMs: number, untilDown: boolean): Promise<PhaseResult> {
  await node.connect(paused.name);
  const baseRss = process.memoryUsage().rss;
  let maxRss = baseRss;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 50);
  const anchor = await anchorNode.eval(`backpressure_sink:anchor_start({bp_sink, '${paused.name}'}, ${label}, ${PAYLOAD.length}).`);
  const before = node.stats();
  let stop = false;
  let nodedownMs: number | undefined;
  const stoppedAt = Date.now();
  const downs: string[] = []; // every nodedown of the phase, with its reason
  let onDown: (name: string, reason: Error) => void = () => undefined;
  const down = new Promise<void>((resolve) => {
    onDown = (name, reason) => {
      downs.push(`${name}: ${reason.message}`);
      if (name !== paused.name || (reason as { code?: string }).code !== "timeout") return;
      nodedownMs = Date.now() - stoppedAt;
      resolve();
    };
    node.on("nodedown", onDown);
  });
  process.kill(paused.pid!, "SIGSTOP");

  const resolved = new Map<string, number[]>();
  let rejected = 0;
  const awaiting = Array.from({ length: AWAITING_SENDERS }, async (_, s) => {
    const stream = `${label}_waiting_${s}`;
    const sent: number[] = [];
    resolved.set(stream, sent);
    const p = node.spawn();
    for (let i = 1; !stop; i++) {
      try {
        await p.send(["bp_sink", paused.name], tuple(atom("seq"), tuple(atom(stream), i), PAYLOAD));
        sent.push(i);
      } catch {
        rejected++;
        return;
      }
    }
  });
  const fireAndForget = (async () => {
    const stream = `${label}_nowait`;
    const sent: number[] = [];
    resolved.set(stream, sent);
    const p = node.spawn();
    let outstanding = 0;
    let settledAll: (() => void) | undefined;
    const settle = (): void => {
      if (--outstanding === 0) settledAll?.();
    };
    for (let i = 1; !stop; ) {
      for (let batch = 0; batch < 500 && !stop; batch++, i++) {
        const n = i;
        outstanding++;
        p.send(["bp_sink", paused.name], tuple(atom("seq"), tuple(atom(stream), n), PAYLOAD)).then(
          () => (sent.push(n), settle()),
          () => (rejected++, settle()),
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (outstanding > 0) await new Promise<void>((resolve) => (settledAll = resolve));
    sent.sort((a, b) => a - b); // settled in order of writing, which is the order sent; sorted to compare
  })();

  if (untilDown) {
    await down;
    // And BEAM's own verdict: the anchor node declares the paused one down too.
    for (let waited = 0; waited < TICKTIME * 1500; waited += 100) {
      if (!(await anchorNode.eval(`lists:member('${paused.name}', nodes()).`))) break;
      await sleep(100);
    }
  } else {
    await sleep(pauseMs);
  }
  stop = true;
  // The anchor's figures are taken at the end of the pause, before it sends on to the resumed node.
  const anchorReport = (await anchorNode.call("backpressure_sink", "anchor_report", [anchor as never])) as Map<Term, Term>;
  clearInterval(sampler);
  process.kill(paused.pid!, "SIGCONT");
  await Promise.all([...awaiting, fireAndForget]);
  const anchorByName = new Map<string, Term>([...anchorReport].map(([k, v]) => [(k as { name: string }).name, v]));
  node.off("nodedown", onDown);
  if (downs.length > (untilDown ? 1 : 0)) console.log(`  (${label}: nodedown ${downs.join("; ")})`);
  // Let the sink catch up, and let both sides hear from each other for a tick interval, so that the silence the
  // next pause measures starts with it.
  await node.connect(paused.name);
  await anchorNode.eval(`pong = net_adm:ping('${paused.name}'), ok.`);
  await node.ping(paused.name);
  await sleep((TICKTIME * 1000) / 4 + 500);
  await node.ping(paused.name);
  const after = node.stats();
  return {
    rssGrowth: maxRss - baseRss,
    anchor: anchorByName,
    resolved,
    rejected,
    refused: after.sendsRefused - before.sendsRefused,
    nodedownMs,
  };
}

function report(title: string, result: PhaseResult, extra: { allDelivered?: boolean }): void {
  const sent = [...result.resolved.values()].reduce((sum, list) => sum + list.length, 0);
  const anchorGrowth = Number(result.anchor.get("max_growth"));
  const anchorDown = result.anchor.get("nodedown_ms");
  console.log(title);
  console.log(`  erldist: max RSS growth ${mib(result.rssGrowth)}; ${sent} sends resolved, ${result.rejected} rejected (${result.refused} refused as busy)`);
  console.log(
    `  BEAM:    max memory growth ${mib(anchorGrowth)}; ${result.anchor.get("sent")} sent by the waiting sender, ` +
      `${result.anchor.get("nosuspend_sent")} nosuspend sends accepted, ${result.anchor.get("refused")} refused`,
  );
  if (extra.allDelivered !== undefined) console.log(`  every resolved erldist send delivered, in order: ${extra.allDelivered ? "yes" : "NO"}`);
  if (result.nodedownMs !== undefined) {
    const beam = typeof anchorDown === "number" ? anchorDown : undefined;
    console.log(`  time to nodedown: erldist ${(result.nodedownMs / 1000).toFixed(1)} s, BEAM ${beam === undefined ? "n/a" : `${(beam / 1000).toFixed(1)} s`}` + (beam ? ` (ratio ${(result.nodedownMs / beam).toFixed(2)}x)` : ""));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
