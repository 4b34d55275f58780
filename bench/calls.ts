// npm run bench:calls: gen_server calls per second to a BEAM gen_server (kv_server on node A), from erldist and, as
// the anchor in the same run, from another BEAM node B, with 1 caller (each call awaited before the next) and with
// 64 concurrent callers; printed as ratios (above 1.00x, erldist is faster), with erldist's CPU time per call.
// Options: --calls=N (default 20000 per measurement).
import { atom, tuple } from "../src/etf/index.js";
import { Node } from "../src/node/index.js";
import { BeamNode } from "../test/support/beam.js";
import { stopAllChildren } from "../test/support/children.js";
import { startEpmd } from "../test/support/epmd.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const CALLS = arg("calls", 20_000);
const CONCURRENCY = [1, 64];

const now = () => Number(process.hrtime.bigint()) / 1000; // µs

async function main(): Promise<void> {
  requireErlang();
  compileFixtures();
  const epmd = await startEpmd();
  const [a, b] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd })]);
  const node = await Node.start({ name: "callbench@127.0.0.1", cookie: a.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  try {
    await a.eval("kv_server:start(kv), ok.");
    await b.eval(`pong = net_adm:ping('${a.name}'), ok.`);
    await node.connect(a.name);
    const server = ["kv", a.name] as const;
    const request = tuple(atom("get"), atom("a"));
    // Warm up both sides (code paths, connections, the JIT).
    await b.eval(`dist_bench:timed_calls({kv, '${a.name}'}, 2000, 4).`);
    for (let i = 0; i < 2000; i++) await node.call(server, request);
    console.log(`gen_server calls to a BEAM gen_server, loopback: BEAM -> BEAM against erldist -> BEAM, same run (${CALLS} calls each)`);
    for (const concurrency of CONCURRENCY) {
      const beam = (await b.eval(`dist_bench:timed_calls({kv, '${a.name}'}, ${CALLS}, ${concurrency}).`)) as number;
      const each = Math.floor(CALLS / concurrency);
      const cpuAt = process.cpuUsage();
      const start = now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = 0; i < each; i++) await node.call(server, request);
        }),
      );
      const ours = now() - start;
      const cpu = process.cpuUsage(cpuAt);
      const rate = (micros: number) => ((each * concurrency) / micros) * 1e6;
      console.log(
        `  ${String(concurrency).padStart(2)} caller${concurrency === 1 ? " " : "s"}  BEAM ${rate(beam).toFixed(0)} calls/s  erldist ${rate(ours).toFixed(0)} calls/s` +
          `  ratio ${(rate(ours) / rate(beam)).toFixed(2)}x  (above 1.00x, erldist is faster)  erldist CPU ${((cpu.user + cpu.system) / (each * concurrency)).toFixed(2)} µs per call`,
      );
    }
  } finally {
    await node.stop();
    await Promise.all([a.stop(), b.stop()]);
    await epmd.stop();
    await stopAllChildren();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
