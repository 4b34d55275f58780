// The emulated Kubernetes cluster with its pods run as containers, as the kubelet runs them: every pod is a network
// namespace on the test's bridge (test/support/pods.ts) with dnsmasq as the cluster DNS, and its container runs in
// that namespace with podman, from deploy/'s manifests as written (test/support/manifest-pod.ts derives the flags).
// - The BEAM pods are deploy/erlclu.yaml's StatefulSet on the stand-in erlang:<release> image of the release under
//   test: erlclu@$(MY_POD_IP), the cookie Secret mounted as $HOME/.erlang.cookie, the manifest's DNS discovery loop
//   and its node logger, whose lines (nodeup/nodedown with the node type and the reason) are the test's view of
//   each pod. Each is waited for with its own readiness probe.
// - erldist is deploy/erldist.yaml's Deployment on the image built from the Dockerfile: its env, args, uid 1000,
//   read-only root, dropped capabilities, limits, the cookie Secret as a file, and its probes, run as the kubelet
//   runs them. Its view is its own status document (/status on the status port).
// Scenarios: joining and readiness; SIGTERM within the grace period with nodedown seen at once; a restarted
// container (a new creation, after a clean stop and after a crash) accepted at once; scaling the BEAM pods up and
// down and replacing one. Needs root; CI runs as root.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Container, containersUnavailable, testImages } from "../support/containers.js";
import { runId } from "../support/children.js";
import { Dnsmasq } from "../support/dnsmasq.js";
import { podRun, probe, workload, type PodRun } from "../support/manifest-pod.js";
import { PodNetwork, podPrefixFor, podsUnavailable, type Pod } from "../support/pods.js";

const unavailable = podsUnavailable() ?? containersUnavailable();
if (unavailable) console.warn(`[test/cluster/k8s-containers] skipped: ${unavailable}`);

// Manifests are untyped YAML.
type Obj = Record<string, any>;

const NAMESPACE = "erlclu";
const SERVICE = `erlclu-headless.${NAMESPACE}.svc.cluster.local`;
const COOKIE = `container-cluster-${randomBytes(6).toString("hex")}`;
const SECRETS = { "erlclu-cookie": { cookie: COOKIE } };

const beamSet = workload("erlclu.yaml", "StatefulSet", "erlclu");
const erldistDeployment = workload("erldist.yaml", "Deployment", "erldist");
const beamSpec = beamSet.spec.template.spec as Obj;
const erldistSpec = erldistDeployment.spec.template.spec as Obj;
const erldistContainerSpec = (erldistSpec.containers as Obj[]).find((c) => c.name === "erldist") as Obj;
const beamContainerSpec = (beamSpec.containers as Obj[]).find((c) => c.name === "erlclu") as Obj;

interface RunningPod {
  pod: Pod;
  run: PodRun;
  container: Container;
}

interface BeamPod extends RunningPod {
  name: string;
}

let network: PodNetwork;
let dns: Dnsmasq;
let erldistPod: Pod;
let erldist: RunningPod | undefined;
const beams = new Map<number, BeamPod>(); // by pod index: the pods the headless Service lists
const ended: RunningPod[] = [];
const prefix = podPrefixFor(runId());

function context(pod: Pod, name: string) {
  return { ns: pod.ns, ip: pod.ip, name, dns: network.gateway, namespace: NAMESPACE, secrets: SECRETS };
}

/** A BEAM pod of the StatefulSet, ready by its own probe. */
async function startBeamPod(index: number): Promise<BeamPod> {
  const pod = await network.addPod(index, { epmd: false }); // erl starts epmd in its container
  const run = podRun(beamSpec, "erlclu", context(pod, `erlclu-${index}`));
  expect(run.image, "the manifest names an erlang:<release> image; the test runs the release under test").toMatch(/^erlang:\d+$/);
  const container = Container.run(`erldist-${prefix}-erlclu-${index}`, run.flags, testImages().erlang, run.args);
  const started: BeamPod = { pod, run, container, name: `erlclu@${pod.ip}` };
  await untilProbe(beamContainerSpec.readinessProbe, beamContainerSpec, started);
  return started;
}

/** Runs a probe as the kubelet does until it passes (rejects when the container ends first). */
async function untilProbe(spec: Obj, containerSpec: Obj, running: RunningPod, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (!running.container.running) throw new Error(`${running.container.name} ended:\n${running.container.output}`);
    const result = await probe(spec, containerSpec, running.pod, running.container);
    if (result.ok) return;
    last = result.detail;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${running.container.name}: the probe did not pass in ${timeoutMs} ms (last: ${last}); output:\n${running.container.output}`);
}

/** The nodes a BEAM pod's logger has seen come and not go: its nodes(connected), by type. */
function connectedOf(beam: BeamPod): Map<string, string> {
  const connected = new Map<string, string>();
  for (const line of beam.container.lines) {
    const m = /^(nodeup|nodedown) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "nodeup") connected.set(m[2], /node_type,(\w+)/.exec(m[3])?.[1] ?? "?");
    else connected.delete(m[2]);
  }
  return connected;
}

function hiddenOf(beam: BeamPod): string[] {
  return [...connectedOf(beam)].filter(([, type]) => type === "hidden").map(([name]) => name);
}

function visibleCount(beam: BeamPod): number {
  return [...connectedOf(beam)].filter(([, type]) => type === "visible").length;
}

/** Waits for a condition outside a test (expect.poll is for tests only). */
async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The nodedown lines a BEAM pod logged for `name`. */
function nodedownsOf(beam: BeamPod, name: string): string[] {
  return beam.container.lines.filter((line) => line.startsWith(`nodedown ${name} `));
}

async function publish(): Promise<void> {
  await dns.setHosts([...beams.values()].map(({ pod }) => [SERVICE, pod.ip]));
}

/** Starts erldist's Deployment pod (a new container creation); resolves with its node name once it started. */
async function startErldist(): Promise<{ running: RunningPod; name: string }> {
  const run = podRun(erldistSpec, "erldist", context(erldistPod, `erldist-${randomBytes(3).toString("hex")}`));
  const container = Container.run(`erldist-${prefix}-erldist`, run.flags, run.image, run.args);
  const running = { pod: erldistPod, run, container };
  const started = await container.line(/node (erldist-\S+@\S+) started/);
  return { running, name: /node (erldist-\S+@\S+) started/.exec(started)![1] };
}

async function erldistStatus(): Promise<Obj> {
  const port = erldistContainerSpec.ports.find((p: Obj) => p.name === "status").containerPort;
  const response = await fetch(`http://${erldistPod.ip}:${port}/status`);
  return (await response.json()) as Obj;
}

async function erldistNodes(): Promise<string[]> {
  const status = await erldistStatus();
  return ((status.peers ?? []) as Obj[]).map((peer) => peer.name as string).sort();
}

const names = () => [...beams.values()].map((b) => b.name).sort();

/** Both sides agree: erldist is connected to exactly the Service's pods, and each lists erldist as hidden. */
async function expectJoined(name: string): Promise<void> {
  await expect.poll(erldistNodes, { timeout: 20_000 }).toEqual(names());
  for (const beam of beams.values()) await expect.poll(() => hiddenOf(beam), { timeout: 10_000 }).toContain(name);
}

async function stopErldist(running: RunningPod): Promise<number> {
  const { status } = await running.container.stop(running.run.graceSeconds);
  running.run.remove();
  ended.push(running);
  return status;
}

describe.skipIf(unavailable !== undefined)("the emulated cluster with its pods run as containers, from deploy/'s manifests", () => {
  let current: { running: RunningPod; name: string };

  beforeAll(async () => {
    network = PodNetwork.create({ tag: "c" });
    dns = await Dnsmasq.start({ address: network.gateway, port: 53, localDomains: ["cluster.local"] });
    const first = await Promise.all([2, 3, 4].map((i) => startBeamPod(i)));
    for (const beam of first) beams.set(beam.pod.index, beam);
    await publish();
    // The BEAM pods cluster among themselves through the manifest's own discovery loop.
    for (const beam of first) await until(() => visibleCount(beam) === first.length - 1, `${beam.name} clustered`, 20_000);
    erldistPod = await network.addPod(100, { epmd: false }); // erldist's join starts its built-in epmd
  }, 180_000);

  afterAll(async () => {
    await Promise.all([erldist, ...beams.values(), ...ended].filter((p): p is RunningPod => p !== undefined).map(async (p) => {
      await p.container.destroy();
      p.run.remove();
    }));
    await dns?.destroy();
    await network?.destroy();
  }, 120_000);

  it("erldist's pod joins every BEAM pod, as uid 1000 on a read-only root, and turns ready only once it has", async () => {
    current = await startErldist();
    erldist = current.running;
    const container = erldist.container;
    await untilProbe(erldistContainerSpec.readinessProbe, erldistContainerSpec, erldist);
    // Ready means joined: at the first ready answer, erldist's own document lists every pod of the Service.
    expect(await erldistNodes()).toEqual(names());
    await expectJoined(current.name);
    expect((await probe(erldistContainerSpec.livenessProbe, erldistContainerSpec, erldistPod, container)).ok).toBe(true);
    const id = await container.exec(["id", "-u"]);
    expect(id.stdout.trim()).toBe(String(erldistSpec.securityContext.runAsUser));
    const write = await container.exec(["sh", "-c", "touch /app/x"]);
    expect(write.status, "the root file system is read-only").not.toBe(0);
    expect(current.name).toBe(`${current.name.split("@")[0]}@${erldistPod.ip}`); // MY_POD_IP from the downward API
  });

  it("SIGTERM: erldist exits 0 within the grace period, and every BEAM pod sees nodedown at once (connection_closed)", async () => {
    const status = await stopErldist(current.running);
    erldist = undefined;
    expect(status, "exited by itself, not killed at the end of the grace period").toBe(0);
    for (const beam of beams.values()) {
      await expect.poll(() => nodedownsOf(beam, current.name), { timeout: 10_000 }).toHaveLength(1);
      expect(nodedownsOf(beam, current.name)[0]).toMatch(/nodedown_reason,connection_closed/);
      expect(hiddenOf(beam)).not.toContain(current.name);
    }
  });

  it("a restarted container (a new creation in the same pod) is accepted at once by every BEAM pod", async () => {
    current = await startErldist();
    erldist = current.running;
    await untilProbe(erldistContainerSpec.readinessProbe, erldistContainerSpec, erldist);
    await expectJoined(current.name);
  });

  it("after a crash (SIGKILL) the BEAM pods see the connection close, and the next container is accepted at once", async () => {
    const crashed = current;
    const { status } = await crashed.running.container.kill();
    crashed.running.run.remove();
    ended.push(crashed.running);
    expect(status).toBe(137);
    for (const beam of beams.values()) await expect.poll(() => nodedownsOf(beam, crashed.name), { timeout: 10_000 }).toHaveLength(1);
    current = await startErldist();
    erldist = current.running;
    await untilProbe(erldistContainerSpec.readinessProbe, erldistContainerSpec, erldist);
    await expectJoined(current.name);
  });

  it("scaling up: a new BEAM pod in the Service is joined by erldist and clusters with the others", async () => {
    const added = await startBeamPod(5);
    beams.set(5, added);
    await publish();
    await expectJoined(current.name);
    await expect.poll(() => visibleCount(added), { timeout: 20_000 }).toBe(beams.size - 1);
  });

  it("scaling down and replacing a pod: the removed names are pruned, the replacement (a new IP) is joined", async () => {
    const removed = [beams.get(3)!, beams.get(5)!];
    beams.delete(3);
    beams.delete(5);
    const replacement = await startBeamPod(13);
    beams.set(13, replacement);
    for (const beam of removed) {
      await beam.container.stop(beam.run.graceSeconds);
      beam.run.remove();
      await network.removePod(beam.pod);
      ended.push(beam);
    }
    await publish();
    await expectJoined(current.name);
    const after = await erldistNodes();
    for (const beam of removed) expect(after).not.toContain(beam.name);
    expect(hiddenOf(replacement)).toContain(current.name);
  });
});
