// npm run bench:dist: the same workloads between two BEAM nodes on loopback and between erldist and a BEAM node,
// in one run, printed as ratios: one-way small-message rate each way, sequential round-trip latency (an echo
// process), and 64 MiB of 1 MiB binaries (MB/s); then the small messages each way and the round trips again with
// 8 concurrent sender/receiver pairs (rates over all pairs); and erldist's own CPU time per operation, which
// compares one version of erldist with another even on a busy machine.
// Options: --messages=N (default 200000), --roundtrips=N (default 5000), --tls (every node on TLS distribution:
// erl with -proto_dist inet_tls and a mutual-verification option file, erldist with that option file; the anchor
// is then BEAM -> BEAM over TLS).
import { Tuple, atom, encode as encodeTerm, tuple, type Term } from "../src/etf/index.js";
import { Node } from "../src/node/index.js";
import { BeamNode } from "../test/support/beam.js";
import { stopAllChildren } from "../test/support/children.js";
import { startEpmd } from "../test/support/epmd.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";
import { TestPki } from "../test/support/tls.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const MESSAGES = arg("messages", 200_000);
const ROUNDTRIPS = arg("roundtrips", 5000);
const BULK_COUNT = 64;
const BULK_SIZE = 1 << 20;
const PAIRS = 8;
const TLS = process.argv.includes("--tls");

const now = () => Number(process.hrtime.bigint()) / 1000; // µs

async function main(): Promise<void> {
  requireErlang();
  compileFixtures();
  const epmd = await startEpmd();
  // With --tls: a CA and one certificate per node (SANs IP and DNS 127.0.0.1, as OTP 25 checks the DNS form).
  const pki = TLS ? TestPki.create() : undefined;
  const ca = pki?.ca("bench-ca");
  const optFile = (name: string) => pki!.optFile(name, ca!.issue(name, { ips: ["127.0.0.1"], dns: ["127.0.0.1"] }), ca!.certFile);
  const beamArgs = (name: string) => (TLS ? ["-proto_dist", "inet_tls", "-ssl_dist_optfile", optFile(name)] : []);
  const [a, b] = await Promise.all([BeamNode.start({ epmd, args: beamArgs("a") }), BeamNode.start({ epmd, args: beamArgs("b") })]);
  const node = await Node.start({
    name: "distbench@127.0.0.1",
    cookie: a.cookie,
    epmd: { port: epmd.port },
    listenHost: "127.0.0.1",
    tls: TLS ? { optFile: optFile("erldist") } : undefined,
  });
  try {
    await b.eval("dist_bench:echo(), ok.");
    await a.eval(`pong = net_adm:ping('${b.name}'), ok.`);
    await node.connect(b.name);
    const rows: Array<[string, number, number, string, boolean]> = []; // name, beam, erldist, unit, higher is better
    // erldist's own CPU time per operation (this process's user + system): far steadier than rates on a machine
    // shared with other work, so it is what shows a change in erldist's cost from one version to the next.
    const cpu: Array<[string, number]> = [];
    let cpuAt = process.cpuUsage();
    const cpuPer = (name: string, count: number): void => {
      const used = process.cpuUsage(cpuAt);
      cpu.push([name, (used.user + used.system) / count]);
    };

    // 1. one-way small messages, sender -> B
    const beamOut = (await a.eval(`dist_bench:timed_blast(c1, '${b.name}', ${MESSAGES}, x).`)) as number;
    const p = node.spawn();
    await b.eval(`dist_bench:counter(c2, ${MESSAGES}, binary_to_term(<<${[...encodePid(p)].join(",")}>>)), ok.`);
    let start = now();
    cpuAt = process.cpuUsage();
    for (let i = 1; i <= MESSAGES; i++) await p.send(["c2", b.name], tuple(atom("n"), i));
    await p.receive((m) => m instanceof Tuple && m.elements[0] === atom("done"), { timeout: 120_000 });
    const oursOut = now() - start;
    cpuPer("send, per message", MESSAGES);
    rows.push(["messages/s, sender -> BEAM", rate(MESSAGES, beamOut), rate(MESSAGES, oursOut), "msg/s", true]);

    // 2. one-way small messages, B -> receiver
    const beamIn = (await b.eval(`dist_bench:timed_blast(c3, '${a.name}', ${MESSAGES}, x).`)) as number;
    const sink = node.spawn();
    node.register("c4", sink);
    start = now();
    cpuAt = process.cpuUsage();
    await b.eval(`dist_bench:blast({c4, '${node.name}'}, ${MESSAGES}, 1), ok.`);
    for (let i = 0; i < MESSAGES; i++) await sink.receive();
    const oursIn = now() - start;
    cpuPer("receive, per message", MESSAGES);
    rows.push(["messages/s, BEAM -> receiver", rate(MESSAGES, beamIn), rate(MESSAGES, oursIn), "msg/s", true]);

    // 3. sequential round trips through an echo process on B
    const beamRtt = ((await a.eval(`dist_bench:pingpong({echo, '${b.name}'}, ${ROUNDTRIPS}).`)) as number) / ROUNDTRIPS;
    start = now();
    cpuAt = process.cpuUsage();
    for (let i = 0; i < ROUNDTRIPS; i++) {
      await p.send(["echo", b.name], tuple(p.pid, i));
      await p.receive();
    }
    const oursRtt = (now() - start) / ROUNDTRIPS;
    cpuPer("round trip, per round trip", ROUNDTRIPS);
    rows.push(["round trip (echo), µs", beamRtt, oursRtt, "µs", false]);

    // 4. 64 MiB as 1 MiB binaries, sender -> B
    const beamBulk = (await a.eval(`dist_bench:timed_bulk(c5, '${b.name}', ${BULK_COUNT}, ${BULK_SIZE}).`)) as number;
    await b.eval(`dist_bench:counter(c6, ${BULK_COUNT}, binary_to_term(<<${[...encodePid(p)].join(",")}>>)), ok.`);
    const chunk = Buffer.alloc(BULK_SIZE);
    start = now();
    cpuAt = process.cpuUsage();
    for (let i = 0; i < BULK_COUNT; i++) await p.send(["c6", b.name], tuple(atom("bin"), chunk));
    await p.receive((m) => m instanceof Tuple && m.elements[0] === atom("done"), { timeout: 120_000 });
    const oursBulk = now() - start;
    cpuPer("64 MiB bulk, per MiB", BULK_COUNT);
    rows.push(["64 MiB in 1 MiB binaries, MB/s", mbps(beamBulk), mbps(oursBulk), "MB/s", true]);

    // 5-7. the small messages each way and the round trips with PAIRS concurrent pairs, as rates over all of them
    const perPair = Math.floor(MESSAGES / PAIRS);
    const names = (prefix: string) => Array.from({ length: PAIRS }, (_, k) => `${prefix}${k + 1}`);
    const beamOutPairs = (await a.eval(`dist_bench:timed_blast_pairs(cp, '${b.name}', ${PAIRS}, ${perPair}).`)) as number;
    const done = node.spawn();
    await b.eval(`[dist_bench:counter(N, ${perPair}, binary_to_term(<<${[...encodePid(done)].join(",")}>>)) || N <- dist_bench:pair_names(cq, ${PAIRS})], ok.`);
    start = now();
    cpuAt = process.cpuUsage();
    await Promise.all(
      names("cq").map(async (name) => {
        const sender = node.spawn();
        for (let i = 1; i <= perPair; i++) await sender.send([name, b.name], tuple(atom("n"), i));
      }),
    );
    for (let k = 0; k < PAIRS; k++) await done.receive((m) => m instanceof Tuple && m.elements[0] === atom("done"), { timeout: 120_000 });
    const oursOutPairs = now() - start;
    cpuPer(`send, ${PAIRS} pairs, per message`, perPair * PAIRS);
    rows.push([`messages/s, ${PAIRS} senders -> BEAM`, rate(perPair * PAIRS, beamOutPairs), rate(perPair * PAIRS, oursOutPairs), "msg/s", true]);

    const beamInPairs = (await b.eval(`dist_bench:timed_blast_pairs(cr, '${a.name}', ${PAIRS}, ${perPair}).`)) as number;
    const receivers = names("cs").map((name) => {
      const receiver = node.spawn();
      node.register(name, receiver);
      return receiver;
    });
    start = now();
    cpuAt = process.cpuUsage();
    await b.eval(`dist_bench:blast_pairs(cs, '${node.name}', ${PAIRS}, ${perPair}).`);
    await Promise.all(
      receivers.map(async (receiver) => {
        for (let i = 0; i < perPair; i++) await receiver.receive();
      }),
    );
    const oursInPairs = now() - start;
    cpuPer(`receive, ${PAIRS} pairs, per message`, perPair * PAIRS);
    rows.push([`messages/s, BEAM -> ${PAIRS} receivers`, rate(perPair * PAIRS, beamInPairs), rate(perPair * PAIRS, oursInPairs), "msg/s", true]);

    const tripsPerPair = Math.max(1, Math.floor(ROUNDTRIPS / PAIRS) * 4);
    await b.eval(`dist_bench:echoes(ep, ${PAIRS}).`);
    const beamRttPairs = (await a.eval(`dist_bench:timed_pingpong_pairs(ep, '${b.name}', ${PAIRS}, ${tripsPerPair}).`)) as number;
    start = now();
    cpuAt = process.cpuUsage();
    await Promise.all(
      names("ep").map(async (name) => {
        const pinger = node.spawn();
        for (let i = 0; i < tripsPerPair; i++) {
          await pinger.send([name, b.name], tuple(pinger.pid, i));
          await pinger.receive();
        }
      }),
    );
    const oursRttPairs = now() - start;
    cpuPer(`round trip, ${PAIRS} pairs, per round trip`, tripsPerPair * PAIRS);
    rows.push([`round trips/s, ${PAIRS} pairs`, rate(tripsPerPair * PAIRS, beamRttPairs), rate(tripsPerPair * PAIRS, oursRttPairs), "rt/s", true]);

    const over = TLS ? " over TLS (-proto_dist inet_tls, mutual verification)" : "";
    console.log(`distribution benchmark, loopback${over}: BEAM -> BEAM against erldist <-> BEAM, same run`);
    console.log(
      `(${MESSAGES} small messages, ${ROUNDTRIPS} round trips, ${BULK_COUNT} x 1 MiB; with ${PAIRS} pairs: ${perPair} messages ` +
        `and ${tripsPerPair} round trips each)`,
    );
    for (const [name, beam, ours, unit, higherIsBetter] of rows) {
      const ratio = higherIsBetter ? ours / beam : beam / ours;
      console.log(
        `  ${name.padEnd(34)} BEAM ${fmt(beam)} ${unit}  erldist ${fmt(ours)} ${unit}  ratio ${ratio.toFixed(2)}x` +
          `  (${higherIsBetter ? "rate" : "latency"}: above 1.00x, erldist is better)`,
      );
    }
    console.log("erldist's CPU time (user + system of this process; lower is cheaper, steadier than rates):");
    for (const [name, micros] of cpu) console.log(`  ${name.padEnd(40)} ${micros.toFixed(2)} µs`);
  } finally {
    await node.stop();
    await Promise.all([a.stop(), b.stop()]);
    await epmd.stop();
    await stopAllChildren();
    pki?.remove();
  }
}

function encodePid(p: { pid: Term }): Buffer {
  // The pid in the External Term Format, for binary_to_term/1 on the BEAM side.
  return Buffer.from(encodeTerm(p.pid));
}

function rate(count: number, micros: number): number {
  return (count / micros) * 1e6;
}

function mbps(micros: number): number {
  return (BULK_COUNT * BULK_SIZE) / 1e6 / (micros / 1e6);
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
