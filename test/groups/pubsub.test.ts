// Phoenix.PubSub from erldist against two real Elixir nodes running the real Phoenix.PubSub (PG adapter, a pool of
// three shard groups): broadcasts both ways, each delivered exactly once whichever node and shard sent it,
// unsubscribe, channel broadcasts as structs, broadcast_from/local/direct semantics, a PubSub missing on a node, and
// subscriptions that survive an Elixir node's restart.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Node, isStruct, mapToObject, type PubSub } from "../../src/index.js";
import { atom, tuple, type Term } from "../../src/etf/index.js";
import type { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { startPubSubNode } from "../support/phoenix.js";

let epmd: Epmd;
let a: BeamNode;
let b: BeamNode;
let scopeOnly: BeamNode;
let node: Node;
let pubsub: PubSub;
const POOL = 3;

/** Starts an Elixir subscriber on `beam` that counts what arrives on `topic` (read back with received()). */
async function elixirSubscriber(beam: BeamNode, topic: string, name: string): Promise<void> {
  await beam.eval(
    `Self = self(), register(${name}, spawn(fun() -> ok = 'Elixir.Phoenix.PubSub':subscribe('Elixir.Demo.PubSub', <<"${topic}">>), ` +
      `Self ! ready, (fun Loop(Got) -> receive {get, From} -> From ! {got, lists:reverse(Got)}, Loop(Got); M -> Loop([M | Got]) end end)([]) end)), ` +
      "receive ready -> ok end.",
  );
}

async function received(beam: BeamNode, name: string): Promise<Term[]> {
  return (await beam.eval(`${name} ! {get, self()}, receive {got, L} -> L after 5000 -> timeout end.`)) as Term[];
}

beforeAll(async () => {
  epmd = await startEpmd();
  [a, b, scopeOnly] = await Promise.all([
    startPubSubNode({ epmd, poolSize: POOL }),
    startPubSubNode({ epmd, poolSize: POOL }),
    startPubSubNode({ epmd, pubsub: false }),
  ]);
  await a.eval(`true = net_kernel:connect_node('${b.name}'), ok.`);
  node = await Node.start({ name: "pubsubtest@127.0.0.1", cookie: a.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1", terms: { binariesAsStrings: true } });
  for (const beam of [a, b]) await node.connect(beam.name);
  pubsub = node.pubsub("Demo.PubSub");
  await node.pg("Elixir.Phoenix.PubSub").whenSynced({ timeout: 10_000 });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await Promise.all([a, b, scopeOnly].map((beam) => beam?.stop()));
  await epmd?.stop();
});

describe("Phoenix.PubSub", () => {
  it("joins every shard group of the pool, and is a member on every node as the adapter's own workers are", async () => {
    const groups = ["Adapter", "Adapter_2", "Adapter_3"].map((g) => `'Elixir.Demo.PubSub.${g}'`);
    for (const beam of [a, b]) {
      for (const group of groups) {
        await expect
          .poll(() => beam.eval(`lists:member('${node.name}', [node(P) || P <- pg:get_members('Elixir.Phoenix.PubSub', ${group})]).`))
          .toBe(true);
      }
    }
    expect(pubsub.nodes().sort()).toEqual([a.name, b.name, node.name].sort());
  });

  it("every broadcast from either Elixir node, through any shard, reaches a JS subscriber exactly once", async () => {
    const subscription = pubsub.subscribe("room:exact");
    // 60 broadcasts, each from a new process (the adapter picks the shard by the sender's pid), half from each node.
    for (const beam of [a, b]) {
      await beam.eval(
        `[begin Self = self(), spawn(fun() -> ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"room:exact">>, {n, node(), I}), Self ! I end), receive I -> ok end end || I <- lists:seq(1, 30)], ok.`,
      );
    }
    const got: Term[] = [];
    for await (const message of subscription) {
      got.push(message);
      if (got.length === 60) break;
    }
    const seen = got.map((m) => inspect(m));
    expect(new Set(seen).size).toBe(60);
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more arrives: no duplicates
    expect(subscription.received).toBe(60);
    subscription.unsubscribe();
  });

  it("a JS broadcast reaches the Elixir subscribers on every node exactly once, and JS ones on this node", async () => {
    await elixirSubscriber(a, "room:js", "sub_js");
    await elixirSubscriber(b, "room:js", "sub_js");
    const local: Term[] = [];
    const subscription = pubsub.subscribe("room:js", (m) => local.push(m));
    for (let i = 1; i <= 20; i++) await pubsub.broadcast("room:js", tuple(atom("hello"), i));
    for (const beam of [a, b]) await expect.poll(async () => (await received(beam, "sub_js")).length).toBe(20);
    expect(await received(a, "sub_js")).toEqual(Array.from({ length: 20 }, (_, i) => tuple(atom("hello"), i + 1)));
    expect(local).toHaveLength(20);
    subscription.unsubscribe();
    const stats = pubsub.stats().find((t) => t.topic === "room:js")!;
    expect(stats).toMatchObject({ sent: 20, received: 20, subscribers: 0 });
  });

  it("unsubscribe: nothing more arrives, and iteration ends", async () => {
    const subscription = pubsub.subscribe("room:bye");
    await a.eval(`'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"room:bye">>, first).`);
    const iterator = subscription[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(atom("first"));
    subscription.unsubscribe();
    await a.eval(`'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"room:bye">>, second).`);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(subscription.received).toBe(1);
  });

  it("a Phoenix channel broadcast (%Phoenix.Socket.Broadcast{}) arrives as that struct", async () => {
    const subscription = pubsub.subscribe("room:channel");
    const next = subscription[Symbol.asyncIterator]().next();
    await b.eval(
      `'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"room:channel">>, ` +
        `#{'__struct__' => 'Elixir.Phoenix.Socket.Broadcast', topic => <<"room:channel">>, event => <<"new_msg">>, payload => #{<<"body">> => <<"hi">>}}).`,
    );
    const message = (await next).value as Term;
    expect(isStruct(message, "Phoenix.Socket.Broadcast")).toBe(true);
    expect(mapToObject(message)).toMatchObject({ topic: "room:channel", event: "new_msg" });
    subscription.unsubscribe();
  });

  it("broadcastFrom skips only the sender's subscription; localBroadcast stays here; directBroadcast reaches one node", async () => {
    await elixirSubscriber(a, "room:sem", "sub_sem");
    await elixirSubscriber(b, "room:sem", "sub_sem");
    const mine: Term[] = [];
    const other: Term[] = [];
    const sender = pubsub.subscribe("room:sem", (m) => mine.push(m));
    pubsub.subscribe("room:sem", (m) => other.push(m));
    await pubsub.broadcastFrom(sender, "room:sem", atom("from"));
    pubsub.localBroadcast("room:sem", atom("local"));
    await pubsub.directBroadcast(b.name, "room:sem", atom("direct"));
    await expect.poll(async () => (await received(b, "sub_sem")).length).toBe(2);
    expect(await received(b, "sub_sem")).toEqual([atom("from"), atom("direct")]);
    expect(await received(a, "sub_sem")).toEqual([atom("from")]);
    expect(mine).toEqual([atom("local")]);
    expect(other).toEqual([atom("from"), atom("local")]);
  });

  it("a stopped PubSub refuses broadcasts with a typed error, and an ignored refusal is not an unhandled rejection", async () => {
    const other = node.pubsub("Other.PubSub");
    const subscription = other.subscribe("t");
    other.stop();
    expect(subscription.active).toBe(false);
    void other.broadcast("t", atom("ignored")); // fire-and-forget: vitest fails the run on an unhandled rejection
    await expect(other.broadcast("t", atom("awaited"))).rejects.toMatchObject({ name: "NodeError", code: "stopped" });
    expect(node.pubsub("Other.PubSub")).not.toBe(other); // a new client once the old one stopped
    node.pubsub("Other.PubSub").stop();
  });

  it("a node that runs the pg scope but not this PubSub is reported", async () => {
    const missing: string[] = [];
    pubsub.on("missing", (peer) => missing.push(peer));
    await node.connect(scopeOnly.name);
    await expect.poll(() => missing).toEqual([scopeOnly.name]);
    node.disconnect(scopeOnly.name);
  });

  it("a subscription survives an Elixir node's restart: the new node's broadcasts arrive, and ours reach it", async () => {
    const subscription = pubsub.subscribe("room:restart");
    const alive = b.name.split("@")[0];
    await b.stop();
    await expect.poll(() => node.nodes().includes(b.name)).toBe(false);
    b = await startPubSubNode({ epmd, poolSize: POOL, alive, cookie: a.cookie });
    await node.connect(b.name);
    await expect.poll(() => pubsub.nodes().includes(b.name)).toBe(true);
    await b.eval(`'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"room:restart">>, after_restart).`);
    expect((await subscription[Symbol.asyncIterator]().next()).value).toBe(atom("after_restart"));
    await elixirSubscriber(b, "room:restart", "sub_restart");
    await pubsub.broadcast("room:restart", atom("to_new_node"));
    await expect.poll(() => received(b, "sub_restart")).toEqual([atom("to_new_node")]);
    subscription.unsubscribe();
  });
});
