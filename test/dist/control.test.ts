// Control messages: every kind of the OTP 25-28 spec builds and parses, bad ones are refused, and the ones a real
// erl sends when its processes link, unlink, monitor, exit, send and set group leaders parse to the right kind.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DistConnection,
  DistError,
  ERLDIST_FLAGS,
  controlTag,
  hasPayload,
  initiateHandshake,
  makeControl,
  parseControl,
  type ControlKind,
  type ControlMessage,
} from "../../src/dist/index.js";
import { lookupNode } from "../../src/epmd/index.js";
import { Pid, Reference, atom, decode, encode, equals, tuple, type Term } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

const KINDS: ControlKind[] = [
  "LINK", "SEND", "EXIT", "UNLINK", "NODE_LINK", "REG_SEND", "GROUP_LEADER", "EXIT2", "SEND_TT", "EXIT_TT", "REG_SEND_TT",
  "EXIT2_TT", "MONITOR_P", "DEMONITOR_P", "MONITOR_P_EXIT", "SEND_SENDER", "SEND_SENDER_TT", "PAYLOAD_EXIT",
  "PAYLOAD_EXIT_TT", "PAYLOAD_EXIT2", "PAYLOAD_EXIT2_TT", "PAYLOAD_MONITOR_P_EXIT", "SPAWN_REQUEST", "SPAWN_REQUEST_TT",
  "SPAWN_REPLY", "SPAWN_REPLY_TT", "ALIAS_SEND", "ALIAS_SEND_TT", "UNLINK_ID", "UNLINK_ID_ACK",
];

describe("control messages", () => {
  it("every kind builds, survives the codec and parses back with its fields", () => {
    const pid = new Pid(atom("n@h"), 1, 2, 3);
    for (const kind of KINDS) {
      const fields = new Proxy({} as Record<string, Term>, { get: (_t, name) => (name === "unused" ? undefined : pid) });
      const control = makeControl(kind, fields);
      expect(control.elements[0]).toBe(controlTag(kind));
      const payload = hasPayload(kind) ? tuple(atom("payload")) : undefined;
      const parsed = parseControl(decode(encode(control)), payload === undefined ? undefined : decode(encode(payload)));
      expect(parsed.kind).toBe(kind);
      for (const [name, value] of Object.entries(parsed.fields)) expect(equals(value, name === "unused" ? atom("") : pid), `${kind}.${name}`).toBe(true);
    }
    expect(new Set(KINDS.map(controlTag)).size).toBe(KINDS.length);
  });

  it("refuses what is not a control message", () => {
    const refused = (control: unknown, payload?: Term) => {
      try {
        parseControl(control, payload);
      } catch (err) {
        expect(err).toBeInstanceOf(DistError);
        return (err as DistError).code;
      }
      return "accepted";
    };
    expect(refused(atom("x"))).toBe("protocol");
    expect(refused(tuple(99, 1))).toBe("protocol"); // unknown tag
    expect(refused(tuple(1, 2))).toBe("protocol"); // LINK with too few fields
    expect(refused(tuple(2, atom(""), 1))).toBe("protocol"); // SEND without its message
    expect(refused(tuple(1, 1, 2), atom("extra"))).toBe("protocol"); // LINK with a payload
    expect(() => makeControl("LINK", { from: 1 })).toThrow(/to/);
  });
});

describe("control messages from a real erl", () => {
  let epmd: Epmd;
  let beam: BeamNode;
  let connection: DistConnection;
  const received: ControlMessage[] = [];
  const name = "ctl@127.0.0.1";
  const ours = new Pid(atom(name), 7, 0, 99);

  beforeAll(async () => {
    epmd = await startEpmd();
    beam = await BeamNode.start({ epmd });
    const port = (await lookupNode(beam.name.split("@")[0], { port: epmd.port }))!.port;
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.once("connect", resolve));
    const handshake = await initiateHandshake(socket, { name, cookie: beam.cookie, creation: 99, flags: ERLDIST_FLAGS }, beam.name);
    connection = new DistConnection(socket, handshake);
    connection.on("message", (control, payload) => received.push(parseControl(control, payload)));
    await beam.eval(
      "ets:new(store, [named_table, public]), register(keeper, spawn(fun Loop() -> receive {store, K, V} -> ets:insert(store, {K, V}), Loop() end end)), ok.",
    );
    connection.send(makeControl("REG_SEND", { from: ours, toName: atom("keeper") }), tuple(atom("store"), atom("pid"), ours));
    for (let i = 0; i < 100 && (await beam.eval("ets:member(store, pid).")) !== true; i++) await new Promise((r) => setTimeout(r, 20));
  });

  afterAll(async () => {
    connection?.close();
    await beam?.stop();
    await epmd?.stop();
  });

  async function kindsAfter(source: string): Promise<ControlKind[]> {
    const before = received.length;
    await beam.eval(`P = ets:lookup_element(store, pid, 2), ${source}`);
    await new Promise((r) => setTimeout(r, 200));
    return received.slice(before).map((m) => m.kind);
  }

  it("sends, registered sends, links, unlinks, monitors, exits and group leaders arrive as their kinds", async () => {
    expect(await kindsAfter("P ! hello, ok.")).toEqual(["SEND_SENDER"]);
    expect(await kindsAfter(`{inbox, '${name}'} ! hi, ok.`)).toEqual(["REG_SEND"]);
    expect(await kindsAfter("spawn(fun() -> link(P), unlink(P) end), ok.")).toEqual(["LINK", "UNLINK_ID"]);
    expect(await kindsAfter("spawn(fun() -> R = erlang:monitor(process, P), erlang:demonitor(R) end), ok.")).toEqual([
      "MONITOR_P",
      "DEMONITOR_P",
    ]);
    expect(await kindsAfter("exit(P, {shutdown, because}), ok.")).toEqual(["PAYLOAD_EXIT2"]);
    expect(await kindsAfter("spawn(fun() -> link(P), exit(boom) end), ok.")).toEqual(["LINK", "PAYLOAD_EXIT"]);
    expect(await kindsAfter("group_leader(self(), P), ok.")).toEqual(["GROUP_LEADER"]);
    const exit = received.find((m) => m.kind === "PAYLOAD_EXIT")!;
    expect(exit.payload).toBe(atom("boom"));
    expect(equals(exit.fields.to, ours)).toBe(true);
  });

  it("a monitor erldist sets on a BEAM process fires with the real reason", async () => {
    const victim = (await beam.eval("V = spawn(fun() -> receive stop -> exit(stopped_by_test) end end), ets:insert(store, {victim, V}), V.")) as Pid;
    const ref = new Reference(atom(name), 99, [1, 2, 3]);
    connection.send(makeControl("MONITOR_P", { from: ours, toProc: victim, ref }));
    // The monitor travels on the distribution connection, the stop below on the test's control channel: wait
    // until BEAM has the monitor in place before stopping the process.
    await expect
      .poll(() => beam.eval("{monitored_by, M} = process_info(ets:lookup_element(store, victim, 2), monitored_by), length(M)."))
      .toBe(1);
    const before = received.length;
    await beam.eval("ets:lookup_element(store, victim, 2) ! stop, ok.");
    await expect.poll(() => received.length).toBeGreaterThan(before);
    const down = received[before];
    expect(down.kind).toBe("PAYLOAD_MONITOR_P_EXIT");
    expect(equals(down.fields.ref, ref)).toBe(true);
    expect(down.payload).toBe(atom("stopped_by_test"));
  });
});
