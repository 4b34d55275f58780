// Backpressure and no silent loss, against real erl: a peer paused with SIGSTOP makes its connection busy, awaiting
// senders are held back and fire-and-forget senders meet the cap (a typed error), and after SIGCONT every send that
// resolved arrives, in order; a peer killed with kill -9 or silent past net_ticktime settles every queued send;
// bad destinations throw at the call and node names may be Atoms; an exiting process always frees its names,
// aliases and monitors. The limits are small here (busyLimit 256 KiB, maxQueuedBytes 4 MiB) so the test is quick.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DistError } from "../../src/dist/index.js";
import { EncodeError, atom, nativeRecord, tuple, type Atom, type Term, Tuple } from "../../src/etf/index.js";
import { Node, NodeError } from "../../src/node/index.js";
import { StatusServer, type StatusDocument } from "../../src/status/index.js";
import { parsePrometheus, valueOf } from "../status/prometheus.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { otpReleaseOf } from "../support/release.js";

const BUSY_LIMIT = 256 * 1024;
const MAX_QUEUED = 4 * 1024 * 1024;
const PAYLOAD = Buffer.alloc(1024, 7);

let epmd: Epmd;
let node: Node;
const beams: BeamNode[] = [];
const nodes: Node[] = [];
let unhandled = 0;
const onUnhandled = (reason: unknown): void => {
  unhandled++;
  console.error("unhandled rejection:", reason);
};

async function startBeam(): Promise<BeamNode> {
  const beam = await BeamNode.start({ epmd });
  beams.push(beam);
  await beam.eval("backpressure_sink:start(bp_sink).");
  return beam;
}

async function startNode(name: string, options: { tickTime?: number } = {}): Promise<Node> {
  const started = await Node.start({
    name: `${name}@127.0.0.1`,
    cookie: beams[0].cookie,
    epmd: { port: epmd.port },
    listenHost: "127.0.0.1",
    busyLimit: BUSY_LIMIT,
    maxQueuedBytes: MAX_QUEUED,
    ...options,
  });
  nodes.push(started);
  return started;
}

/** Resolves once `node`'s connection to `peer` is busy. */
function busyWith(target: Node, peer: string): Promise<number> {
  return new Promise((resolve) => {
    const listener = (name: string, queued: number): void => {
      if (name !== peer) return;
      target.off("busy", listener);
      resolve(queued);
    };
    target.on("busy", listener);
  });
}

const peerInfo = (target: Node, peer: string) => target.peers().find((p) => p.name === peer)!;

/** Sends {seq, I, Payload} with awaits until `until()` says stop; returns the sequence numbers that resolved. */
async function awaitingSender(target: Node, peer: string, until: () => boolean, first = 1): Promise<number[]> {
  const p = target.spawn();
  const sent: number[] = [];
  for (let i = first; !until(); i++) {
    await p.send(["bp_sink", peer], tuple(atom("seq"), i, PAYLOAD));
    sent.push(i);
  }
  return sent;
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  epmd = await startEpmd();
  await startBeam();
  node = await startNode("bp");
});

afterEach(() => {
  // Whatever a test stopped goes on again, so that afterAll can stop it.
  for (const beam of beams) {
    try {
      if (beam.pid) process.kill(beam.pid, "SIGCONT");
    } catch {
      // killed by the test
    }
  }
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(beams.map((b) => b.stop()));
  await epmd?.stop();
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toBe(0);
});

describe("a paused peer (SIGSTOP)", () => {
  it("holds back awaiting senders, refuses fire-and-forget sends past the cap, and delivers every resolved send in order", async () => {
    const beam = beams[0];
    expect(await node.connect(beam.name)).toBe(true);
    process.kill(beam.pid!, "SIGSTOP");
    const becameBusy = busyWith(node, beam.name);
    let stop = false;
    const awaited = awaitingSender(node, beam.name, () => stop);
    awaited.catch(() => undefined); // awaited below; if an assertion fails first, its rejection at stop is not news
    const queuedWhenBusy = await becameBusy;
    expect(queuedWhenBusy).toBeGreaterThanOrEqual(BUSY_LIMIT);
    expect(peerInfo(node, beam.name).busy).toBe(true);
    // The awaiting sender is held: one send waits, and the queue stays at the busy limit plus that message.
    await new Promise((r) => setTimeout(r, 300));
    expect(node.stats().sendsHeld).toBe(1);
    expect(peerInfo(node, beam.name).queuedBytes).toBeLessThan(BUSY_LIMIT + 2 * PAYLOAD.length + 64 * 1024);

    // The status page and /metrics show it, as BEAM's busy_dist_port monitor would.
    const status = await StatusServer.start({ node, port: 0, host: "127.0.0.1" });
    try {
      const doc = (await (await fetch(new URL("/status", status.url))).json()) as StatusDocument;
      expect(doc.peers.find((peer) => peer.name === beam.name)).toMatchObject({ busy: true });
      expect(doc.peers.find((peer) => peer.name === beam.name)!.queuedBytes).toBeGreaterThanOrEqual(BUSY_LIMIT);
      expect(doc.node.stats.busyCount).toBe(1);
      const metrics = parsePrometheus(await (await fetch(new URL("/metrics", status.url))).text());
      expect(valueOf(metrics, "erldist_connection_busy", { node: beam.name })).toBe(1);
      expect(valueOf(metrics, "erldist_queued_bytes", { node: beam.name })).toBeGreaterThanOrEqual(BUSY_LIMIT);
      const page = await (await fetch(status.url)).text();
      expect(page).toMatch(/data-field="queued"><span class="badge busy">busy<\/span>/);
    } finally {
      await status.close();
    }


    // Fire-and-forget senders: each send is queued until maxQueuedBytes are held, then refused with DistError busy.
    stop = true; // the awaiting loop ends once its waiting send resolves
    const p = node.spawn();
    const results: Array<{ seq: number; promise: Promise<void> }> = [];
    const first = 1_000_000; // their own sequence numbers, after the awaited ones
    for (let i = 0; i < 8000; i++) results.push({ seq: first + i, promise: p.send(["bp_sink", beam.name], tuple(atom("seq"), first + i, PAYLOAD)) });
    const refused = await Promise.all(results.map(({ promise }) => Promise.race([promise.then(() => false, (e: unknown) => e), new Promise((r) => setImmediate(() => r(false)))])));
    const errors = refused.filter((r): r is DistError => r !== false);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toBeInstanceOf(DistError);
      expect(error.code).toBe("busy");
      expect(error.message).toContain("maxQueuedBytes");
    }
    expect(node.stats().sendsRefused).toBe(errors.length);
    expect(peerInfo(node, beam.name).queuedBytes).toBeLessThanOrEqual(BUSY_LIMIT + MAX_QUEUED + 64 * 1024 + 2 * PAYLOAD.length);

    // Resumed: everything that was not refused goes out, and arrives in the order it was sent.
    const drained = new Promise<number>((resolve) => node.once("drain", (_peer, ms) => resolve(ms)));
    process.kill(beam.pid!, "SIGCONT");
    const awaitedSeqs = await awaited;
    const outcomes = await Promise.allSettled(results.map(({ promise }) => promise));
    const accepted = results.filter((_, i) => outcomes[i].status === "fulfilled").map(({ seq }) => seq);
    expect(accepted.length + errors.length).toBe(results.length);
    expect(await drained).toBeGreaterThan(0);
    const expected = [...awaitedSeqs, ...accepted];
    await expect.poll(async () => ((await beam.call("backpressure_sink", "seqs", [atom("bp_sink")])) as number[]).length, { timeout: 30_000 }).toBe(expected.length);
    expect(await beam.call("backpressure_sink", "seqs", [atom("bp_sink")])).toEqual(expected);
    expect(peerInfo(node, beam.name).busy).toBe(false);
    expect(node.stats().busyCount).toBe(1);
    expect(node.stats().busyMs).toBeGreaterThan(0);
  });
});

describe("a peer that dies with sends queued", () => {
  it("kill -9: every held send rejects with the connection's error, the awaiting sender too; nothing hangs", async () => {
    const beam = await startBeam();
    expect(await node.connect(beam.name)).toBe(true);
    process.kill(beam.pid!, "SIGSTOP");
    const becameBusy = busyWith(node, beam.name);
    const awaited = awaitingSender(node, beam.name, () => false);
    awaited.catch(() => undefined);
    await becameBusy;
    const p = node.spawn();
    const queued = Array.from({ length: 500 }, (_, i) => p.send(["bp_sink", beam.name], tuple(atom("seq"), i, PAYLOAD)));
    const down = new Promise<unknown>((resolve) => node.once("nodedown", (name, reason) => name === beam.name && resolve(reason)));
    process.kill(beam.pid!, "SIGKILL");
    await down;
    const error = await awaited.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DistError);
    expect((error as DistError).code).toBe("closed");
    const outcomes = await Promise.allSettled(queued);
    expect(outcomes.filter((o) => o.status === "rejected").length).toBeGreaterThan(0);
    for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(DistError);
    expect(node.nodes()).not.toContain(beam.name);
  });

  it("stopped past net_ticktime: declared down (tick timeout), and every queued send settles", async () => {
    const beam = await startBeam();
    const ticking = await startNode("bptick", { tickTime: 2 });
    expect(await ticking.connect(beam.name)).toBe(true);
    process.kill(beam.pid!, "SIGSTOP");
    const becameBusy = busyWith(ticking, beam.name);
    const awaited = awaitingSender(ticking, beam.name, () => false);
    awaited.catch(() => undefined);
    await becameBusy;
    const p = ticking.spawn();
    const queued = Array.from({ length: 500 }, (_, i) => p.send(["bp_sink", beam.name], tuple(atom("seq"), i, PAYLOAD)));
    const reason = await new Promise<unknown>((resolve) => ticking.once("nodedown", (name, why) => name === beam.name && resolve(why)));
    expect(reason).toMatchObject({ code: "timeout" });
    expect(((await awaited.then(() => undefined, (e: unknown) => e)) as DistError).code).toBe("timeout");
    const outcomes = await Promise.allSettled(queued);
    for (const outcome of outcomes) if (outcome.status === "rejected") expect((outcome.reason as DistError).code).toBe("timeout");
    expect(outcomes.some((o) => o.status === "rejected")).toBe(true);
  });
});

describe("arguments", () => {
  it("node names as Atoms are taken wherever a node is named; a cast to one reaches the BEAM process", async () => {
    const beam = beams[0];
    const peer = atom(beam.name);
    expect(await node.connect(peer)).toBe(true);
    expect(await node.ping(peer)).toBe("pong");
    expect(await node.rpc(peer, "erlang", "node", [])).toBe(peer);
    await beam.eval("register(bp_casts, spawn(fun Loop() -> receive {'$gen_cast', M} -> put(last, M), Loop(); {get, From} -> From ! get(last), Loop() end end)), ok.");
    await node.cast(["bp_casts", peer], atom("hello"));
    await node.cast([atom("bp_casts"), peer], atom("again"));
    await expect.poll(() => beam.eval("bp_casts ! {get, self()}, receive M -> M end.")).toBe(atom("again"));
    const p = node.spawn();
    await p.monitor(["bp_casts", peer]);
    expect(node.connectionStats(peer)?.messagesOut).toBeGreaterThan(0);
  });

  it("a destination that is not one, or a malformed node name, throws a typed error at the call", () => {
    const p = node.spawn();
    const bad: unknown[] = [42, null, {}, ["only-a-name"], [1, "a@b"], ["name", "nohost"], ["name", "@host"], ["name", "a b@host"], ["", "a@b"]];
    for (const dest of bad) {
      expect(() => node.cast(dest as never, atom("x")), JSON.stringify(dest)).toThrow(NodeError);
      expect(() => node.send(dest as never, atom("x")), JSON.stringify(dest)).toThrow(NodeError);
      expect(() => p.send(dest as never, atom("x")), JSON.stringify(dest)).toThrow(NodeError);
    }
    expect(() => node.cast(["name", "nohost"], atom("x"))).toThrow(/'nohost' is not a node name/);
    expect(() => node.cast(["name", 7 as never], atom("x"))).toThrow(expect.objectContaining({ code: "bad_argument" }));
    expect(() => node.send(Symbol("x") as never, atom("x"))).toThrow(expect.objectContaining({ code: "bad_argument" }));
  });

  it("a message that cannot be encoded rejects with EncodeError; ignored, it takes nothing down", async () => {
    const beam = beams[0];
    const rejection = node.send(["bp_sink", beam.name], { bad: undefined } as never);
    await expect(rejection).rejects.toBeInstanceOf(EncodeError);
    void node.send(["bp_sink", beam.name], [null] as never); // ignored: no unhandled rejection (checked in afterAll)
    void node.cast(["bp_sink", "nobody@127.0.0.1"], atom("x")); // to a node that does not exist, ignored
    expect(await node.ping(beam.name)).toBe("pong");
  });
});

describe("an exiting process", () => {
  it("always frees its names, aliases and monitors, and signals its links, even when a signal cannot go", async () => {
    const beam = beams[0];
    await node.connect(beam.name);
    const release = await otpReleaseOf(beam);
    const p = node.spawn();
    node.register("bp_exiting", p);
    const alias = p.alias();
    await beam.eval("register(bp_watch, spawn(fun Loop() -> receive {watch, Pid} -> process_flag(trap_exit, true), link(Pid), monitor(process, Pid), Loop(); {get, From} -> {messages, Ms} = process_info(self(), messages), From ! Ms, Loop() end end)), ok.");
    await p.send(["bp_watch", beam.name], tuple(atom("watch"), p.pid));
    await expect.poll(() => p.linked().length).toBe(1);
    const mref = await p.monitor(["bp_watch", beam.name]);
    expect(mref).toBeDefined();

    // A reason with no Erlang form: exit() throws the EncodeError and the process goes on.
    expect(() => p.exit(null as never)).toThrow(EncodeError);
    expect(p.alive).toBe(true);
    expect(node.whereis("bp_exiting")).toEqual(p.pid);

    // A reason that encodes, but not for this peer if it predates native records (OTP 28 and older): the signal
    // fails (counted, reported), and the tables are freed all the same.
    const failures: string[] = [];
    node.on("signalFailed", (_peer, kind) => failures.push(kind));
    const reason = nativeRecord("nr", "gone", { why: atom("test") });
    const before = node.stats().signalsFailed;
    p.exit(reason);
    expect(p.alive).toBe(false);
    expect(node.whereis("bp_exiting")).toBeUndefined();
    expect(p.unalias(alias)).toBe(false);
    const got = async () => (await beam.eval("bp_watch ! {get, self()}, receive M -> M end.")) as Term[];
    if (release >= 29) {
      // Both signals carry the record: the 'EXIT' message and the 'DOWN'.
      await expect.poll(async () => (await got()).length).toBe(2);
      const kinds = (await got()).map((m) => ((m as Tuple).at(0) as Atom).name).sort();
      expect(kinds).toEqual(["DOWN", "EXIT"]);
      expect(node.stats().signalsFailed).toBe(before);
    } else {
      await expect.poll(() => node.stats().signalsFailed).toBe(before + 2);
      expect(failures.sort()).toEqual(["PAYLOAD_EXIT", "PAYLOAD_MONITOR_P_EXIT"]);
      expect(await got()).toEqual([]);
    }
    // The connection is as good as before.
    expect(await node.ping(beam.name)).toBe("pong");
  });
});
