// Control messages a BEAM peer never sends the node, from another peer speaking the real protocol (erldist's own
// handshake and connection): the traced exit/2 kinds OTP accepts but does not send, control messages erldist cannot
// act on (an unknown tag, a known tag in a shape it cannot use), and a control term that is no control message.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DistConnection, DistError, ERLDIST_FLAGS, UnusableControlError, initiateHandshake, makeControl } from "../../src/dist/index.js";
import { Pid, Tuple, atom, tuple, type Term } from "../../src/etf/index.js";
import { Node } from "../../src/node/index.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

const COOKIE = "control-in-cookie";
let epmd: Epmd;
let node: Node;
const peers: DistConnection[] = [];

beforeAll(async () => {
  epmd = await startEpmd();
  node = await Node.start({ name: "ctlin@127.0.0.1", cookie: COOKIE, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
});

afterAll(async () => {
  for (const peer of peers) peer.close();
  await node?.stop();
  await epmd?.stop();
});

/** A peer connected to the node, named `alive@127.0.0.1`, and a pid of it. */
async function peer(alive: string): Promise<{ connection: DistConnection; name: string; pid: Pid }> {
  const name = `${alive}@127.0.0.1`;
  const socket = connect({ host: "127.0.0.1", port: node.port });
  await new Promise((resolve) => socket.once("connect", resolve));
  const handshake = await initiateHandshake(socket, { name, cookie: COOKIE, creation: 9, flags: ERLDIST_FLAGS }, node.name);
  const connection = new DistConnection(socket, handshake);
  peers.push(connection);
  await expect.poll(() => node.nodes()).toContain(name);
  return { connection, name, pid: new Pid(atom(name), 1, 0, 9) };
}

const TIMEOUT = { timeout: 5000 };
const TOKEN = new Tuple([0, 17, 1, new Pid(atom("tracer@127.0.0.1"), 1, 0, 1), 0]);

describe("control messages from a peer", () => {
  it("EXIT2_TT and PAYLOAD_EXIT2_TT (accepted by OTP, never sent by it) act as exit/2, the token ignored", async () => {
    const { connection, name, pid } = await peer("exiter");
    const p = node.spawn();
    p.trapExits = true;
    await connection.send(makeControl("EXIT2_TT", { from: pid, to: p.pid, traceToken: TOKEN, reason: atom("one") }));
    expect(await p.receive(undefined, TIMEOUT)).toEqual(tuple(atom("EXIT"), pid, atom("one")));
    await connection.send(makeControl("PAYLOAD_EXIT2_TT", { from: pid, to: p.pid, traceToken: TOKEN }), tuple(atom("two"), 2));
    expect(await p.receive(undefined, TIMEOUT)).toEqual(tuple(atom("EXIT"), pid, tuple(atom("two"), 2)));
    const q = node.spawn();
    await connection.send(makeControl("EXIT2_TT", { from: pid, to: q.pid, traceToken: TOKEN, reason: atom("stop") }));
    await expect.poll(() => q.alive, TIMEOUT).toBe(false);
    expect(node.controlStats(name)!.in).toMatchObject({ EXIT2_TT: 2, PAYLOAD_EXIT2_TT: 1 });
    p.exit();
  });

  it("one it cannot act on is ignored, counted, and reported once per tag per connection; the connection stays", async () => {
    const { connection, name, pid } = await peer("newer");
    const p = node.spawn();
    const reports: Array<[string, number, UnusableControlError]> = [];
    const listener = (peerName: string, tag: number, error: UnusableControlError) => reports.push([peerName, tag, error]);
    node.on("unknownControl", listener);
    try {
      await connection.send(tuple(99, atom("from_the_future")));
      await connection.send(tuple(99, atom("again")));
      await connection.send(tuple(1, pid)); // LINK with a field missing
      await connection.send(makeControl("SEND_SENDER", { from: pid, to: atom("not_a_pid") }), atom("lost"));
      // Routed in order: once the marker arrives, everything before it has been handled.
      await connection.send(makeControl("SEND_SENDER", { from: pid, to: p.pid }), atom("marker"));
      expect(await p.receive(undefined, TIMEOUT)).toBe(atom("marker"));
      expect(reports.map(([peerName, tag, error]) => [peerName, tag, error.kind ?? "unknown", error.message])).toEqual([
        [name, 99, "unknown", "unknown control message tag 99 (2 elements)"],
        [name, 1, "LINK", "LINK has 3 elements, not 2"],
        [name, 22, "SEND_SENDER", "SEND_SENDER's to must be a pid"],
      ]);
      expect(reports[0][2].control).toEqual(tuple(99, atom("from_the_future")));
      expect(node.controlStats(name)!.unknown).toEqual({ 99: 2, 1: 1, 22: 1 });
      expect(node.controlStats(name)!.in.SEND_SENDER).toBe(1); // the marker; the unusable one is not counted as a SEND_SENDER
      expect([connection.open, node.nodes().includes(name), p.queued]).toEqual([true, true, 0]);
    } finally {
      node.off("unknownControl", listener);
      p.exit();
    }
  });

  it("with no unknownControl listener, the first of each tag goes to the console, once", async () => {
    const { connection, pid } = await peer("quiet");
    const p = node.spawn();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      for (let i = 0; i < 3; i++) await connection.send(tuple(98, i));
      await connection.send(makeControl("SEND_SENDER", { from: pid, to: p.pid }), atom("marker"));
      expect(await p.receive(undefined, TIMEOUT)).toBe(atom("marker"));
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/quiet@127\.0\.0\.1 sent a control message .*unknown control message tag 98.*unknownControl event/);
    } finally {
      warn.mockRestore();
      p.exit();
    }
  });

  it("a control term that is not a tuple with an integer tag closes only that connection, with a protocol error", async () => {
    const good = await peer("good");
    const bad = await peer("bad");
    const down = new Promise<[string, Error]>((resolve) => node.once("nodedown", (name, reason) => resolve([name, reason])));
    await bad.connection.send(atom("not_a_control_message") as Term);
    const [name, reason] = await down;
    expect(name).toBe(bad.name);
    expect(reason).toBeInstanceOf(DistError);
    expect((reason as DistError).code).toBe("protocol");
    expect(node.nodes()).toContain(good.name);
    expect(good.connection.open).toBe(true);
  });
});
