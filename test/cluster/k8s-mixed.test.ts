// A cluster in the middle of a rolling upgrade, on emulated pods: BEAM pods on OTP 25, 27 and 29 at once (each release
// of the matrix, whatever release the rest of the run tests), each `erlclu@<pod IP>` with the DNS discovery loop
// (dns_cluster.erl), and erldist in a pod of its own joined to all of them through the headless Service. Pods are
// then replaced one by one by pods on a newer release, as a Deployment's rolling update does (the new pod first,
// then the old one goes): the cluster stays meshed, no connection but the replaced pods' drops (checked by erldist's
// events and by each BEAM pod's own nodedown log), and rpc reaches every pod. Last, TLS pods of each release connect
// to an erldist whose certificate names its IP only as an iPAddress SAN: each accepts or refuses it by its own
// release's rules. Needs root (pods, and the matrix's OTP roots).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, type Atom, type Tuple } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { Dnsmasq } from "../support/dnsmasq.js";
import { ErldistPod } from "../support/erldist-pod.js";
import { matrixBins } from "../support/fixtures.js";
import { PodNetwork, podsUnavailable, type Pod } from "../support/pods.js";
import { otpReleaseOf } from "../support/release.js";
import { TestPki } from "../support/tls.js";

const RELEASES = ["25", "27", "29"];
const missing = RELEASES.filter((release) => !(release in matrixBins()));
const unavailable = podsUnavailable() ?? (missing.length > 0 ? `OTP ${missing.join(", ")} not available (the matrix's roots need root)` : undefined);
if (unavailable) console.warn(`[test/cluster mixed releases] skipped: ${unavailable}`);

const SERVICE = "erlclu-headless.erlclu.svc.cluster.local";
const COOKIE = "erlclu-mixed-cookie";

interface BeamPod {
  pod: Pod;
  beam: BeamNode;
  release: string;
}

let network: PodNetwork;
let dns: Dnsmasq;
let erldist: ErldistPod;
let erldistPod: Pod;
let pki: TestPki | undefined;
const pods = new Map<number, BeamPod>(); // the pods the headless Service lists, by index
const others: Array<BeamPod | ErldistPod> = []; // stopped in afterAll too

async function startBeamPod(index: number, release: string, options: { args?: string[]; discovery?: boolean } = {}): Promise<BeamPod> {
  const pod = await network.addPod(index);
  const beam = await BeamNode.start({ epmd: { port: 4369 }, alive: "erlclu", host: pod.ip, wrap: pod.wrap, cookie: COOKIE, otp: release, args: options.args });
  if (options.discovery ?? true) await beam.eval(`dns_cluster:start("${SERVICE}", "erlclu", 1000).`);
  return { pod, beam, release };
}

async function publish(): Promise<void> {
  await dns.setHosts([...pods.values()].map(({ pod }) => [SERVICE, pod.ip]));
}

const names = (list: Iterable<BeamPod>) => [...list].map((p) => p.beam.name).sort();
const erldistName = () => `erldist@${erldistPod.ip}`;
const hiddenOf = async (beam: BeamNode) => ((await beam.eval("nodes(hidden).")) as Atom[]).map((a) => a.name);
const visibleOf = async (beam: BeamNode) => ((await beam.eval("nodes().")) as Atom[]).map((a) => a.name).sort();

/** The nodes a BEAM pod saw go down (its dns_cluster loop logs every nodedown, hidden nodes included). */
async function nodedownsOf(beam: BeamNode): Promise<string[]> {
  const log = (await beam.eval("dns_cluster:log().")) as Tuple[];
  return log.filter((entry) => entry.at(0) === atom("nodedown")).map((entry) => (entry.at(1) as Atom).name);
}

/** Every pod of the Service sees every other as visible and erldist as hidden; erldist is connected to each. */
async function expectMeshed(): Promise<void> {
  const all = [...pods.values()];
  await expect.poll(() => erldist.nodes(), { timeout: 20_000 }).toEqual(names(all));
  for (const { beam } of all) {
    await expect.poll(() => visibleOf(beam), { timeout: 20_000 }).toEqual(names(all.filter((p) => p.beam !== beam)));
    await expect.poll(() => hiddenOf(beam), { timeout: 5000 }).toContain(erldistName());
  }
}

describe.skipIf(unavailable !== undefined)("a cluster of BEAM pods on OTP 25, 27 and 29 (a rolling upgrade)", () => {
  beforeAll(async () => {
    network = PodNetwork.create({ tag: "m" });
    dns = await Dnsmasq.start({ address: network.gateway, port: 53, localDomains: ["cluster.local"] });
    const first = await Promise.all(RELEASES.map((release, i) => startBeamPod(2 + i, release)));
    for (const p of first) pods.set(p.pod.index, p);
    await publish();
    erldistPod = await network.addPod(100, { epmd: false });
    erldist = await ErldistPod.start(erldistPod, erldistName(), COOKIE);
    await erldist.discover({ dns: SERVICE, basename: "erlclu", interval: 1000 });
  }, 120_000);

  afterAll(async () => {
    await erldist?.stop();
    await Promise.all(others.map((o) => (o instanceof ErldistPod ? o.stop() : o.beam.stop())));
    await Promise.all([...pods.values()].map(({ beam }) => beam.stop()));
    await dns?.destroy();
    await network?.destroy();
    pki?.remove();
  }, 60_000);

  it("pods on each release mesh among themselves, erldist joins every one, and each reports its own release", async () => {
    await expectMeshed();
    for (const { beam, release } of pods.values()) {
      expect(String(await otpReleaseOf(beam))).toBe(release);
    }
    // And to erldist, over rpc through its connection to each.
    for (const { beam, release } of pods.values()) expect(await erldist.rpc(beam.name, "erlang", "system_info", ["otp_release"])).toBe(release);
  });

  it("each pod replaced by one on a newer release: every other connection stays up, and rpc reaches every pod", async () => {
    const from = erldist.events.length;
    const replaced: string[] = [];
    // 25 -> 27, then 27 -> 29: the new pod joins first (maxSurge 1), then the old one is removed.
    for (const [oldIndex, newIndex, release] of [[2, 12, "27"], [3, 13, "29"]] as const) {
      const old = pods.get(oldIndex)!;
      const fresh = await startBeamPod(newIndex, release);
      pods.set(newIndex, fresh);
      await publish();
      await erldist.next((e) => e.event === "connected" && e.name === fresh.beam.name);
      pods.delete(oldIndex);
      replaced.push(old.beam.name);
      const pruned = erldist.next((e) => e.event === "pruned" && e.name === old.beam.name);
      await publish();
      await pruned;
      await old.beam.stop();
      await network.removePod(old.pod);
      await expectMeshed();
    }
    // Nothing else went down: not on erldist's side, and not on any BEAM pod's.
    const downs = erldist.events.slice(from).filter((e) => e.event === "nodedown" || e.event === "pruned").map((e) => e.name);
    expect(downs.every((name) => replaced.includes(name!))).toBe(true);
    expect([...new Set(downs)].sort()).toEqual([...replaced].sort());
    for (const { beam } of pods.values()) {
      for (const name of await nodedownsOf(beam)) expect(replaced).toContain(name);
    }
    expect([...pods.values()].map((p) => p.release).sort()).toEqual(["27", "29", "29"]);
    for (const { beam, release } of pods.values()) expect(await erldist.rpc(beam.name, "erlang", "system_info", ["otp_release"])).toBe(release);
  });

  it("TLS pods of each release accept or refuse erldist's IP-only certificate by their own release's rules", async () => {
    pki = TestPki.create();
    const ca = pki.ca("mixed-ca");
    const tlsPod = await network.addPod(101, { epmd: false });
    const tlsName = `erldist@${tlsPod.ip}`;
    // Only an iPAddress SAN: RFC 6125 matches it to an IP host; OTP 25's client wants a dNSName for it.
    const own = ca.issue("erldist-ip-only", { ips: [tlsPod.ip] });
    const tlsErldist = await ErldistPod.start(tlsPod, tlsName, COOKIE, { tls: { ...own, caFile: ca.certFile } });
    others.push(tlsErldist);
    const tlsPods = await Promise.all(
      RELEASES.map(async (release, i) => {
        const index = 20 + i;
        const cert = ca.issue(`tls-pod${index}`, { ips: [network.address(index)], dns: [network.address(index)] });
        const optFile = pki!.optFile(`tls-pod${index}`, cert, ca.certFile);
        return startBeamPod(index, release, { args: ["-proto_dist", "inet_tls", "-ssl_dist_optfile", optFile], discovery: false });
      }),
    );
    others.push(...tlsPods);
    for (const { beam, release } of tlsPods) {
      const ping = await beam.eval(`net_adm:ping('${tlsName}').`);
      expect([release, ping]).toEqual([release, atom(Number(release) >= 26 ? "pong" : "pang")]);
      // erldist's own client checks the pod's certificate by RFC 6125 and connects to every release.
      expect(await tlsErldist.connect(beam.name)).toBe(true);
      expect(await tlsErldist.rpc(beam.name, "erlang", "get_cookie")).toBe(COOKIE);
    }
  });
});
