// Phoenix.PubSub across emulated pods: Elixir pods named app@<pod IP> run the real Phoenix.PubSub and the DNS
// discovery loop such apps run (dns_cluster.erl), erldist runs in a pod of its own with DNS discovery. erldist
// subscribes once and gets each broadcast from any pod exactly once; its broadcasts reach every pod's subscriber;
// a pod added to the Service is discovered, synced, and its broadcasts arrive too. Needs root; CI runs as root.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BeamNode } from "../support/beam.js";
import { Dnsmasq } from "../support/dnsmasq.js";
import { ErldistPod } from "../support/erldist-pod.js";
import { startPubSubNode } from "../support/phoenix.js";
import { PodNetwork, podsUnavailable, type Pod } from "../support/pods.js";
import type { Term } from "../../src/etf/index.js";

const unavailable = podsUnavailable();
if (unavailable) console.warn(`[test/cluster] skipped: ${unavailable}`);

const SERVICE = "app-headless.app.svc.cluster.local";
const COOKIE = "app-pubsub-cookie";
const PUBSUB = "Demo.PubSub";

let network: PodNetwork;
let dns: Dnsmasq;
let erldist: ErldistPod;
let erldistPod: Pod;
const pods: Array<{ pod: Pod; beam: BeamNode }> = [];

async function startAppPod(index: number): Promise<{ pod: Pod; beam: BeamNode }> {
  const pod = await network.addPod(index);
  const beam = await startPubSubNode({ epmd: { port: 4369 }, alive: "app", host: pod.ip, wrap: pod.wrap, cookie: COOKIE, poolSize: 2 });
  await beam.eval(`dns_cluster:start("${SERVICE}", "app", 1000).`);
  // A subscriber on the pod that keeps what arrives on room:pods (read with collected()).
  await beam.eval(
    `Self = self(), register(collector, spawn(fun() -> ok = 'Elixir.Phoenix.PubSub':subscribe('Elixir.${PUBSUB}', <<"room:pods">>), Self ! ready, ` +
      "(fun Loop(Got) -> receive {get, From} -> From ! {got, lists:reverse(Got)}, Loop(Got); M -> Loop([M | Got]) end end)([]) end)), receive ready -> ok end.",
  );
  return { pod, beam };
}

const collected = async (beam: BeamNode) => (await beam.eval("collector ! {get, self()}, receive {got, L} -> L after 5000 -> timeout end.")) as Term[];

async function publish(): Promise<void> {
  await dns.setHosts(pods.map(({ pod }) => [SERVICE, pod.ip]));
}

describe.skipIf(unavailable !== undefined)("Phoenix.PubSub on emulated pods", () => {
  beforeAll(async () => {
    network = PodNetwork.create();
    dns = await Dnsmasq.start({ address: network.gateway, port: 53, localDomains: ["cluster.local"] });
    pods.push(...(await Promise.all([2, 3].map((i) => startAppPod(i)))));
    await publish();
    erldistPod = await network.addPod(100, { epmd: false });
    erldist = await ErldistPod.start(erldistPod, `erldist@${erldistPod.ip}`, COOKIE);
    await erldist.discover({ dns: SERVICE, basename: "app", interval: 1000 });
    await erldist.subscribe(PUBSUB, "room:pods");
  }, 180_000);

  afterAll(async () => {
    await erldist?.stop();
    await Promise.all(pods.map(({ beam }) => beam.stop()));
    await dns?.destroy();
    await network?.destroy();
  }, 60_000);

  it("discovered pods run the PubSub; each pod's broadcasts reach erldist exactly once", async () => {
    const expected = [...pods.map((p) => p.beam.name), `erldist@${erldistPod.ip}`].sort();
    await expect.poll(() => erldist.pubsubNodes(PUBSUB), { timeout: 20_000 }).toEqual(expected);
    for (const [i, { beam }] of pods.entries()) {
      await beam.eval(`[begin S = self(), spawn(fun() -> 'Elixir.Phoenix.PubSub':broadcast('Elixir.${PUBSUB}', <<"room:pods">>, {pod, ${i}, N}), S ! N end), receive N -> ok end end || N <- lists:seq(1, 10)], ok.`);
    }
    await expect.poll(async () => (await erldist.received(PUBSUB, "room:pods")).length, { timeout: 10_000 }).toBe(20);
    const got = await erldist.received(PUBSUB, "room:pods");
    expect(new Set(got).size).toBe(20);
  });

  it("erldist's broadcast reaches the subscriber on every pod once", async () => {
    await erldist.broadcast(PUBSUB, "room:pods", "from_erldist");
    for (const { beam } of pods) await expect.poll(() => collected(beam), { timeout: 10_000 }).toContainEqual(expect.objectContaining({ name: "from_erldist" }));
    for (const { beam } of pods) expect((await collected(beam)).filter((m) => (m as { name?: string }).name === "from_erldist")).toHaveLength(1);
  });

  it("a pod added to the Service is discovered and synced: its broadcasts arrive, and ours reach it", async () => {
    const added = await startAppPod(4);
    pods.push(added);
    await publish();
    await expect.poll(() => erldist.pubsubNodes(PUBSUB), { timeout: 20_000 }).toContain(added.beam.name);
    const before = (await erldist.received(PUBSUB, "room:pods")).length;
    await added.beam.eval(`'Elixir.Phoenix.PubSub':broadcast('Elixir.${PUBSUB}', <<"room:pods">>, from_new_pod).`);
    await expect.poll(async () => (await erldist.received(PUBSUB, "room:pods")).slice(before), { timeout: 10_000 }).toEqual([expect.stringContaining("from_new_pod")]);
    await erldist.broadcast(PUBSUB, "room:pods", "welcome");
    await expect.poll(() => collected(added.beam), { timeout: 10_000 }).toContainEqual(expect.objectContaining({ name: "welcome" }));
  });
});
