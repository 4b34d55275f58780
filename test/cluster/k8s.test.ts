// A Kubernetes-style cluster on emulated pods (network namespaces on a bridge, dnsmasq as the cluster DNS, as
// DESIGN.md shows). Each BEAM pod is `erlclu@<pod IP>` running the DNS discovery loop such apps run (dns_cluster.erl:
// A lookup every 2 s, connect_node to each), so the BEAM pods cluster among themselves; erldist runs in a pod of its
// own with the DNS A discovery loop and the system resolver (the pod's resolv.conf). Every scenario is checked from
// both sides: erldist's node.nodes() and each BEAM pod's nodes(hidden). Needs root; CI runs as root.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, type Atom } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { Dnsmasq } from "../support/dnsmasq.js";
import { ErldistPod } from "../support/erldist-pod.js";
import { PodNetwork, podsUnavailable, type Pod } from "../support/pods.js";

const unavailable = podsUnavailable();
if (unavailable) console.warn(`[test/cluster] skipped: ${unavailable}`);

const NAMESPACE = "erlclu.svc.cluster.local";
const SERVICE = `erlclu-headless.${NAMESPACE}`;
const STS_SERVICE = `erlsts-headless.${NAMESPACE}`;
const COOKIE = "erlclu-cluster-cookie";
const INTERVAL = 1000; // erldist's refresh interval here (the BEAM pods refresh every 2 s)

interface BeamPod {
  pod: Pod;
  beam: BeamNode;
}

let network: PodNetwork;
let dns: Dnsmasq;
let erldist: ErldistPod;
let erldistPod: Pod;
const pods = new Map<number, BeamPod>(); // by pod index: the pods the headless Service lists
const extra: BeamPod[] = []; // pods outside the Service (StatefulSet, wrong cookie)

async function startBeamPod(index: number, options: { cookie?: string; host?: string; discovery?: boolean } = {}): Promise<BeamPod> {
  const pod = await network.addPod(index);
  const beam = await BeamNode.start({
    epmd: { port: 4369 },
    alive: "erlclu",
    host: options.host ?? pod.ip,
    wrap: pod.wrap,
    cookie: options.cookie ?? COOKIE,
  });
  if (options.discovery ?? true) await beam.eval(`dns_cluster:start("${SERVICE}", "erlclu", 2000).`);
  return { pod, beam };
}

/** The Service's A records: one per pod in `pods` (plus the StatefulSet's host names, which never change). */
function records(): Array<[string, string]> {
  const list: Array<[string, string]> = [...pods.values()].map(({ pod }) => [SERVICE, pod.ip]);
  for (const p of extra) if (p.beam.name.endsWith(STS_SERVICE)) list.push([p.beam.name.split("@")[1], p.pod.ip]);
  return list;
}

async function publish(): Promise<void> {
  await dns.setHosts(records());
}

const names = (list: Iterable<BeamPod>) => [...list].map((p) => p.beam.name).sort();

async function hiddenOf(beam: BeamNode): Promise<string[]> {
  return ((await beam.eval("nodes(hidden).")) as Atom[]).map((a) => a.name);
}

async function visibleOf(beam: BeamNode): Promise<string[]> {
  return ((await beam.eval("nodes().")) as Atom[]).map((a) => a.name).sort();
}

/** Both sides agree: erldist is connected to exactly these pods, and each of them lists erldist as hidden. */
async function expectJoined(expected: BeamPod[]): Promise<void> {
  await expect.poll(() => erldist.nodes(), { timeout: 15_000 }).toEqual(names(expected));
  for (const { beam } of expected) await expect.poll(() => hiddenOf(beam), { timeout: 5000 }).toContain(erldistName());
}

function erldistName(): string {
  return `erldist@${erldistPod.ip}`;
}

describe.skipIf(unavailable !== undefined)("a Kubernetes-style cluster on emulated pods", () => {
  beforeAll(async () => {
    network = PodNetwork.create();
    dns = await Dnsmasq.start({
      address: network.gateway,
      port: 53,
      localDomains: ["cluster.local"],
      srv: [0, 1].map((i) => ({ name: `_epmd._tcp.${STS_SERVICE}`, target: `erlclu-${i}.${STS_SERVICE}`, port: 4369 })),
    });
    const first = await Promise.all([2, 3, 4].map((i) => startBeamPod(i)));
    for (const p of first) pods.set(p.pod.index, p);
    await publish();
    erldistPod = await network.addPod(100, { epmd: false }); // erldist brings its own epmd
    erldist = await ErldistPod.start(erldistPod, erldistName(), COOKIE);
  }, 120_000);

  afterAll(async () => {
    await erldist?.stop();
    await Promise.all([...pods.values(), ...extra].map(({ beam }) => beam.stop()));
    await dns?.destroy();
    await network?.destroy();
  }, 60_000);

  it("3 pods: the BEAM pods cluster among themselves and erldist joins every one as a hidden node", async () => {
    const all = [...pods.values()];
    for (const { beam } of all) {
      await expect.poll(() => visibleOf(beam), { timeout: 15_000 }).toEqual(names(all.filter((p) => p.beam !== beam)));
    }
    await erldist.discover({ dns: SERVICE, basename: "erlclu", interval: INTERVAL });
    await expectJoined(all);
    // Hidden: not in any pod's visible nodes().
    for (const { beam } of all) expect(await visibleOf(beam)).not.toContain(erldistName());
  });

  it("scaled to 8: every new pod is connected by the refresh that first sees it", async () => {
    const added = await Promise.all([5, 6, 7, 8, 9].map((i) => startBeamPod(i)));
    const seen = erldist.next((e) => e.event === "refresh" && (e.detail as { discovered: string[] }).discovered.length > 0);
    for (const p of added) pods.set(p.pod.index, p);
    await publish();
    const report = (await seen).detail as { discovered: string[]; connected: string[]; failed: string[] };
    expect(report.discovered.sort()).toEqual(names(added));
    expect(report.connected.sort()).toEqual(names(added));
    expect(report.failed).toEqual([]);
    await expectJoined([...pods.values()]);
    // And the BEAM pods found the new ones too, through their own loop.
    await expect.poll(() => visibleOf(pods.get(2)!.beam), { timeout: 15_000 }).toHaveLength(7);
  });

  it("a pod removed from DNS is pruned (disconnected on both sides); a killed and removed pod is pruned too", async () => {
    const removed = pods.get(9)!;
    pods.delete(9);
    const pruned = erldist.next((e) => e.event === "pruned" && e.name === removed.beam.name);
    await publish();
    expect((await pruned).detail).toEqual({ reason: "vanished", disconnected: true });
    await expect.poll(() => hiddenOf(removed.beam), { timeout: 5000 }).not.toContain(erldistName());
    await removed.beam.stop();
    await network.removePod(removed.pod);

    const killed = pods.get(8)!;
    pods.delete(8);
    const down = erldist.next((e) => e.event === "nodedown" && e.name === killed.beam.name);
    const prunedKilled = erldist.next((e) => e.event === "pruned" && e.name === killed.beam.name);
    process.kill(killed.beam.pid!, "SIGKILL");
    await down;
    await publish();
    expect((await prunedKilled).detail).toMatchObject({ reason: "vanished" });
    await network.removePod(killed.pod);
    await expectJoined([...pods.values()]);
    const known = (await erldist.snapshots())[0].nodes.map((n) => n.name).sort();
    expect(known).toEqual(names(pods.values()));
  });

  it("a pod replaced by one with a new IP: the old name is pruned and the new one connected", async () => {
    const old = pods.get(7)!;
    pods.delete(7);
    await old.beam.stop();
    await network.removePod(old.pod);
    const replacement = await startBeamPod(17);
    pods.set(17, replacement);
    const connected = erldist.next((e) => e.event === "connected" && e.name === replacement.beam.name);
    const pruned = erldist.next((e) => e.event === "pruned" && e.name === old.beam.name);
    await publish();
    await Promise.all([connected, pruned]);
    await expectJoined([...pods.values()]);
  });

  it("the DNS server stopped for three intervals: lookups fail, nothing is disconnected, and it recovers", async () => {
    const before = await erldist.nodes();
    const from = erldist.events.length;
    await dns.stop();
    for (let i = 0; i < 3; i++) await erldist.next((e) => e.event === "lookupFailed", 15_000);
    const during = erldist.events.slice(from);
    expect(during.filter((e) => e.event === "pruned" || e.event === "nodedown")).toEqual([]);
    expect(await erldist.nodes()).toEqual(before);
    for (const { beam } of pods.values()) expect(await hiddenOf(beam)).toContain(erldistName());
    const failure = during.find((e) => e.event === "lookupFailed")!.detail as { code: string; cause: string; message: string };
    expect(failure.code).toBe("lookup_failed");
    expect(failure.message).toContain(SERVICE);
    await dns.restart();
    await erldist.next((e) => e.event === "refresh" && (e.detail as { lookup: { status: string } }).lookup.status === "found");
    expect(await erldist.nodes()).toEqual(before);
  });

  it("a pod with the wrong cookie is reported (and retried with backoff) and does not disturb the others", async () => {
    const stranger = await startBeamPod(30, { cookie: "some-other-cookie", discovery: false });
    extra.push(stranger);
    const failed = erldist.next((e) => e.event === "connectFailed" && e.name === stranger.beam.name);
    await dns.setHosts([...records(), [SERVICE, stranger.pod.ip]]);
    const detail = (await failed).detail as { code: string; message: string; failures: number; retryInMs: number };
    expect(detail.code).toBe("cookie_rejected");
    expect(detail.failures).toBe(1);
    const snapshot = (await erldist.snapshots())[0];
    expect(snapshot.nodes.find((n) => n.name === stranger.beam.name)?.state).toBe("backing_off");
    expect(await erldist.nodes()).toEqual(names(pods.values()));
    await publish(); // out of the Service again
    await erldist.next((e) => e.event === "pruned" && e.name === stranger.beam.name);
  });

  it("SRV discovery with host names: a StatefulSet's pods named erlclu@erlclu-N.<service>", async () => {
    const sts = await Promise.all([0, 1].map((i) => startBeamPod(40 + i, { host: `erlclu-${i}.${STS_SERVICE}`, discovery: false })));
    extra.push(...sts);
    await publish();
    const loop = await erldist.discover({ srv: `_epmd._tcp.${STS_SERVICE}`, basename: "erlclu", interval: INTERVAL });
    await expect.poll(() => erldist.nodes(), { timeout: 15_000 }).toEqual(names([...pods.values(), ...sts]));
    for (const { beam } of sts) await expect.poll(() => hiddenOf(beam), { timeout: 5000 }).toContain(erldistName());
    const snapshot = (await erldist.snapshots())[loop];
    expect(snapshot.source).toBe(`dns srv _epmd._tcp.${STS_SERVICE}`);
    expect(snapshot.nodes.map((n) => [n.name, n.state]).sort()).toEqual(names(sts).map((n) => [n, "connected"]));
  });
});
