// Processes of the erldist node against real erl: BEAM sends to erldist pids and registered names, erldist
// processes send to BEAM pids and names, selective receive, timeouts, aborts, async iteration, message order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pid, Reference, Tuple, atom, encode, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { Node, NodeError } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import type { Epmd } from "../support/epmd.js";
import { startErlAndNode, stopErlAndNode } from "../support/erl-and-node.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd;
let beam: BeamNode;
let node: Node;

beforeAll(async () => {
  ({ epmd, beam, node } = await startErlAndNode("procs"));
  // An echo server on the BEAM side: {From, M} -> From ! {echo, M}.
  await beam.eval("register(echo, spawn(fun Loop() -> receive {From, M} -> From ! {echo, M}, Loop() end end)), ok.");
});

afterAll(() => stopErlAndNode({ epmd, beam, node }));

const isTuple = (first: string) => (m: Term) => m instanceof Tuple && m.elements[0] === atom(first);

describe("processes", () => {
  it("BEAM sends to an erldist pid; the pid has this node's name and creation", async () => {
    const p = node.spawn();
    expect(p.pid.node).toBe(atom(node.name));
    expect(p.pid.creation).toBe(node.creation);
    await p.send(["echo", beam.name], tuple(p.pid, "ping"));
    const reply = (await p.receive(undefined, { timeout: 5000 })) as Tuple;
    expect(reply.elements[0]).toBe(atom("echo"));
    expect(reply.elements[1]).toEqual(Buffer.from("ping"));
    p.exit();
  });

  it("BEAM sends to a name registered on the erldist node", async () => {
    const p = node.spawn();
    node.register("ts_inbox", p);
    expect(node.whereis("ts_inbox")).toBe(p.pid);
    await beam.eval(`{ts_inbox, '${node.name}'} ! {hello, from_beam}, ok.`);
    expect(await p.receive(undefined, { timeout: 5000 })).toEqual(tuple(atom("hello"), atom("from_beam")));
    expect(() => node.register("ts_inbox", node.spawn())).toThrow(NodeError);
    p.exit();
    expect(node.whereis("ts_inbox")).toBeUndefined();
  });

  it("selective receive leaves unmatched messages queued, in order", async () => {
    const p = node.spawn();
    const beamSide = `P = binary_to_term(<<131, 88, 119, ${node.name.length}, "${node.name}", ${p.pid.id}:32, ${p.pid.serial}:32, ${node.creation}:32>>)`;
    await beam.eval(`${beamSide}, P ! {a, 1}, P ! {b, 2}, P ! {a, 3}, P ! {c, 4}, ok.`);
    expect(await p.receive(isTuple("c"), { timeout: 5000 })).toEqual(tuple(atom("c"), 4));
    expect(await p.receive(isTuple("b"), { timeout: 5000 })).toEqual(tuple(atom("b"), 2));
    expect(p.queued).toBe(2);
    expect(await p.receive()).toEqual(tuple(atom("a"), 1));
    expect(await p.receive()).toEqual(tuple(atom("a"), 3));
    p.exit();
  });

  it("receive times out or aborts with typed errors; an exited process's receive rejects", async () => {
    const p = node.spawn();
    expect((await rejectionOf(p.receive(undefined, { timeout: 50 }), NodeError)).code).toBe("timeout");
    const controller = new AbortController();
    const pending = p.receive(undefined, { signal: controller.signal });
    controller.abort();
    expect((await rejectionOf(pending, NodeError)).code).toBe("aborted");
    const waiting = p.receive();
    p.exit();
    expect((await rejectionOf(waiting, NodeError)).code).toBe("exited");
    await expect(p.send(["echo", beam.name], 1)).rejects.toBeInstanceOf(NodeError);
  });

  it("for await reads the mailbox in order until the process exits", async () => {
    const p = node.spawn();
    for (let i = 0; i < 5; i++) await p.send(["echo", beam.name], tuple(p.pid, i));
    const seen: number[] = [];
    for await (const message of p) {
      seen.push((message as Tuple).elements[1] as number);
      if (seen.length === 5) p.exit();
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it("local sends between erldist processes arrive as the terms they encode to", async () => {
    const a = node.spawn();
    const b = node.spawn();
    node.register("local_b", b);
    await a.send(b.pid, { text: "x" });
    await a.send("local_b", [1, "y"]);
    const first = (await b.receive()) as Map<Term, Term>;
    expect(first.get(atom("text"))).toEqual(Buffer.from("x"));
    expect(await b.receive()).toEqual([1, Buffer.from("y")]);
    await expect(a.send("nobody_here", 1)).rejects.toBeInstanceOf(NodeError);
    a.exit();
    b.exit();
  });

  it("10,000 messages each way arrive complete and in order", async () => {
    const p = node.spawn();
    node.register("counter_sink", p);
    // BEAM -> erldist
    await beam.eval(`[{counter_sink, '${node.name}'} ! {n, I} || I <- lists:seq(1, 10000)], ok.`);
    for (let i = 1; i <= 10_000; i++) expect(await p.receive(undefined, { timeout: 5000 })).toEqual(tuple(atom("n"), i));
    // erldist -> BEAM: a collector that checks order itself and reports once.
    await beam.eval(
      `register(collector, spawn(fun() -> Got = [receive {n, I} -> I end || _ <- lists:seq(1, 10000)], {counter_sink, '${node.name}'} ! {collected, Got =:= lists:seq(1, 10000)} end)), ok.`,
    );
    for (let i = 1; i <= 10_000; i++) await p.send(["collector", beam.name], tuple(atom("n"), i));
    expect(await p.receive(isTuple("collected"), { timeout: 20_000 })).toEqual(tuple(atom("collected"), true));
    p.exit();
  });

  it("pids of erldist processes are distinct and stable across messages", async () => {
    const pids = Array.from({ length: 3 }, () => node.spawn().pid);
    expect(new Set(pids.map(String)).size).toBe(3);
    expect(pids.every((pid) => pid instanceof Pid)).toBe(true);
  });
});

describe("aliases", () => {
  it("BEAM sends to an alias of an erldist process until it is deactivated", async () => {
    const p = node.spawn();
    const alias = p.alias();
    // Hand the alias to BEAM, which sends to it (ALIAS_SEND).
    await beam.eval("register(alias_user, spawn(fun Loop() -> receive {send_to, A, M} -> A ! M, Loop() end end)), ok.");
    await p.send(["alias_user", beam.name], tuple(atom("send_to"), alias, atom("via_alias")));
    expect(await p.receive(undefined, { timeout: 5000 })).toBe(atom("via_alias"));
    expect(p.unalias(alias)).toBe(true);
    await p.send(["alias_user", beam.name], tuple(atom("send_to"), alias, atom("dropped")));
    await p.send(["echo", beam.name], tuple(p.pid, atom("after")));
    expect(await p.receive(undefined, { timeout: 5000 })).toEqual(tuple(atom("echo"), atom("after"))); // the aliased message never came
    expect(p.queued).toBe(0);
    p.exit();
  });

  it("erldist sends to an alias a BEAM process made", async () => {
    const p = node.spawn();
    const reportTo = `binary_to_term(<<${[...encode(p.pid)].join(",")}>>)`;
    await beam.eval(`P = ${reportTo}, spawn(fun() -> A = erlang:alias(), P ! {my_alias, A}, receive M -> P ! {got, M} end end), ok.`);
    const [, alias] = ((await p.receive(undefined, { timeout: 5000 })) as Tuple).elements;
    await p.send(alias as Reference, atom("to_your_alias"));
    expect(await p.receive(undefined, { timeout: 5000 })).toEqual(tuple(atom("got"), atom("to_your_alias")));
    p.exit();
  });

  it("repeated sends to one pid, name and alias arrive, in order, from two senders taking turns", async () => {
    // From the second send of a (kind, sender, target) on, the connection writes that control tuple from bytes it
    // kept; two senders taking turns, and a pid decoded afresh from each message, must not mix up what it kept.
    const [a, b] = [node.spawn(), node.spawn()];
    const reportTo = `binary_to_term(<<${[...encode(a.pid)].join(",")}>>)`;
    await beam.eval(
      `P = ${reportTo}, spawn(fun() -> register(repeat_sink, self()), A = erlang:alias(), P ! {sink, self(), A}, ` +
        `Got = [receive M -> M end || _ <- lists:seq(1, 18)], P ! {got, Got} end), ok.`,
    );
    const [, sinkPid, alias] = ((await a.receive(isTuple("sink"), { timeout: 5000 })) as Tuple).elements;
    const targets = [sinkPid as Pid, ["repeat_sink", beam.name] as const, alias as Reference];
    const expected: Encodable[] = [];
    for (const [kind, target] of targets.entries()) {
      for (let i = 0; i < 3; i++) {
        for (const [who, sender] of [["a", a], ["b", b]] as const) {
          const message = tuple(atom(who), kind, i);
          // The pid arrives as a new object each time: it must be recognised as the same target, or sent anew.
          const to = target instanceof Pid ? new Pid(target.node, target.id, target.serial, target.creation) : target;
          await sender.send(to, message);
          expected.push(message);
        }
      }
    }
    expect(await a.receive(isTuple("got"), { timeout: 5000 })).toEqual(tuple(atom("got"), expected));
    a.exit();
    b.exit();
  });
});

describe("a million messages", () => {
  it("1,000,000 messages each way arrive complete and in order", async () => {
    const N = 1_000_000;
    const p = node.spawn();
    node.register("million", p);
    // BEAM -> erldist (sent by a compiled loop, checked here)
    await beam.eval(`spawn(fun() -> dist_bench:blast({million, '${node.name}'}, ${N}, 1) end), ok.`);
    for (let i = 1; i <= N; i++) {
      const m = (await p.receive(undefined, { timeout: 30_000 })) as Tuple;
      if (m.elements[1] !== i) throw new Error(`message ${i} arrived as ${String(m.elements[1])}`);
    }
    // erldist -> BEAM (checked there by a compiled receiver)
    const reportTo = `binary_to_term(<<${[...encode(p.pid)].join(",")}>>)`;
    await beam.eval(`dist_bench:in_order(million_sink, ${N}, ${reportTo}), ok.`);
    for (let i = 1; i <= N; i++) await p.send(["million_sink", beam.name], tuple(atom("n"), i));
    const verdict = (await p.receive((m) => m instanceof Tuple && m.elements[0] === atom("in_order"), { timeout: 60_000 })) as Tuple;
    expect(verdict.elements[2]).toBe(true);
    p.exit();
  }, 120_000);
});
