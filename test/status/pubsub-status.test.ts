// The status server's pg and Phoenix.PubSub figures, against an Elixir node running the real Phoenix.PubSub (a pool
// of two shard groups): the JSON document and /metrics list the groups this node joined (names as terms, in Erlang
// syntax) with their member counts and the nodes synced, and a topic's subscribers and received and sent counts after
// broadcasts both ways; the page shows them as text.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Node, StatusServer, type PubSub, type StatusDocument, type Subscription } from "../../src/index.js";
import { atom, tuple } from "../../src/etf/index.js";
import type { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { startPubSubNode } from "../support/phoenix.js";
import { parsePrometheus, valueOf } from "./prometheus.js";

let epmd: Epmd | undefined;
let beam: BeamNode | undefined;
let node: Node | undefined;
let server: StatusServer | undefined;
let pubsub: PubSub;
let subscription: Subscription;

const SCOPE = "Elixir.Phoenix.PubSub";
const GROUP = tuple(atom("room"), Buffer.from("<b>x</b>")); // a group name that is a term, with markup in it

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await startPubSubNode({ epmd, poolSize: 2 });
  node = await Node.start({ name: "pgstatus@127.0.0.1", cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  server = await StatusServer.start({ node, port: 0, host: "127.0.0.1" });
  await node.connect(beam.name);
  pubsub = node.pubsub("Demo.PubSub");
  await node.pg(SCOPE).whenSynced({ timeout: 10_000 });
  node.pg("erldist_status_test").join(GROUP, [node.spawn(), node.spawn()]);
  subscription = pubsub.subscribe("room:status");
  // The Elixir node lists this node's listener in its adapter's groups: its broadcasts reach us from now on.
  for (const group of ["Adapter", "Adapter_2"]) {
    const listed = `lists:member('${node.name}', [node(P) || P <- pg:get_members('${SCOPE}', 'Elixir.Demo.PubSub.${group}')]).`;
    await vi.waitFor(async () => expect(await beam!.eval(listed)).toBe(true), { timeout: 10_000, interval: 50 });
  }
  await beam.eval(`[ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.Demo.PubSub', <<"room:status">>, {n, I}) || I <- lists:seq(1, 3)], ok.`);
  await pubsub.broadcast("room:status", atom("from_js"));
  await pubsub.broadcast("room:quiet", atom("nobody_here"));
  await vi.waitFor(() => expect(subscription.received).toBe(4), { timeout: 10_000, interval: 20 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await node?.stop();
  await beam?.stop();
  await epmd?.stop();
});

async function statusJson(): Promise<StatusDocument> {
  return (await (await fetch(new URL("/status", server!.url))).json()) as StatusDocument;
}

describe("pg scopes and Phoenix.PubSub on the status server", () => {
  it("the document lists each scope's joined groups with member counts, and the nodes synced", async () => {
    const doc = await statusJson();
    expect(doc.pgScopes.map((s) => s.scope)).toEqual([SCOPE, "erldist_status_test"]);
    expect(doc.pgScopes[0]).toEqual({
      scope: SCOPE,
      groups: [
        { group: "'Elixir.Demo.PubSub.Adapter'", localMembers: 1, members: 2 },
        { group: "'Elixir.Demo.PubSub.Adapter_2'", localMembers: 1, members: 2 },
      ],
      syncedNodes: [beam!.name],
    });
    // The Elixir node runs no scope of that name: nothing synced, the group is this node's alone.
    expect(doc.pgScopes[1]).toEqual({ scope: "erldist_status_test", groups: [{ group: '{room,<<"<b>x</b>">>}', localMembers: 2, members: 2 }], syncedNodes: [] });
  });

  it("the document lists each PubSub's nodes and topics with subscribers, received and sent counts", async () => {
    const doc = await statusJson();
    expect(doc.pubsubs.map(({ name, nodes }) => ({ name, nodes }))).toEqual([{ name: "Elixir.Demo.PubSub", nodes: [beam!.name, node!.name].sort() }]);
    const topics = doc.pubsubs[0].topics;
    expect(topics.map((t) => t.topic)).toEqual(["room:quiet", "room:status"]);
    // Three from the Elixir node, and this node's own broadcast, delivered here too.
    expect(topics[1]).toEqual({ topic: "room:status", subscribers: 1, received: 4, sent: 1 });
    expect(topics[0]).toMatchObject({ topic: "room:quiet", subscribers: 0, sent: 1 });
    expect(server!.status().pubsubs).toEqual(doc.pubsubs);
  });

  it("/metrics has the groups' local members, the synced nodes and each topic's figures", async () => {
    const metrics = parsePrometheus(await (await fetch(new URL("/metrics", server!.url))).text());
    expect(metrics.get("erldist_pg_local_members")?.type).toBe("gauge");
    expect(valueOf(metrics, "erldist_pg_local_members", { scope: SCOPE, group: "'Elixir.Demo.PubSub.Adapter'" })).toBe(1);
    expect(valueOf(metrics, "erldist_pg_local_members", { scope: SCOPE, group: "'Elixir.Demo.PubSub.Adapter_2'" })).toBe(1);
    expect(valueOf(metrics, "erldist_pg_local_members", { scope: "erldist_status_test", group: '{room,<<"<b>x</b>">>}' })).toBe(2);
    expect(valueOf(metrics, "erldist_pg_synced_nodes", { scope: SCOPE })).toBe(1);
    expect(valueOf(metrics, "erldist_pubsub_nodes", { pubsub: "Elixir.Demo.PubSub" })).toBe(2);
    const topic = { pubsub: "Elixir.Demo.PubSub", topic: "room:status" };
    expect(metrics.get("erldist_pubsub_messages_received_total")?.type).toBe("counter");
    expect(metrics.get("erldist_pubsub_messages_sent_total")?.type).toBe("counter");
    expect(valueOf(metrics, "erldist_pubsub_messages_received_total", topic)).toBe(4);
    expect(valueOf(metrics, "erldist_pubsub_messages_sent_total", topic)).toBe(1);
    expect(valueOf(metrics, "erldist_pubsub_subscribers", topic)).toBe(1);
    expect(valueOf(metrics, "erldist_pubsub_messages_sent_total", { ...topic, topic: "room:quiet" })).toBe(1);
  });

  it("the page shows the scopes and the PubSub, the group names as text", async () => {
    const html = await (await fetch(server!.url)).text();
    expect(html).toContain(`<section class="card pg" data-scope="${SCOPE}">`);
    expect(html).toContain("{room,&lt;&lt;&quot;&lt;b&gt;x&lt;/b&gt;&quot;&gt;&gt;}");
    expect(html).not.toContain("<b>x</b>");
    expect(html).toContain(`<section class="card pubsub" data-pubsub="Elixir.Demo.PubSub">`);
    expect(html).toMatch(/<tr data-topic="room:status"><td class="mono">room:status<\/td><td class="num">1<\/td><td class="num">4<\/td><td class="num">1<\/td><\/tr>/);
  });

  it("a group joined later pushes a document at once; a stopped PubSub leaves the document", async () => {
    const updates: StatusDocument[] = [];
    const onUpdate = (doc: StatusDocument): void => void updates.push(doc);
    server!.on("update", onUpdate);
    try {
      server!.status(); // the server watches the scopes that exist when it builds a document
      node!.pg("erldist_status_test").join(atom("later"), node!.spawn());
      await vi.waitFor(() => expect(updates.some((d) => d.pgScopes[1]?.groups.some((g) => g.group === "later"))).toBe(true), { timeout: 1000, interval: 20 });
    } finally {
      server!.off("update", onUpdate);
    }
    pubsub.stop();
    expect(server!.status().pubsubs).toEqual([]);
    expect(server!.status().pgScopes[0].groups).toEqual([]);
  });
});
