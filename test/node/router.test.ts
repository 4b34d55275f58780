// The router on its own, fed control messages as a connection parses them: where each one goes (a mailbox, an
// exit signal, a table), and what it answers through the connection's verbs for processes that do not exist.
// (The same traffic from real erl, on every release, is in control-in, links, altact, traced and calls.)
import { describe, expect, it } from "vitest";
import { ALTACT_FLAG, makeControl, parseControl, type DistConnection } from "../../src/dist/index.js";
import { Pid, Reference, atom, decode, encode, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { ProcessTable } from "../../src/node/process-table.js";
import { Router } from "../../src/node/router.js";
import { Signals, type SignalRoutes } from "../../src/node/signals.js";

const NAME = "router@127.0.0.1";
const PEER = "beam@127.0.0.1";
const remote = new Pid(atom(PEER), 40, 0, 7);
const noRoutes: SignalRoutes = {
  open: () => undefined,
  connect: () => Promise.reject(new Error("no connections in this test")),
  connectForSend: () => Promise.reject(new Error("no connections in this test")),
};

/** A connection that records the verbs the router calls on it. */
function recorder(): { connection: DistConnection; calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = [];
  const verb = (name: string) => (...args: unknown[]) => void calls.push([name, ...args]);
  const connection = { peerName: PEER, monitorExit: verb("monitorExit"), spawnReply: verb("spawnReply"), linkExit: verb("linkExit"), unlinkAck: verb("unlinkAck") };
  return { connection: connection as unknown as DistConnection, calls };
}

function setup(terms: { binariesAsStrings?: boolean } = {}) {
  const table = new ProcessTable(NAME, 5);
  const signals = new Signals(table, noRoutes, terms);
  const router = new Router(table, terms);
  const { connection, calls } = recorder();
  const route = (kind: Parameters<typeof makeControl>[0], fields: Record<string, Encodable>, payload?: Encodable) =>
    router.route(connection, parseControl(decode(encode(makeControl(kind, fields))), payload === undefined ? undefined : decode(encode(payload), terms)));
  // (payloads decode with the node's terms in the connection; control tuples exactly, mapped by the router)
  return { table, signals, route, calls };
}

const queued = async (process: { receive: (m?: undefined, o?: { timeout: number }) => Promise<Term> }) => process.receive(undefined, { timeout: 50 });

describe("the router", () => {
  it("delivers sends to a pid, a registered name and an active alias; drops what has no receiver", async () => {
    const { table, signals, route } = setup();
    const p = signals.spawn();
    table.register("inbox", p);
    const alias = table.addAlias(p, false);
    route("SEND_SENDER", { from: remote, to: p.pid }, atom("one"));
    route("REG_SEND", { from: remote, toName: atom("inbox") }, atom("two"));
    route("ALIAS_SEND", { from: remote, alias }, atom("three"));
    route("SEND_TT", { to: p.pid, traceToken: atom("token") }, atom("four"));
    route("REG_SEND", { from: remote, toName: atom("nobody") }, atom("lost"));
    route("SEND_SENDER", { from: remote, to: new Pid(atom(NAME), 999, 0, 5) }, atom("lost"));
    table.removeAlias(p, alias);
    route("ALIAS_SEND", { from: remote, alias }, atom("lost"));
    const got = [await queued(p), await queued(p), await queued(p), await queued(p)];
    expect(got).toEqual([atom("one"), atom("two"), atom("three"), atom("four")]);
    expect(p.queued).toBe(0);
  });

  it("ALTACT_SIG_SEND: priority only through an active priority alias; with EXIT, an exit signal", async () => {
    const { table, signals, route } = setup();
    const p = signals.spawn();
    p.trapExits = true;
    const urgent = table.addAlias(p, true);
    route("SEND_SENDER", { from: remote, to: p.pid }, atom("ordinary"));
    route("ALTACT_SIG_SEND", { flags: ALTACT_FLAG.ALIAS | ALTACT_FLAG.PRIO, from: remote, to: urgent }, atom("first"));
    route("ALTACT_SIG_SEND", { flags: ALTACT_FLAG.PRIO, from: remote, to: p.pid }, atom("not_priority_to_a_pid"));
    route("ALTACT_SIG_SEND", { flags: ALTACT_FLAG.ALIAS | ALTACT_FLAG.EXIT, from: remote, to: urgent }, atom("why"));
    expect(await queued(p)).toBe(atom("first"));
    expect(await queued(p)).toBe(atom("ordinary"));
    expect(await queued(p)).toBe(atom("not_priority_to_a_pid"));
    expect(await queued(p)).toEqual(tuple(atom("EXIT"), remote, atom("why")));
  });

  it("a monitor of a live process is kept (and fires when it exits); of nothing, it answers noproc at once", () => {
    const { table, signals, route, calls } = setup();
    const p = signals.spawn();
    table.register("svc", p);
    const ref = new Reference(atom(PEER), 7, [1, 2, 3]);
    route("MONITOR_P", { from: remote, toProc: atom("svc"), ref });
    route("MONITOR_P", { from: remote, toProc: atom("missing"), ref });
    expect(calls).toEqual([["monitorExit", atom("missing"), remote, ref, atom("noproc")]]);
    const owed = table.remove(p);
    expect(owed.map((w) => [w.toProc, w.from])).toEqual([[atom("svc"), remote]]);
  });

  it("a DOWN for a monitor a local process holds reaches it as {'DOWN', Ref, process, Target, Reason}", async () => {
    const { table, signals, route } = setup();
    const p = signals.spawn();
    const ref = table.makeRef();
    table.addHeld({ process: p, ref, peer: PEER, target: remote, toProc: remote });
    route("PAYLOAD_MONITOR_P_EXIT", { fromProc: remote, to: p.pid, ref }, tuple(atom("shutdown"), 1));
    route("MONITOR_P_EXIT", { fromProc: remote, to: p.pid, ref, reason: atom("again") }); // gone already: nothing
    expect(await queued(p)).toEqual(tuple(atom("DOWN"), ref, atom("process"), remote, tuple(atom("shutdown"), 1)));
    expect(p.queued).toBe(0);
  });

  it("links: a link to a live process is kept, to none answers noproc; UNLINK_ID is acknowledged first", () => {
    const { signals, route, calls } = setup();
    const p = signals.spawn();
    route("LINK", { from: remote, to: p.pid });
    expect(p.linked()).toEqual([remote]);
    const gone = new Pid(atom(NAME), 500, 0, 5);
    route("LINK", { from: remote, to: gone });
    route("UNLINK_ID", { id: 9, from: remote, to: p.pid });
    expect(calls).toEqual([
      ["linkExit", gone, remote, atom("noproc")],
      ["unlinkAck", 9, p.pid, remote],
    ]);
    expect(p.linked()).toEqual([]);
  });

  it("exit signals: EXIT through a link ends a linked process; EXIT2 kill ends any; a trapping one gets a message", async () => {
    const { signals, route } = setup({ binariesAsStrings: true });
    const linked = signals.spawn();
    linked.addLink(remote);
    route("PAYLOAD_EXIT", { from: remote, to: linked.pid }, Buffer.from("text reason"));
    expect(linked.alive).toBe(false);
    expect(linked.reason).toBe("text reason");
    const unlinked = signals.spawn();
    route("EXIT", { from: remote, to: unlinked.pid, reason: atom("boom") }); // not linked: nothing to break
    expect(unlinked.alive).toBe(true);
    route("EXIT2", { from: remote, to: unlinked.pid, reason: atom("kill") });
    expect(unlinked.reason).toBe(atom("killed"));
    const trapping = signals.spawn();
    trapping.trapExits = true;
    route("EXIT2", { from: remote, to: trapping.pid, reason: Buffer.from("bin") });
    expect(await queued(trapping)).toEqual(tuple(atom("EXIT"), remote, "bin")); // a reason in the tuple, mapped as payloads are
  });

  it("spawn requests: this node runs no code, so it answers notsup; a reply to its own request reaches the requester", async () => {
    const { table, signals, route, calls } = setup();
    const reqId = new Reference(atom(PEER), 7, [4, 5, 6]);
    route("SPAWN_REQUEST", { reqId, from: remote, groupLeader: remote, mfa: tuple(atom("m"), atom("f"), 0), optList: [] }, []);
    expect(calls).toEqual([["spawnReply", reqId, remote, 0, atom("notsup")]]);
    const p = signals.spawn();
    const mine = table.makeRef();
    table.spawnRequests.set(table.keyOf(mine), { process: p, reply: "yes", peer: PEER, reqId: mine });
    table.addHeld({ process: p, ref: mine, peer: PEER, target: atom("undefined"), toProc: undefined });
    route("SPAWN_REPLY", { reqId: mine, to: p.pid, flags: 2, result: remote });
    expect(await queued(p)).toEqual(tuple(atom("spawn_reply"), mine, atom("ok"), remote));
    expect(table.heldMonitor(mine)?.toProc).toEqual(remote); // the monitor now names the new process
    expect(table.spawnRequests.size).toBe(0);
  });

  it("GROUP_LEADER and UNLINK_ID_ACK need nothing done: no message, no answer, the process untouched", () => {
    const { signals, route, calls } = setup();
    const p = signals.spawn();
    p.addLink(remote);
    route("GROUP_LEADER", { from: remote, to: p.pid });
    route("UNLINK_ID_ACK", { id: 1, from: remote, to: p.pid });
    expect([calls, p.queued, p.alive, p.linked()]).toEqual([[], 0, true, [remote]]);
  });
});
