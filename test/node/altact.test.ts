// OTP 28's alternate-action signals (DFLAG_ALTACT_SIG, ALTACT_SIG_SEND) and EEP 76 priority messages against real
// erl. Each test asks the peer its release and expects what that release does: from OTP 28, alias sends both ways
// travel as ALTACT_SIG_SEND, exit signals reach aliases and priority messages overtake ordinary ones; before, alias
// sends use ALIAS_SEND, BEAM refuses exit/2 to an alias and priority options, and erldist refuses priority sends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALTACT_FLAG, DistError, makeControl, parseControl, type ControlMessageOf } from "../../src/dist/index.js";
import { Pid, Reference, Tuple, atom, decode, encode, equals, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { Node, NodeError, type ControlStats, type ErlProcess } from "../../src/node/index.js";
import type { BeamNode } from "../support/beam.js";
import type { Epmd } from "../support/epmd.js";
import { startErlAndNode, stopErlAndNode } from "../support/erl-and-node.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd;
let beam: BeamNode;
let node: Node;
/** The peer's OTP release, as it says itself. */
let release: number;
/** OTP 28 and later advertise DFLAG_ALTACT_SIG. */
let altact: boolean;

beforeAll(async () => {
  ({ epmd, beam, node } = await startErlAndNode("altact"));
  await node.connect(beam.name);
  release = (await beam.eval("list_to_integer(erlang:system_info(otp_release)).")) as number;
  altact = release >= 28;
  // Collects the rest of a BEAM process's mailbox, in order (used inside the funs below).
  await beam.eval("persistent_term:put(drain, fun D(Acc) -> receive M -> D([M | Acc]) after 0 -> lists:reverse(Acc) end end), ok.");
});

afterAll(() => stopErlAndNode({ epmd, beam, node }));

const TIMEOUT = { timeout: 5000 };

/** Erlang source for a term (a pid, an alias...): the term itself, rebuilt from its external format. */
function lit(term: Encodable): string {
  return `binary_to_term(<<${[...encode(term)].join(",")}>>)`;
}

const isTuple = (first: string) => (m: Term) => m instanceof Tuple && m.elements[0] === atom(first);
const is = (name: string) => (m: Term) => m === atom(name);
const atoms = (...names: string[]) => names.map((name) => atom(name));

/** What BEAM answers for an expression that raises badarg (`badarg`), or the expression's value. */
async function badargOr(expression: string): Promise<Term> {
  return beam.eval(`case catch (${expression}) of {'EXIT', {badarg, _}} -> badarg; Other -> Other end.`);
}

/** How many control messages of `kind` went `way` on the connection to the peer while `run` ran. */
async function counted(run: () => Promise<unknown>): Promise<(way: keyof ControlStats, kind: string) => number> {
  const before = node.controlStats(beam.name)!;
  await run();
  const after = node.controlStats(beam.name)!;
  return (way, kind) => ((after[way] as Record<string, number>)[kind] ?? 0) - ((before[way] as Record<string, number>)[kind] ?? 0);
}

/** Every message in `p`'s mailbox, in order (they have all arrived: a later message was received already). */
async function drain(p: ErlProcess): Promise<Term[]> {
  const out: Term[] = [];
  while (p.queued > 0) out.push(await p.receive());
  return out;
}

/** Resolves once `p` has exited (its pending receive rejects with `exited`). */
async function exited(p: ErlProcess): Promise<void> {
  expect((await rejectionOf(p.receive(() => false), NodeError)).code).toBe("exited");
}

describe("alias sends", () => {
  it("BEAM's sends to an erldist alias arrive, with and without a trace token (ALTACT_SIG_SEND from OTP 28, ALIAS_SEND before)", async () => {
    const p = node.spawn();
    const alias = p.alias();
    const sent = await counted(async () => {
      await beam.eval(`A = ${lit(alias)}, A ! plain, spawn(fun() -> seq_trace:set_token(label, 17), A ! traced end), ok.`);
      expect(await p.receive(is("plain"), TIMEOUT)).toBe(atom("plain"));
      expect(await p.receive(is("traced"), TIMEOUT)).toBe(atom("traced"));
    });
    if (altact) {
      expect(sent("in", "ALTACT_SIG_SEND")).toBe(2);
      expect(sent("in", "ALIAS_SEND") + sent("in", "ALIAS_SEND_TT")).toBe(0);
    } else {
      expect(sent("in", "ALIAS_SEND")).toBe(1);
      expect(sent("in", "ALIAS_SEND_TT")).toBe(1);
      expect(sent("in", "ALTACT_SIG_SEND")).toBe(0);
    }
    p.exit();
  });

  it("erldist's sends to a BEAM alias arrive (ALTACT_SIG_SEND to OTP 28+, ALIAS_SEND to older releases)", async () => {
    const p = node.spawn();
    await beam.eval(`P = ${lit(p.pid)}, spawn(fun() -> A = alias(), P ! {alias, A}, receive M -> P ! {got, M} end end), ok.`);
    const [, alias] = ((await p.receive(isTuple("alias"), TIMEOUT)) as Tuple).elements;
    const sent = await counted(() => p.send(alias as Reference, atom("to_your_alias")));
    expect(await p.receive(isTuple("got"), TIMEOUT)).toEqual(tuple(atom("got"), atom("to_your_alias")));
    expect(sent("out", altact ? "ALTACT_SIG_SEND" : "ALIAS_SEND")).toBe(1);
    expect(sent("out", altact ? "ALIAS_SEND" : "ALTACT_SIG_SEND")).toBe(0);
    expect(node.nodes()).toContain(beam.name);
    p.exit();
  });

  it("gen_server calls still get their replies, which BEAM sends to the caller's alias; BEAM's calls to an erldist server too", async () => {
    await beam.eval("kv_server:start(altact_kv), ok.");
    const calls = await counted(async () => {
      expect(await node.call(["altact_kv", beam.name], tuple(atom("put"), atom("k"), 1))).toBe(atom("ok"));
      expect(await node.call(["altact_kv", beam.name], tuple(atom("get"), atom("k")))).toBe(1);
    });
    expect(calls("in", altact ? "ALTACT_SIG_SEND" : "ALIAS_SEND")).toBe(2);
    const server = node.serve("altact_server", { call: (request) => tuple(atom("echo"), request as Encodable) });
    const served = await counted(async () => {
      expect(await beam.eval(`gen_server:call({altact_server, '${node.name}'}, hello).`)).toEqual(tuple(atom("echo"), atom("hello")));
    });
    // erldist answers as gen:reply/2 does: to the alias in the caller's tag.
    expect(served("out", altact ? "ALTACT_SIG_SEND" : "ALIAS_SEND")).toBe(1);
    server.exit();
  });
});

describe("exit signals to aliases", () => {
  it("erlang:exit(Alias, bye) from BEAM reaches a trapping erldist process as {'EXIT', From, bye} (OTP 28+; badarg before)", async () => {
    const p = node.spawn();
    p.trapExits = true;
    const alias = p.alias();
    if (!altact) {
      expect(await badargOr(`exit(${lit(alias)}, bye)`)).toBe(atom("badarg"));
      expect(p.alive).toBe(true);
      p.exit();
      return;
    }
    const sender = (await beam.eval(`A = ${lit(alias)}, spawn(fun() -> exit(A, bye), exit(A, normal) end).`)) as Pid;
    expect(((await p.receive(isTuple("EXIT"), TIMEOUT)) as Tuple).elements).toEqual([atom("EXIT"), sender, atom("bye")]);
    // A trapping process gets normal as a message too, as from exit/2.
    expect(((await p.receive(isTuple("EXIT"), TIMEOUT)) as Tuple).elements).toEqual([atom("EXIT"), sender, atom("normal")]);
    expect(p.alive).toBe(true);
    p.exit();
  });

  it("it ends a non-trapping erldist process (a BEAM monitor sees the reason); normal is ignored; kill ends even a trapping one", async () => {
    const watcher = node.spawn();
    const p = node.spawn();
    const alias = p.alias();
    const trapper = node.spawn();
    trapper.trapExits = true;
    const trapperAlias = trapper.alias();
    if (!altact) {
      expect(await badargOr(`exit(${lit(alias)}, bye)`)).toBe(atom("badarg"));
      expect(await badargOr(`exit(${lit(trapperAlias)}, kill)`)).toBe(atom("badarg"));
      expect([p.alive, trapper.alive]).toEqual([true, true]);
      for (const process of [watcher, p, trapper]) process.exit();
      return;
    }
    // normal to a non-trapping process is ignored: the message sent after it arrives and the process lives.
    await beam.eval(`A = ${lit(alias)}, spawn(fun() -> exit(A, normal), A ! still_here end), ok.`);
    expect(await p.receive(undefined, TIMEOUT)).toBe(atom("still_here"));
    expect(p.alive).toBe(true);
    const monitorThenExit = (target: ErlProcess, via: Reference, reason: string) =>
      beam.eval(
        `P = ${lit(target.pid)}, A = ${lit(via)}, W = ${lit(watcher.pid)}, ` +
          `spawn(fun() -> R = monitor(process, P), exit(A, ${reason}), receive {'DOWN', R, process, _, Why} -> W ! {down, P, Why} end end), ok.`,
      );
    await monitorThenExit(p, alias, "bye");
    await exited(p);
    expect(p.reason).toBe(atom("bye"));
    expect(await watcher.receive(undefined, TIMEOUT)).toEqual(tuple(atom("down"), p.pid, atom("bye")));
    await monitorThenExit(trapper, trapperAlias, "kill");
    await exited(trapper);
    expect(trapper.reason).toBe(atom("killed"));
    expect(await watcher.receive(undefined, TIMEOUT)).toEqual(tuple(atom("down"), trapper.pid, atom("killed")));
    watcher.exit();
  });

  it("erldist's exit signals to a BEAM alias: a trapping process gets 'EXIT', a non-trapping one ends (OTP 28+; refused before)", async () => {
    const p = node.spawn();
    await beam.eval(
      `P = ${lit(p.pid)}, spawn(fun() -> process_flag(trap_exit, true), A = alias(), P ! {trapping, A}, receive {'EXIT', From, Why} -> P ! {trapped, From, Why} end end), ` +
        `spawn(fun() -> A = alias(), P ! {plain, A, self()}, receive after infinity -> ok end end), ok.`,
    );
    const [, trapping] = ((await p.receive(isTuple("trapping"), TIMEOUT)) as Tuple).elements as [Term, Reference];
    const [, plain, victim] = ((await p.receive(isTuple("plain"), TIMEOUT)) as Tuple).elements as [Term, Reference, Pid];
    if (!altact) {
      const refused = await rejectionOf(p.exitProcess(trapping, atom("bye")), DistError);
      expect(refused.code).toBe("unsupported");
      expect(refused.message).toMatch(/alias.*DFLAG_ALTACT_SIG.*pid instead/);
      await p.exitProcess(victim, atom("kill")); // the pid way still works
      expect(node.nodes()).toContain(beam.name);
      p.exit();
      return;
    }
    const sent = await counted(() => p.exitProcess(trapping, tuple(atom("shutdown"), atom("bye"))));
    expect(sent("out", "ALTACT_SIG_SEND")).toBe(1);
    expect(await p.receive(isTuple("trapped"), TIMEOUT)).toEqual(tuple(atom("trapped"), p.pid, tuple(atom("shutdown"), atom("bye"))));
    const ref = await p.monitor(victim);
    await p.exitProcess(plain, atom("bye"));
    expect(await p.receive(isTuple("DOWN"), TIMEOUT)).toEqual(tuple(atom("DOWN"), ref, atom("process"), victim, atom("bye")));
    p.exit();
  });
});

describe("priority messages (EEP 76)", () => {
  it("locally, a priority alias's priority messages and exit signals overtake ordinary ones, in order among themselves", async () => {
    const p = node.spawn();
    p.trapExits = true;
    const priority = p.alias({ priority: true });
    const plain = p.alias();
    const q = node.spawn();
    await q.send(p.pid, atom("o1"));
    await q.send(priority, atom("p1"), { priority: true });
    await q.send(plain, atom("o2"), { priority: true }); // not a priority alias: ordinary, as in BEAM
    await q.send(priority, atom("o3")); // a priority alias without the option: ordinary
    await q.send(p.pid, atom("o4"), { priority: true }); // a pid: ordinary
    await q.exitProcess(priority, atom("urgent"), { priority: true });
    await q.send(priority, atom("p2"), { priority: true });
    expect(await drain(p)).toEqual([
      atom("p1"),
      tuple(atom("EXIT"), q.pid, atom("urgent")),
      atom("p2"),
      ...atoms("o1", "o2", "o3", "o4"),
    ]);
    p.exit();
    q.exit();
  });

  it("BEAM's priority messages to an erldist priority alias overtake queued ordinary ones (OTP 28+; BEAM refuses the option before)", async () => {
    const p = node.spawn();
    node.register("altact_inbox", p);
    const priority = p.alias({ priority: true });
    const plain = p.alias();
    if (!altact) {
      expect(await badargOr(`erlang:send(${lit(p.pid)}, x, [priority])`)).toBe(atom("badarg"));
      expect(await badargOr("alias([priority])")).toBe(atom("badarg"));
      p.exit();
      return;
    }
    await beam.eval(
      `P = ${lit(p.pid)}, PA = ${lit(priority)}, A = ${lit(plain)}, ` +
        `P ! o1, erlang:send(PA, p1, [priority]), PA ! o2, erlang:send(A, o3, [priority]), erlang:send(P, o4, [priority]), ` +
        `erlang:send({altact_inbox, '${node.name}'}, o5, [priority]), erlang:send(PA, p2, [priority]), P ! last, ok.`,
    );
    await p.receive(is("last"), TIMEOUT); // sent last: everything else is queued now
    expect(await drain(p)).toEqual(atoms("p1", "p2", "o1", "o2", "o3", "o4", "o5"));
    p.exit();
  });

  it("erldist's priority messages to a BEAM alias([priority]) are received ahead of ordinary ones (OTP 28+; refused before)", async () => {
    const p = node.spawn();
    if (!altact) {
      const beamPid = (await beam.eval(`P = ${lit(p.pid)}, spawn(fun() -> P ! {alias, alias()}, receive after infinity -> ok end end).`)) as Pid;
      const [, alias] = ((await p.receive(isTuple("alias"), TIMEOUT)) as Tuple).elements;
      for (const to of [alias as Reference, beamPid, ["any_name", beam.name] as const]) {
        const refused = await rejectionOf(p.send(to, atom("urgent"), { priority: true }), DistError);
        expect(refused.code).toBe("unsupported");
        expect(refused.message).toMatch(/priority message.*DFLAG_ALTACT_SIG.*OTP 28/);
      }
      expect((await rejectionOf(p.exitProcess(beamPid, atom("bye"), { priority: true }), DistError)).code).toBe("unsupported");
      expect(node.nodes()).toContain(beam.name); // refused here, nothing sent: the connection is fine
      p.exit();
      return;
    }
    await beam.eval(
      `P = ${lit(p.pid)}, Drain = persistent_term:get(drain), ` +
        `spawn(fun() -> process_flag(trap_exit, true), PA = alias([priority]), A = alias(), P ! {aliases, PA, A, self()}, receive last -> ok end, P ! {got, Drain([])} end), ok.`,
    );
    const [, priority, plain, beamPid] = ((await p.receive(isTuple("aliases"), TIMEOUT)) as Tuple).elements as [Term, Reference, Reference, Pid];
    const sent = await counted(async () => {
      await p.send(beamPid, atom("o1"));
      await p.send(priority, atom("p1"), { priority: true });
      await p.send(beamPid, atom("o2"));
      await p.send(priority, atom("o3")); // without the option: ordinary
      await p.send(plain, atom("o4"), { priority: true }); // not a priority alias: ordinary
      await p.send(beamPid, atom("o5"), { priority: true }); // a pid: ordinary
      await p.exitProcess(priority, atom("urgent"), { priority: true });
      await p.send(priority, atom("p2"), { priority: true });
      await p.send(beamPid, atom("last"));
    });
    expect(sent("out", "ALTACT_SIG_SEND")).toBe(6);
    const [, got] = ((await p.receive(isTuple("got"), TIMEOUT)) as Tuple).elements;
    expect(got).toEqual([atom("p1"), tuple(atom("EXIT"), p.pid, atom("urgent")), atom("p2"), ...atoms("o1", "o2", "o3", "o4", "o5")]);
    p.exit();
  });
});

describe("ALTACT_SIG_SEND control messages", () => {
  const from = new Pid(atom("n@h"), 1, 0, 7);
  const alias = new Reference(atom("m@h"), 9, [1, 2, 3]);
  const parse = (control: Encodable, payload: Encodable = atom("msg")) =>
    parseControl(decode(encode(control)), decode(encode(payload))) as ControlMessageOf<"ALTACT_SIG_SEND">;
  const code = (control: Encodable) => {
    try {
      parse(control);
      return "accepted";
    } catch (err) {
      expect(err).toBeInstanceOf(DistError);
      return (err as DistError).code;
    }
  };

  it("build and parse with and without a token; extra elements and high flag bits are ignored, as OTP does", () => {
    const plain = parse(makeControl("ALTACT_SIG_SEND", { flags: ALTACT_FLAG.ALIAS, from, to: alias }));
    expect(plain.kind).toBe("ALTACT_SIG_SEND");
    expect(plain.fields.flags).toBe(ALTACT_FLAG.ALIAS);
    expect(plain.fields.token).toBeUndefined();
    const token = tuple(0, 17, 0, from, 0);
    const traced = makeControl("ALTACT_SIG_SEND", { flags: ALTACT_FLAG.ALIAS | ALTACT_FLAG.TOKEN, from, to: alias, token });
    expect(traced.length).toBe(5);
    expect(equals(parse(traced).fields.token, decode(encode(token)))).toBe(true);
    // A sixth element and flag bits above the low byte are for future use: accepted and left alone.
    const extended = parse(tuple(37, (1n << 70n) | BigInt(ALTACT_FLAG.NAME | ALTACT_FLAG.EXIT), from, atom("name"), atom("future"), atom("more")));
    expect(extended.fields.flags).toBe(ALTACT_FLAG.NAME | ALTACT_FLAG.EXIT);
    expect(extended.fields.token).toBeUndefined();
    expect(parse(tuple(37, ALTACT_FLAG.PRIO, from, from)).fields.to).toEqual(from);
  });

  it("refuses broken ones as protocol errors", () => {
    expect(code(tuple(37, 0, from))).toBe("protocol"); // too short
    expect(code(tuple(37, -1, from, from))).toBe("protocol"); // negative flags
    expect(code(tuple(37, atom("x"), from, from))).toBe("protocol"); // not an integer
    expect(code(tuple(37, 0, atom("x"), from))).toBe("protocol"); // sender not a pid
    expect(code(tuple(37, ALTACT_FLAG.ALIAS, from, from))).toBe("protocol"); // ALIAS to a pid
    expect(code(tuple(37, ALTACT_FLAG.ALIAS | ALTACT_FLAG.NAME, from, alias))).toBe("protocol");
    expect(code(tuple(37, ALTACT_FLAG.NAME, from, from))).toBe("protocol"); // NAME to a pid
    expect(code(tuple(37, 0, from, alias))).toBe("protocol"); // neither: must be a pid
    expect(code(tuple(37, ALTACT_FLAG.TOKEN, from, from))).toBe("protocol"); // TOKEN without a token
    expect(() => parseControl(tuple(37, 0, from, from), undefined)).toThrow(DistError); // no payload
  });
});
