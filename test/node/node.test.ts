// The node against real erl (OTP 25): connect both ways, ping both ways, hidden and visible, cookies, epmd errors,
// nodeup/nodedown with reasons.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistError } from "../../src/dist/index.js";
import { EpmdError } from "../../src/epmd/index.js";
import { Pid, atom, tuple } from "../../src/etf/index.js";
import { Node, NodeError, defaultCookie } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { freePort } from "../support/net.js";

let epmd: Epmd;
let beam: BeamNode;
const started: Node[] = [];
let counter = 0;

async function startNode(overrides: Partial<Parameters<typeof Node.start>[0]> = {}): Promise<Node> {
  const node = await Node.start({
    name: `tsnode${++counter}@127.0.0.1`,
    cookie: beam.cookie,
    epmd: { port: epmd.port },
    listenHost: "127.0.0.1",
    ...overrides,
  });
  started.push(node);
  return node;
}

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd });
});

afterAll(async () => {
  await Promise.all(started.map((node) => node.stop()));
  await beam?.stop();
  await epmd?.stop();
});

describe("Node against real erl", () => {
  it("connects to erl as a hidden node, with a nodeup event", async () => {
    const node = await startNode();
    const up = new Promise<string>((resolve) => node.once("nodeup", resolve));
    expect(await node.connect(beam.name)).toBe(true);
    expect(await up).toBe(beam.name);
    expect(node.nodes()).toEqual([beam.name]);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(node.name));
    expect(await beam.eval("nodes().")).not.toContainEqual(atom(node.name));
    expect(await node.connect(beam.name)).toBe(true); // already connected: at once
  });

  it("peers() and stats(): when each connection came up, hidden or not, and counters that outlive the connection", async () => {
    const node = await startNode();
    const before = Date.now();
    await node.connect(beam.name);
    expect(await node.ping(beam.name)).toBe("pong");
    const [peer] = node.peers();
    expect(peer.name).toBe(beam.name);
    expect(peer.hidden).toBe(false); // the test's erl is a visible node
    expect(peer.since).toBeGreaterThanOrEqual(before);
    expect(peer.stats.messagesOut).toBeGreaterThanOrEqual(1);
    expect(peer.stats.messagesIn).toBeGreaterThanOrEqual(1);
    const down = new Promise((resolve) => node.once("nodedown", resolve));
    node.disconnect(beam.name);
    await down;
    const stats = node.stats();
    expect(stats).toMatchObject({ connectionsUp: 1, connectionsDown: 1 });
    expect(stats.messagesOut).toBe(peer.stats.messagesOut);
    expect(stats.bytesIn).toBeGreaterThan(0);
    expect(node.peers()).toEqual([]);
  });

  it("pings erl (pong) and an absent node (pang), as net_adm:ping/1", async () => {
    const node = await startNode();
    expect(await node.ping(beam.name)).toBe("pong");
    expect(await node.ping("nobody@127.0.0.1")).toBe("pang");
  });

  it("erl pings the erldist node (net_kernel is_auth answered) and connects to it", async () => {
    const node = await startNode();
    expect(await beam.eval(`net_adm:ping('${node.name}').`)).toBe(atom("pong"));
    expect(node.nodes()).toContain(beam.name);
    const other = await startNode();
    expect(await beam.eval(`net_kernel:connect_node('${other.name}').`)).toBe(true);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(other.name));
  });

  it("a visible node is listed by erl's nodes()", async () => {
    const node = await startNode({ hidden: false });
    await node.connect(beam.name);
    // BEAM's accepting side sends its challenge ack before net_kernel marks the node up: nodes() may lag a moment.
    await expect.poll(() => beam.eval("nodes()."), { timeout: 5000 }).toContainEqual(atom(node.name));
    node.disconnect(beam.name);
    await expect.poll(() => beam.eval("nodes()."), { timeout: 5000 }).not.toContainEqual(atom(node.name));
  });

  it("a wrong cookie fails each way with a clear error, and the node stays up", async () => {
    const wrong = await startNode({ cookie: "wrong-cookie" });
    const error = await wrong.connect(beam.name).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DistError);
    expect((error as DistError).code).toBe("cookie_rejected");
    expect(await beam.eval(`net_adm:ping('${wrong.name}').`)).toBe(atom("pang"));
    expect(wrong.nodes()).toEqual([]);
    const right = await startNode();
    expect(await right.ping(beam.name)).toBe("pong");
  });

  it("disconnect brings the node down on both sides, with a reason", async () => {
    const node = await startNode();
    await node.connect(beam.name);
    const down = new Promise<[string, Error]>((resolve) => node.once("nodedown", (name, reason) => resolve([name, reason])));
    expect(node.disconnect(beam.name)).toBe(true);
    const [name, reason] = await down;
    expect(name).toBe(beam.name);
    expect(reason).toBeInstanceOf(Error);
    await expect.poll(() => beam.eval("nodes(hidden)."), { timeout: 5000 }).not.toContainEqual(atom(node.name));
    expect(node.disconnect(beam.name)).toBe(false);
  });

  it("sees a peer killed with kill -9 go down (nodedown within net_ticktime)", async () => {
    const doomed = await BeamNode.start({ epmd, args: ["-kernel", "net_ticktime", "2"] });
    const node = await startNode({ tickTime: 2 });
    await node.connect(doomed.name);
    const down = new Promise<Error>((resolve) => node.once("nodedown", (_name, reason) => resolve(reason)));
    process.kill(doomed.pid!, "SIGKILL");
    expect(await down).toBeInstanceOf(DistError);
    expect(node.nodes()).not.toContain(doomed.name);
    await doomed.stop();
  });
});

describe("Node start-up errors", () => {
  it("a name already registered in epmd is refused with name_taken", async () => {
    const first = await startNode();
    const error = await Node.start({ name: first.name, cookie: "c", epmd: { port: epmd.port }, listenHost: "127.0.0.1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EpmdError);
    expect((error as EpmdError).code).toBe("name_taken");
  });

  it("epmd down: a clear error", async () => {
    const error = await Node.start({ name: "lonely@127.0.0.1", cookie: "c", epmd: { port: await freePort() }, listenHost: "127.0.0.1" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EpmdError);
    expect((error as EpmdError).code).toBe("unreachable");
  });

  it("an unregistered peer name: a not_registered error", async () => {
    const node = await startNode();
    const error = await node.connect("ghost@127.0.0.1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeError);
    expect((error as NodeError).code).toBe("not_registered");
  });

  it("without epmd: connects to a peer at a known port", async () => {
    const port = (await (await import("../../src/epmd/index.js")).lookupNode(beam.name.split("@")[0], { port: epmd.port }))!.port;
    const node = await startNode({ epmd: false });
    expect(await node.connect(beam.name, { port })).toBe(true);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(node.name));
  });

  it("reads the cookie as erl does", () => {
    expect(defaultCookie({ ERLANG_COOKIE: "from-env" })).toBe("from-env");
  });
});

describe("what the node answers without user code", () => {
  it("a gen_server:call to a name the node does not have fails at once with noproc (monitor answered)", async () => {
    const node = await startNode();
    const result = (await beam.eval(
      `T0 = erlang:monotonic_time(millisecond), R = (catch gen_server:call({nothere, '${node.name}'}, hi, 20000)), {element(1, element(2, R)), erlang:monotonic_time(millisecond) - T0 < 10000}.`,
    )) as { elements: unknown[] };
    expect(result.elements).toEqual([atom("noproc"), true]);
    const auth = await beam.eval(`gen_server:call({net_kernel, '${node.name}'}, {is_auth, node()}).`);
    expect(auth).toBe(atom("yes"));
  });

  it("a link to a process the node does not run gets an EXIT with noproc", async () => {
    const node = await startNode();
    await node.connect(beam.name);
    const reason = await beam.eval(`
      Self = self(),
      Bin = <<131, 88, 119, ${Buffer.byteLength(node.name)}, "${node.name}", 0:32, 123:32, ${node.creation}:32>>,
      Remote = binary_to_term(Bin),
      spawn(fun() -> process_flag(trap_exit, true), link(Remote), receive {'EXIT', Remote, Why} -> Self ! {why, Why} after 5000 -> Self ! {why, timeout} end end),
      receive {why, W} -> W end.`);
    expect(reason).toBe(atom("noproc"));
  });
});

describe("send", () => {
  it("connects on demand and delivers to a registered name and to a pid", async () => {
    const node = await startNode();
    await beam.eval(
      "catch ets:new(sent, [named_table, public]), register(sink, spawn(fun Loop() -> receive M -> ets:insert(sent, {erlang:unique_integer(), M}), Loop() end end)), ok.",
    );
    expect(node.nodes()).toEqual([]);
    await node.send(["sink", beam.name], tuple(atom("first"), "text"));
    expect(node.nodes()).toEqual([beam.name]);
    const sink = (await beam.eval("whereis(sink).")) as Pid;
    await node.send(sink, atom("second"));
    await expect.poll(() => beam.eval("length(ets:tab2list(sent)).")).toBe(2);
    // Checked in Erlang: the terms that arrived are exactly these, in this order.
    expect(await beam.eval('[M || {_, M} <- lists:sort(ets:tab2list(sent))] =:= [{first, <<"text">>}, second].')).toBe(true);
  });

  it("a send to an unreachable node rejects with the reason", async () => {
    const node = await startNode();
    await expect(node.send(["x", "ghost@127.0.0.1"], 1)).rejects.toBeInstanceOf(NodeError);
  });
});

describe("connection races and epmd-less peers", () => {
  it("simultaneous connects from both sides end with one connection, as OTP resolves them", async () => {
    for (let round = 0; round < 5; round++) {
      const node = await startNode();
      const [ours, theirs] = await Promise.all([node.connect(beam.name), beam.eval(`net_kernel:connect_node('${node.name}').`)]);
      expect(ours).toBe(true);
      expect(theirs).toBe(true);
      expect(node.nodes()).toEqual([beam.name]);
      expect(await node.ping(beam.name)).toBe("pong");
      expect(((await beam.eval("nodes(hidden).")) as unknown[]).filter((n) => n === atom(node.name))).toHaveLength(1);
      await node.stop();
    }
  });

  it("an erl started without epmd (-erl_epmd_port, -dist_listen false) connects to an epmd-less erldist node", async () => {
    const node = await startNode({ epmd: false });
    const client = await BeamNode.start({
      epmd,
      args: ["-dist_listen", "false", "-erl_epmd_port", String(node.port)],
    });
    try {
      expect(await client.eval(`net_kernel:connect_node('${node.name}').`)).toBe(true);
      expect(await client.eval(`net_adm:ping('${node.name}').`)).toBe(atom("pong"));
      expect(node.nodes()).toContain(client.name);
    } finally {
      await client.stop();
    }
  });
});

describe("stop", () => {
  it("unregisters from epmd and takes every connection down; BEAM sees the node go", async () => {
    const node = await startNode();
    await node.connect(beam.name);
    const alive = node.name.split("@")[0];
    const { lookupNode } = await import("../../src/epmd/index.js");
    expect(await lookupNode(alive, { port: epmd.port })).toBeDefined();
    await node.stop();
    expect(await lookupNode(alive, { port: epmd.port })).toBeUndefined();
    await expect.poll(() => beam.eval("nodes(hidden)."), { timeout: 5000 }).not.toContainEqual(atom(node.name));
    await expect(node.connect(beam.name)).rejects.toBeInstanceOf(NodeError);
  });
});
