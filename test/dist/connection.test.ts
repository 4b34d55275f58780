// One connection's verbs and incoming signals, on a loopback socket pair with a handshake's flags set by the test:
// each verb sends the control message BEAM's dist.c picks for a peer with those flags, counted by kind; a send the
// peer cannot take is refused; incoming control messages come out typed, unusable ones counted and reported.
// (Which variants real peers send and accept, per release, is proven in altact, traced and control tests.)
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DFLAG,
  DistConnection,
  DistError,
  ERLDIST_FLAGS,
  FrameReader,
  PacketDecoder,
  TICK_FRAME,
  makeControl,
  parseControl,
  type ControlMessage,
  type UnusableControlError,
} from "../../src/dist/index.js";
import { Pid, Reference, atom, encode, tuple, type Encodable } from "../../src/etf/index.js";
import { rejectionOf } from "../support/rejection.js";

let server: Server;
const sockets: Socket[] = [];
const me = new Pid(atom("me@host"), 1, 0, 1);
const them = new Pid(atom("peer@host"), 2, 0, 2);
const alias = new Reference(atom("peer@host"), 2, [1, 2, 3]);

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** A connection to a "peer" whose flags are `flags`, and what the peer side reads (parsed control messages). */
async function pair(flags: bigint): Promise<{ connection: DistConnection; received: ControlMessage[]; peer: Socket }> {
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const ours = connect((server.address() as { port: number }).port, "127.0.0.1");
  await new Promise((resolve) => ours.once("connect", resolve));
  const peer = await accepted;
  sockets.push(ours, peer);
  const connection = new DistConnection(ours, { peerName: "peer@host", peerFlags: flags, peerCreation: 2, flags, rest: Buffer.alloc(0) });
  const frames = new FrameReader({ header: 4, maxFrameSize: 1 << 20, what: "a test frame", advice: "" });
  const decoder = new PacketDecoder("me@host", undefined, 1 << 20, { fragmentsIn: 0, atomCacheRefsIn: 0 });
  const received: ControlMessage[] = [];
  peer.on("data", (chunk: Buffer) => {
    frames.push(chunk);
    for (let frame = frames.next(); frame !== undefined; frame = frames.next()) {
      if (frame === TICK_FRAME) continue;
      const decoded = decoder.decode(frame)!;
      received.push(parseControl(decoded.control, decoded.payload));
    }
  });
  return { connection, received, peer };
}

const MODERN = ERLDIST_FLAGS; // OTP 28+: ALTACT_SIG and EXIT_PAYLOAD
const OTP27 = ERLDIST_FLAGS & ~DFLAG.ALTACT_SIG;
const OLD = ERLDIST_FLAGS & ~DFLAG.ALTACT_SIG & ~DFLAG.EXIT_PAYLOAD;

describe("a connection's verbs", () => {
  it("messages: SEND_SENDER, REG_SEND and ALIAS_SEND to a peer before OTP 28, ALTACT_SIG_SEND for aliases after", async () => {
    for (const [flags, aliasKind] of [[OTP27, "ALIAS_SEND"], [MODERN, "ALTACT_SIG_SEND"]] as const) {
      const { connection, received } = await pair(flags);
      await connection.sendMessage(me, them, atom("a"));
      await connection.sendMessage(me, atom("inbox"), atom("b"));
      await connection.sendMessage(me, alias, atom("c"));
      await expect.poll(() => received.length).toBe(3);
      expect(received.map((m) => m.kind)).toEqual(["SEND_SENDER", "REG_SEND", aliasKind]);
      expect(received.map((m) => m.payload)).toEqual([atom("a"), atom("b"), atom("c")]);
      expect(connection.controlStats.out).toEqual({ SEND_SENDER: 1, REG_SEND: 1, [aliasKind]: 1 });
      connection.close();
    }
  });

  it("priority messages and exit/2 to aliases need OTP 28's ALTACT_SIG: sent with the right flags, or refused (unsupported)", async () => {
    const modern = await pair(MODERN);
    await modern.connection.sendMessage(me, atom("inbox"), atom("urgent"), true);
    await modern.connection.exit2(me, alias, atom("bye"));
    await modern.connection.exit2(me, them, atom("now"), true);
    await expect.poll(() => modern.received.length).toBe(3);
    expect(modern.received.map((m) => (m.kind === "ALTACT_SIG_SEND" ? m.fields.flags : m.kind))).toEqual([8 | 1, 16 | 4, 16 | 1]);
    modern.connection.close();

    const older = await pair(OTP27);
    for (const refusal of [older.connection.sendMessage(me, them, atom("urgent"), true), older.connection.exit2(me, alias, atom("bye"))]) {
      const error = await rejectionOf(refusal, DistError);
      expect(error.code).toBe("unsupported");
      expect(error.message).toMatch(/peer@host: it does not advertise DFLAG_ALTACT_SIG/);
    }
    await older.connection.exit2(me, them, atom("plain"));
    await expect.poll(() => older.received.map((m) => m.kind)).toEqual(["PAYLOAD_EXIT2"]);
    expect(older.connection.open).toBe(true); // refused here: nothing was sent
    older.connection.close();
  });

  it("exit reasons travel as payloads to EXIT_PAYLOAD peers, inside the tuple to older ones", async () => {
    for (const [flags, kinds] of [
      [OTP27, ["PAYLOAD_EXIT", "PAYLOAD_EXIT2", "PAYLOAD_MONITOR_P_EXIT"]],
      [OLD, ["EXIT", "EXIT2", "MONITOR_P_EXIT"]],
    ] as const) {
      const { connection, received } = await pair(flags);
      const ref = new Reference(atom("peer@host"), 2, [4, 5, 6]);
      connection.linkExit(me, them, atom("r1"));
      await connection.exit2(me, them, atom("r2"));
      connection.monitorExit(me, them, ref, atom("r3"));
      await expect.poll(() => received.length).toBe(3);
      expect(received.map((m) => m.kind)).toEqual(kinds);
      const reasons = received.map((m) => (m.payload !== undefined ? m.payload : (m.fields as { reason: unknown }).reason));
      expect(reasons).toEqual([atom("r1"), atom("r2"), atom("r3")]);
      connection.close();
    }
  });

  it("signals never reject: one that cannot go (a reason with no Erlang form) is a signalFailed event", async () => {
    const { connection, received } = await pair(MODERN);
    const failed: Array<[string, Error]> = [];
    connection.on("signalFailed", (kind, error) => failed.push([kind, error]));
    connection.link(me, them);
    connection.linkExit(me, them, Symbol("no Erlang form") as unknown as Encodable);
    connection.unlink(7, me, them);
    await expect.poll(() => failed.length).toBe(1);
    expect(failed[0][0]).toBe("PAYLOAD_EXIT");
    await expect.poll(() => received.map((m) => m.kind)).toEqual(["LINK", "UNLINK_ID"]);
    connection.close();
    connection.monitor(me, them, alias); // closed: reported, not thrown
    await expect.poll(() => failed.map(([kind]) => kind)).toEqual(["PAYLOAD_EXIT", "MONITOR_P"]);
  });
});

describe("a connection's incoming signals", () => {
  const frame = (...terms: Encodable[]) => {
    const body = Buffer.concat([Buffer.from([112]), ...terms.map((t) => encode(t))]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    return Buffer.concat([length, body]);
  };

  it("arrive typed and counted; an unusable one is counted and reported, and the connection stays", async () => {
    const { connection, peer } = await pair(MODERN);
    const signals: ControlMessage[] = [];
    const unusable: UnusableControlError[] = [];
    connection.on("signal", (m) => signals.push(m));
    connection.on("unusable", (e) => unusable.push(e));
    peer.write(frame(makeControl("SEND_SENDER", { from: them, to: me }), atom("hello")));
    peer.write(frame(tuple(99, atom("from_the_future"))));
    peer.write(frame(tuple(1, them))); // LINK with a field missing
    peer.write(frame(makeControl("LINK", { from: them, to: me })));
    await expect.poll(() => signals.length).toBe(2);
    expect(signals.map((m) => m.kind)).toEqual(["SEND_SENDER", "LINK"]);
    expect(signals[0].kind === "SEND_SENDER" && signals[0].fields.to).toEqual(me);
    expect(unusable.map((e) => [e.tag, e.kind])).toEqual([[99, undefined], [1, "LINK"]]);
    expect(connection.controlStats.in).toEqual({ SEND_SENDER: 1, LINK: 1 });
    expect(connection.controlStats.unknown).toEqual({ 99: 1, 1: 1 });
    expect(connection.open).toBe(true);
    connection.close();
  });

  it("go to the handler deliverSignalsTo names, in order, and no longer to the signal event", async () => {
    const { connection, peer } = await pair(MODERN);
    const emitted: ControlMessage[] = [];
    const handled: ControlMessage[] = [];
    connection.on("signal", (m) => emitted.push(m));
    peer.write(frame(makeControl("LINK", { from: them, to: me })));
    await expect.poll(() => emitted.length).toBe(1);
    connection.deliverSignalsTo((m) => handled.push(m));
    peer.write(frame(makeControl("SEND_SENDER", { from: them, to: me }), atom("first")));
    peer.write(frame(makeControl("SEND_SENDER", { from: them, to: me }), atom("second")));
    await expect.poll(() => handled.length).toBe(2);
    expect(handled.map((m) => m.kind === "SEND_SENDER" && m.payload)).toEqual([atom("first"), atom("second")]);
    expect(emitted.map((m) => m.kind)).toEqual(["LINK"]);
    expect(connection.controlStats.in).toEqual({ LINK: 1, SEND_SENDER: 2 });
    connection.close();
  });

  it("a message that is not a control message closes the connection with a protocol error", async () => {
    const { connection, peer } = await pair(MODERN);
    const closed = new Promise<DistError | undefined>((resolve) => connection.once("close", resolve));
    peer.write(frame(atom("not_a_control_message")));
    const error = await closed;
    expect(error?.code).toBe("protocol");
    expect(error?.message).toMatch(/tuple starting with its integer tag/);
  });
});
