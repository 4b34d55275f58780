// The Kubernetes-style cluster of k8s.test.ts, once with TLS distribution end to end: each BEAM pod runs
// `-proto_dist inet_tls` with an option file demanding mutual verification and a certificate of its own whose SANs
// are the pod IP (as an IP SAN, and as a DNS SAN, which is what OTP 25's client matches the host of a node name
// against), issued by the cluster's CA; erldist runs in a pod of its own with TLS options and the DNS A discovery
// loop. Checked from both sides (erldist's nodes(), each pod's nodes(hidden), and the protocol net_kernel reports),
// plus a pod whose certificate comes from another CA, which erldist refuses and reports. Needs root.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, type Atom, type Term } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { Dnsmasq } from "../support/dnsmasq.js";
import { ErldistPod } from "../support/erldist-pod.js";
import { PodNetwork, podsUnavailable, type Pod } from "../support/pods.js";
import { TestPki, type TestCa } from "../support/tls.js";

const unavailable = podsUnavailable();
if (unavailable) console.warn(`[test/cluster TLS] skipped: ${unavailable}`);

const SERVICE = "erlclu-headless.erlclu.svc.cluster.local";
const COOKIE = "erlclu-tls-cookie";

interface BeamPod {
  pod: Pod;
  beam: BeamNode;
}

let network: PodNetwork;
let dns: Dnsmasq;
let pki: TestPki;
let ca: TestCa;
let erldist: ErldistPod;
let erldistPod: Pod;
const pods: BeamPod[] = [];
const strangers: BeamPod[] = [];

/** A BEAM pod on TLS distribution, with a certificate for its own IP from `issuer`, running the discovery loop. */
async function startBeamPod(index: number, issuer: TestCa = ca): Promise<BeamPod> {
  const pod = await network.addPod(index);
  const cert = issuer.issue(`pod${index}`, { ips: [pod.ip], dns: [pod.ip] });
  const optFile = pki.optFile(`pod${index}`, cert, ca.certFile);
  const beam = await BeamNode.start({
    epmd: { port: 4369 },
    alive: "erlclu",
    host: pod.ip,
    wrap: pod.wrap,
    cookie: COOKIE,
    args: ["-proto_dist", "inet_tls", "-ssl_dist_optfile", optFile],
  });
  await beam.eval(`dns_cluster:start("${SERVICE}", "erlclu", 2000).`);
  return { pod, beam };
}

async function publish(list: BeamPod[]): Promise<void> {
  await dns.setHosts(list.map(({ pod }) => [SERVICE, pod.ip]));
}

const names = (list: BeamPod[]) => list.map((p) => p.beam.name).sort();
const hiddenOf = async (beam: BeamNode) => ((await beam.eval("nodes(hidden).")) as Atom[]).map((a) => a.name);
const visibleOf = async (beam: BeamNode) => ((await beam.eval("nodes().")) as Atom[]).map((a) => a.name).sort();

/** The protocol of each of `beam`'s connections, as net_kernel reports it (tls or tcp). */
async function protocolsOf(beam: BeamNode): Promise<Term> {
  return beam.eval(
    "lists:usort([P || N <- nodes(connected), {ok, I} <- [net_kernel:node_info(N)], {net_address, _, _, P, _} <- [proplists:get_value(address, I)]]).",
  );
}

const erldistName = () => `erldist@${erldistPod.ip}`;

describe.skipIf(unavailable !== undefined)("a Kubernetes-style cluster on TLS distribution", () => {
  beforeAll(async () => {
    network = PodNetwork.create({ tag: "t" });
    dns = await Dnsmasq.start({ address: network.gateway, port: 53, localDomains: ["cluster.local"] });
    pki = TestPki.create();
    ca = pki.ca("cluster-ca");
    pods.push(...(await Promise.all([2, 3, 4].map((i) => startBeamPod(i)))));
    await publish(pods);
    erldistPod = await network.addPod(100, { epmd: false });
    const own = ca.issue("erldist", { ips: [erldistPod.ip], dns: [erldistPod.ip] });
    erldist = await ErldistPod.start(erldistPod, erldistName(), COOKIE, { tls: { ...own, caFile: ca.certFile } });
  }, 120_000);

  afterAll(async () => {
    await erldist?.stop();
    await Promise.all([...pods, ...strangers].map(({ beam }) => beam.stop()));
    await dns?.destroy();
    await network?.destroy();
    pki?.remove();
  }, 60_000);

  it("3 TLS pods cluster among themselves, and erldist joins every one as a hidden node over TLS", async () => {
    for (const { beam } of pods) {
      await expect.poll(() => visibleOf(beam), { timeout: 20_000 }).toEqual(names(pods.filter((p) => p.beam !== beam)));
    }
    await erldist.discover({ dns: SERVICE, basename: "erlclu", interval: 1000 });
    await expect.poll(() => erldist.nodes(), { timeout: 20_000 }).toEqual(names(pods));
    for (const { beam } of pods) {
      await expect.poll(() => hiddenOf(beam), { timeout: 5000 }).toContain(erldistName());
      expect(await visibleOf(beam)).not.toContain(erldistName());
      expect(await protocolsOf(beam)).toEqual([atom("tls")]); // to erldist and to the other pods
    }
  });

  it("a pod whose certificate is from another CA is refused by erldist (peer_cert_rejected) and the others stay", async () => {
    const otherCa = pki.ca("other-ca");
    const stranger = await startBeamPod(30, otherCa);
    strangers.push(stranger);
    const failed = erldist.next((e) => e.event === "connectFailed" && e.name === stranger.beam.name);
    await publish([...pods, stranger]);
    const detail = (await failed).detail as { code: string; message: string };
    expect(detail.code).toBe("peer_cert_rejected");
    expect(detail.message).toContain("not issued by a CA this node trusts");
    expect(await erldist.nodes()).toEqual(names(pods));
    expect(await hiddenOf(stranger.beam)).not.toContain(erldistName());
    await publish(pods);
    await erldist.next((e) => e.event === "pruned" && e.name === stranger.beam.name);
    for (const { beam } of pods) expect(await hiddenOf(beam)).toContain(erldistName());
  });
});
