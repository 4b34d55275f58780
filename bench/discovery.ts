// npm run bench:discovery (root: emulated pods): time from a DNS change to connected, for 1 new pod and for 20 new
// pods, for erldist's discovery loop and, in the same run against the same DNS changes, for a BEAM pod's own
// discovery loop (dns_cluster.erl: the A lookup + connect_node loop Kubernetes BEAM apps run). Both loops refresh
// every --interval ms (default 2000). Per round it reports the time until the last new pod was connected, and the
// connect phase alone (from the lookup that first saw the new pods). Target: erldist connects all 20 within one
// interval plus 500 ms. Options: --interval=MS, --rounds=N (rounds per size, default 5).
import { atom, Tuple, type Atom, type Term } from "../src/etf/index.js";
import { BeamNode } from "../test/support/beam.js";
import { stopAllChildren } from "../test/support/children.js";
import { Dnsmasq } from "../test/support/dnsmasq.js";
import { ErldistPod } from "../test/support/erldist-pod.js";
import { compileFixtures, requireErlang } from "../test/support/fixtures.js";
import { PodNetwork, podsUnavailable, type Pod } from "../test/support/pods.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const interval = arg("interval", 2000);
const rounds = arg("rounds", 5);
const SERVICE = "erlclu-headless.erlclu.svc.cluster.local";
const COOKIE = "bench-cookie";

interface Measure {
  total: number; // DNS change -> last new pod connected
  connectPhase: number; // lookup that first saw them -> last new pod connected
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const unavailable = podsUnavailable();
  if (unavailable) throw new Error(`bench:discovery needs emulated pods: ${unavailable}`);
  requireErlang();
  compileFixtures();
  const network = PodNetwork.create();
  const dns = await Dnsmasq.start({ address: network.gateway, port: 53, localDomains: ["cluster.local"] });
  const started: BeamNode[] = [];
  let erldist: ErldistPod | undefined;
  try {
    // The BEAM pod whose loop is the anchor, and the erldist pod.
    const observerPod = await network.addPod(2);
    const observer = await BeamNode.start({ epmd: { port: 4369 }, alive: "erlclu", host: observerPod.ip, wrap: observerPod.wrap, cookie: COOKIE });
    started.push(observer);
    const members: Pod[] = [observerPod];
    await dns.setHosts([[SERVICE, observerPod.ip]]);
    await observer.eval(`dns_cluster:start("${SERVICE}", "erlclu", ${interval}).`);
    const erldistPod = await network.addPod(3, { epmd: false });
    erldist = await ErldistPod.start(erldistPod, `erldist@${erldistPod.ip}`, COOKIE);
    await erldist.discover({ dns: SERVICE, basename: "erlclu", interval, jitter: 0 });
    await erldist.next((e) => e.event === "connected");

    let nextIndex = 10;
    const results: Record<number, { erldist: Measure[]; beam: Measure[] }> = {};
    for (const size of [1, 20]) {
      results[size] = { erldist: [], beam: [] };
      for (let round = 0; round < rounds; round++) {
        // New pods come up (not in the Service yet), then the Service lists them: that DNS change is time zero.
        const pods = await Promise.all(Array.from({ length: size }, () => network.addPod(nextIndex++)));
        // Hidden, as erldist is: the observer's connect_node then does the same work as erldist's connect (no global
        // sync, no overlapping-partition checks among new pods that do not run discovery themselves).
        const beams = await Promise.all(
          pods.map((pod) => BeamNode.start({ epmd: { port: 4369 }, alive: "erlclu", host: pod.ip, wrap: pod.wrap, cookie: COOKIE, args: ["-hidden"] })),
        );
        started.push(...beams);
        const names = new Set(beams.map((b) => b.name));
        // Both loops have a fixed phase; a random wait puts the change at a random point of their intervals.
        await new Promise((r) => setTimeout(r, Math.random() * interval));
        const from = erldist.events.length;
        const changedAt = Date.now();
        await dns.setHosts([...members, ...pods].map((pod) => [SERVICE, pod.ip]));
        // Wait until both loops have connected every new pod.
        const deadline = Date.now() + 10 * interval + 30_000;
        for (;;) {
          const ours = erldist.events.slice(from).filter((e) => e.event === "connected" && names.has(e.name ?? ""));
          const theirs = ((await observer.call("dns_cluster", "log", [])) as Tuple[]).filter(
            (t) => t.elements[0] === atom("nodeup") && names.has((t.elements[1] as Atom).name),
          );
          const theirNames = new Set(theirs.map((t) => (t.elements[1] as Atom).name));
          if (ours.length === size && theirNames.size === size) break;
          if (Date.now() > deadline) throw new Error(`round did not complete: erldist ${ours.length}/${size}, BEAM ${theirNames.size}/${size}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const ourEvents = erldist.events.slice(from);
        const ourLast = Math.max(...ourEvents.filter((e) => e.event === "connected" && names.has(e.name ?? "")).map((e) => e.at));
        const ourLookup = ourEvents.find((e) => e.event === "discovered" && names.has(e.name ?? ""))!.at;
        const log = (await observer.call("dns_cluster", "log", [])) as Tuple[];
        const millis = (t: Tuple) => Number(t.elements[2] as Term as number);
        // The first nodeup of each new pod (global may bounce connections while the partition check runs).
        const firstUp = new Map<string, number>();
        for (const t of log) {
          const name = (t.elements[1] as Atom).name;
          if (t.elements[0] === atom("nodeup") && names.has(name) && !firstUp.has(name)) firstUp.set(name, millis(t));
        }
        const downs = log.filter((t) => t.elements[0] === atom("nodedown") && millis(t) >= changedAt).length;
        if (downs > 0) console.log(`  (the BEAM pod saw ${downs} nodedown(s) during this round)`);
        const theirLast = Math.max(...firstUp.values());
        const theirLookup = millis(log.find((t) => t.elements[0] === atom("lookup") && millis(t) >= changedAt && Number(t.elements[1]) >= members.length + size)!);
        results[size].erldist.push({ total: ourLast - changedAt, connectPhase: ourLast - ourLookup });
        results[size].beam.push({ total: theirLast - changedAt, connectPhase: theirLast - theirLookup });
        console.log(
          `  ${String(size).padStart(2)} new pod(s), round ${round + 1}: erldist ${ourLast - changedAt} ms (connect phase ${ourLast - ourLookup} ms), ` +
            `BEAM ${theirLast - changedAt} ms (connect phase ${theirLast - theirLookup} ms)`,
        );
        // The round's pods go away (out of the Service first), so the next round starts from the same cluster.
        await dns.setHosts(members.map((pod) => [SERVICE, pod.ip]));
        await Promise.all(beams.map((b) => b.stop()));
        for (const pod of pods) await network.removePod(pod);
        await new Promise((r) => setTimeout(r, 2 * interval));
      }
    }

    console.log(`\nbench:discovery — DNS change to connected, both loops refreshing every ${interval} ms, median of ${rounds} rounds`);
    console.log("new pods | erldist total | BEAM total | ratio (BEAM/erldist) | erldist connect phase | BEAM connect phase | ratio | target (interval + 500 ms)");
    for (const size of [1, 20]) {
      const ours = results[size].erldist;
      const theirs = results[size].beam;
      const ourTotal = median(ours.map((m) => m.total));
      const theirTotal = median(theirs.map((m) => m.total));
      const ourPhase = median(ours.map((m) => m.connectPhase));
      const theirPhase = median(theirs.map((m) => m.connectPhase));
      const worst = Math.max(...ours.map((m) => m.total));
      console.log(
        `${String(size).padStart(8)} | ${String(ourTotal).padStart(10)} ms | ${String(theirTotal).padStart(7)} ms | ${(theirTotal / ourTotal).toFixed(2).padStart(20)}x | ` +
          `${String(ourPhase).padStart(18)} ms | ${String(theirPhase).padStart(15)} ms | ${(theirPhase / Math.max(1, ourPhase)).toFixed(2).padStart(5)}x | ` +
          `${worst <= interval + 500 ? "met" : "MISSED"} (worst ${worst} ms)`,
      );
    }
  } finally {
    await erldist?.stop();
    await Promise.all(started.map((b) => b.stop()));
    await dns.destroy();
    await network.destroy();
    await stopAllChildren();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
