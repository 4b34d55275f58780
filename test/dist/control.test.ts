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
  UnusableControlError,
  type ControlKind,
  type ControlMessage,
} from "../../src/dist/index.js";
import { lookupNode } from "../../src/epmd/index.js";
import { Pid, Reference, Tuple, atom, decode, encode, equals, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

const KINDS: ControlKind[] = [
  "LINK", "SEND", "EXIT", "UNLINK", "REG_SEND", "GROUP_LEADER", "EXIT2", "SEND_TT", "EXIT_TT", "REG_SEND_TT",
  "EXIT2_TT", "MONITOR_P", "DEMONITOR_P", "MONITOR_P_EXIT", "SEND_SENDER", "SEND_SENDER_TT", "PAYLOAD_EXIT",
  "PAYLOAD_EXIT_TT", "PAYLOAD_EXIT2", "PAYLOAD_EXIT2_TT", "PAYLOAD_MONITOR_P_EXIT", "SPAWN_REQUEST", "SPAWN_REQUEST_TT",
  "SPAWN_REPLY", "SPAWN_REPLY_TT", "ALIAS_SEND", "ALIAS_SEND_TT", "UNLINK_ID", "UNLINK_ID_ACK",
];

const pid = new Pid(atom("n@h"), 1, 2, 3);
const ref = new Reference(atom("n@h"), 3, [1, 2, 3]);
/** A value of the right type for each field name (any term where the protocol takes any). */
const SAMPLE: Record<string, Term> = {
  from: pid, to: pid, toName: atom("name"), toProc: atom("name"), fromProc: pid, ref, reqId: ref, alias: ref,
  groupLeader: pid, id: 7, flags: 0, result: pid, mfa: new Tuple([atom("m"), atom("f"), 0]), optList: [],
  reason: new Tuple([atom("shutdown"), 1]), traceToken: new Tuple([0, atom("label"), 0, pid, 0]), token: atom("[]"),
};

describe("control messages", () => {
  it("every kind builds, survives the codec and parses back with its fields", () => {
    for (const kind of KINDS) {
      const fields = new Proxy({} as Record<string, Term>, { get: (_t, name: string) => (name === "unused" ? undefined : SAMPLE[name]) });
      const control = makeControl(kind, fields);
      expect(control.elements[0]).toBe(controlTag(kind));
      const payload = hasPayload(kind) ? tuple(atom("payload")) : undefined;
      const parsed = parseControl(decode(encode(control)), payload === undefined ? undefined : decode(encode(payload)));
      expect(parsed.kind).toBe(kind);
      for (const [name, value] of Object.entries(parsed.fields)) {
        expect(equals(value, name === "unused" ? atom("") : SAMPLE[name]), `${kind}.${name}`).toBe(true);
      }
    }
    expect(new Set(KINDS.map(controlTag)).size).toBe(KINDS.length);
  });

  it("every kind's fields are the tuple's elements in the spec's order, each under its own name", () => {
    // A distinct value of the right type for each position, so that two fields of one type cannot be swapped.
    const valueFor = (name: string, at: number): Term => {
      const type = SAMPLE[name];
      if (type instanceof Pid) return new Pid(atom("n@h"), at, 0, 3);
      if (type instanceof Reference) return new Reference(atom("n@h"), 3, [at, 0, 0]);
      if (name === "toName" || name === "toProc") return atom(`name${at}`);
      if (name === "flags" || name === "id") return at === 1 ? 0 : at;
      if (name === "mfa") return new Tuple([atom("m"), atom("f"), at]);
      return new Tuple([atom("any"), at]);
    };
    for (const kind of [...KINDS, "ALTACT_SIG_SEND" as const]) {
      const names: string[] = [];
      const fields = new Proxy({} as Record<string, Term>, {
        get: (_t, name: string) => {
          if (name === "token" && kind === "ALTACT_SIG_SEND") return undefined; // optional there, appended
          names.push(name);
          return name === "unused" ? atom("") : valueFor(name, names.length);
        },
      });
      const control = makeControl(kind, fields);
      const parsed = parseControl(decode(encode(control)), hasPayload(kind) ? atom("payload") : undefined);
      expect(Object.keys(parsed.fields), kind).toEqual(names);
      names.forEach((name, i) => expect(equals((parsed.fields as Record<string, Term>)[name], control.elements[i + 1] as Term), `${kind}.${name}`).toBe(true));
    }
  });

  it("the *_TT kinds carry the token where OTP's dist.c reads it: last, except before the reason in EXIT_TT and EXIT2_TT", () => {
    const token = SAMPLE.traceToken;
    const at = (control: unknown) => parseControl(control, undefined) as { fields: Record<string, Term> };
    const withPayload = (control: unknown) => parseControl(control, atom("m")) as { fields: Record<string, Term> };
    expect(withPayload(tuple(12, atom(""), pid, token)).fields.traceToken).toEqual(token);
    expect(withPayload(tuple(16, pid, atom(""), atom("name"), token)).fields.traceToken).toEqual(token);
    expect(withPayload(tuple(23, pid, pid, token)).fields.traceToken).toEqual(token);
    expect(withPayload(tuple(34, pid, ref, token)).fields.token).toEqual(token);
    expect(withPayload(tuple(25, pid, pid, token)).fields.traceToken).toEqual(token);
    expect(withPayload(tuple(27, pid, pid, token)).fields.traceToken).toEqual(token);
    expect(at(tuple(13, pid, pid, token, atom("why"))).fields).toMatchObject({ traceToken: token, reason: atom("why") });
    expect(at(tuple(18, pid, pid, token, atom("why"))).fields).toMatchObject({ traceToken: token, reason: atom("why") });
    expect(at(tuple(32, ref, pid, 0, pid, token)).fields.token).toEqual(token);
    expect(withPayload(tuple(30, ref, pid, pid, SAMPLE.mfa, [], token)).fields.token).toEqual(token);
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
    expect(refused(tuple())).toBe("protocol");
    expect(refused(tuple(atom("send"), 1))).toBe("protocol");
    expect(() => makeControl("LINK", { from: 1 })).toThrow(/to/);
  });

  it("a tuple with a tag erldist cannot act on is an UnusableControlError that names its tag and kind", () => {
    const unusable = (control: Tuple<Encodable>, payload?: Term) => {
      try {
        parseControl(control, payload);
      } catch (err) {
        expect(err).toBeInstanceOf(UnusableControlError);
        const error = err as UnusableControlError;
        expect([error.code, error.control]).toEqual(["protocol", control]);
        return [error.tag, error.kind ?? "unknown", error.message];
      }
      return "accepted";
    };
    expect(unusable(tuple(99, 1))).toEqual([99, "unknown", "unknown control message tag 99 (2 elements)"]);
    expect(unusable(tuple(5))).toEqual([5, "unknown", "unknown control message tag 5 (1 elements)"]); // the old NODE_LINK
    expect(unusable(tuple(1, pid))).toEqual([1, "LINK", "LINK has 3 elements, not 2"]);
    expect(unusable(tuple(2, atom(""), pid))).toEqual([2, "SEND", "SEND must be followed by a payload"]);
    expect(unusable(tuple(1, pid, pid), atom("extra"))).toEqual([1, "LINK", "LINK takes no payload"]);
    expect(unusable(tuple(2, atom(""), atom("name")), atom("m"))).toEqual([2, "SEND", "SEND's to must be a pid"]);
    expect(unusable(tuple(6, pid, atom(""), pid), atom("m"))).toEqual([6, "REG_SEND", "REG_SEND's toName must be an atom"]);
    expect(unusable(tuple(19, pid, pid, 1))).toEqual([19, "MONITOR_P", "MONITOR_P's ref must be a reference"]);
    expect(unusable(tuple(35, 1.5, pid, pid))).toEqual([35, "UNLINK_ID", "UNLINK_ID's id must be an integer"]);
    expect(unusable(tuple(37, 0, atom("x"), pid), atom("m"))[1]).toBe("ALTACT_SIG_SEND");
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
    connection.on("signal", (message) => received.push(message));
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
    expect(equals((down.fields as { ref: Term }).ref, ref)).toBe(true);
    expect(down.payload).toBe(atom("stopped_by_test"));
  });
});
