// npm run bench:connect: time to set up a distribution connection (epmd lookup, TCP connect, version 6
// handshake) to a BEAM node, erldist against erl-to-erl measured in the same run, as a ratio.
// Both dialers are hidden nodes (as erldist is by default) so that BEAM's global does no extra work.
// Options: --rounds=N (default 200).
import { Node } from "../src/node/index.js";
import { BeamNode } from "../test/support/beam.js";
import { stopAllChildren } from "../test/support/children.js";
import { startEpmd } from "../test/support/epmd.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 200);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  requireErlang();
  compileFixtures();
  const epmd = await startEpmd();
  const [target, dialer] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd, args: ["-hidden"] })]);
  const node = await Node.start({ name: "bench@127.0.0.1", cookie: target.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  try {
    // erl to erl: timed inside the dialing BEAM with timer:tc, each connection torn down before the next.
    const beamTimes = (await dialer.eval(`
      Target = '${target.name}',
      [begin
         {Us, true} = timer:tc(net_kernel, connect_node, [Target]),
         erlang:disconnect_node(Target),
         timer:sleep(20),
         Us
       end || _ <- lists:seq(1, ${rounds})].`)) as number[];

    const ourTimes: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const start = process.hrtime.bigint();
      await node.connect(target.name);
      ourTimes.push(Number(process.hrtime.bigint() - start) / 1000);
      node.disconnect(target.name);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ours = median(ourTimes);
    const theirs = median(beamTimes);
    console.log(`connection setup to a BEAM node (OTP, loopback), median of ${rounds}:`);
    console.log(`  erl -> erl      ${theirs.toFixed(0)} µs`);
    console.log(`  erldist -> erl  ${ours.toFixed(0)} µs`);
    console.log(`  ratio (erl time / erldist time): ${(theirs / ours).toFixed(2)}x  (above 1.00x, erldist is faster)`);
  } finally {
    await node.stop();
    await Promise.all([target.stop(), dialer.stop()]);
    await epmd.stop();
    await stopAllChildren();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
