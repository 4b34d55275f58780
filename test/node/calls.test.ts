// Monitors, gen_server calls and casts, and rpc against real erl.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pid, Tuple, atom, tuple, type Term } from "../../src/etf/index.js";
import { CallError, Node } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import type { Epmd } from "../support/epmd.js";
import { startErlAndNode, stopErlAndNode } from "../support/erl-and-node.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd;
let beam: BeamNode;
let node: Node;

beforeAll(async () => {
  ({ epmd, beam, node } = await startErlAndNode("caller"));
  await beam.eval("kv_server:start(kv), ok.");
});

afterAll(() => stopErlAndNode({ epmd, beam, node }));

const kv = () => ["kv", beam.name] as const;
const isDown = (m: Term) => m instanceof Tuple && m.elements[0] === atom("DOWN");

describe("monitors", () => {
  it("a monitored BEAM process that exits delivers 'DOWN' with its real reason", async () => {
    const p = node.spawn();
    const victim = (await beam.eval("spawn(fun() -> receive go -> exit({shutdown, tested}) end end).")) as Pid;
    const ref = await p.monitor(victim);
    await p.send(victim, atom("go"));
    const message = (await p.receive(isDown, { timeout: 5000 })) as Tuple;
    expect(message.elements[1]).toEqual(ref);
    expect(message.elements[2]).toBe(atom("process"));
    expect(message.elements[3]).toEqual(victim);
    expect(message.elements[4]).toEqual(tuple(atom("shutdown"), atom("tested")));
    p.exit();
  });

  it("monitoring a name nobody has gives 'DOWN' with noproc; a demonitored process sends none", async () => {
    const p = node.spawn();
    await p.monitor(["no_such_name", beam.name]);
    const message = (await p.receive(isDown, { timeout: 5000 })) as Tuple;
    expect(message.elements[3]).toEqual(tuple(atom("no_such_name"), atom(beam.name)));
    expect(message.elements[4]).toBe(atom("noproc"));
    const victim = (await beam.eval("spawn(fun() -> receive go -> ok end end).")) as Pid;
    const ref = await p.monitor(victim);
    p.demonitor(ref);
    await p.send(victim, atom("go"));
    await expect(p.receive(isDown, { timeout: 300 })).rejects.toBeInstanceOf(Error);
    p.exit();
  });

  it("a monitor on a node that goes down delivers 'DOWN' with noconnection", async () => {
    const doomed = await BeamNode.start({ epmd });
    const p = node.spawn();
    const target = (await doomed.eval("spawn(fun() -> receive after infinity -> ok end end).")) as Pid;
    await p.monitor(target);
    process.kill(doomed.pid!, "SIGKILL");
    const message = (await p.receive(isDown, { timeout: 10_000 })) as Tuple;
    expect(message.elements[4]).toBe(atom("noconnection"));
    await doomed.stop();
    p.exit();
  });
});

describe("gen_server call and cast", () => {
  it("calls a BEAM gen_server and casts to it", async () => {
    expect(await node.call(kv(), tuple(atom("put"), atom("a"), 1))).toBe(atom("ok"));
    expect(await node.call(kv(), tuple(atom("get"), atom("a")))).toBe(1);
    await node.cast(kv(), tuple(atom("put"), atom("b"), "two"));
    await expect.poll(() => node.call(kv(), tuple(atom("get"), atom("b")))).toEqual(Buffer.from("two"));
    const pid = (await beam.eval("whereis(kv).")) as Pid;
    expect(await node.call(pid, tuple(atom("get"), atom("a")))).toBe(1);
  });

  it("a missing server fails with noproc, a slow one with timeout, a crashing one with its exit reason", async () => {
    const missing = await rejectionOf(node.call(["nobody", beam.name], atom("x")), CallError);
    expect(missing.code).toBe("noproc");
    const slow = await rejectionOf(node.call(kv(), tuple(atom("sleep"), 1000), { timeout: 100 }), CallError);
    expect(slow.code).toBe("timeout");
    await beam.eval("kv_server:start(doomed_kv), ok.");
    const crashed = await rejectionOf(node.call(["doomed_kv", beam.name], tuple(atom("crash"), atom("on_purpose"))), CallError);
    expect(crashed.code).toBe("exit");
    expect(crashed.reason).toBe(atom("on_purpose"));
  });
});

describe("rpc", () => {
  it("runs a function on the peer and returns its value", async () => {
    expect(await node.rpc(beam.name, "erlang", "node", [])).toBe(atom(beam.name));
    expect(await node.rpc(beam.name, "lists", "sum", [[1, 2, 3]])).toBe(6);
  });

  it("captures what the remote call prints", async () => {
    const { value, output } = await node.rpcWithOutput(beam.name, "io", "format", ["hello ~p and ~ts~n", [42, "wörld"]]);
    expect(value).toBe(atom("ok"));
    expect(output).toBe("hello 42 and wörld\n");
    const streamed: string[] = [];
    await node.rpc(beam.name, "io", "put_chars", ["line\n"], { onOutput: (text) => streamed.push(text) });
    expect(streamed).toEqual(["line\n"]);
  });

  it("turns {badrpc, Reason} into a typed error with the reason", async () => {
    const error = await rejectionOf(node.rpc(beam.name, "erlang", "error", [atom("boom")]), CallError);
    expect(error.code).toBe("badrpc");
    expect((error.reason as Tuple).elements[0]).toBe(atom("EXIT"));
  });
});

describe("serving calls from BEAM", () => {
  it("BEAM code calls and casts a TypeScript gen_server", async () => {
    const casts: Term[] = [];
    node.serve("calc", {
      call: async (request) => {
        const [op, a, b] = (request as Tuple).elements as [unknown, number, number];
        await new Promise((r) => setTimeout(r, 5)); // async handlers are awaited
        if (op === atom("add")) return a + b;
        if (op === atom("fail")) throw new Error("asked to fail");
        return tuple(atom("unknown"), request);
      },
      cast: (request) => void casts.push(request),
    });
    expect(await beam.eval(`gen_server:call({calc, '${node.name}'}, {add, 2, 40}).`)).toBe(42);
    const results = (await beam.eval(
      `[gen_server:call({calc, '${node.name}'}, {add, I, I}) || I <- lists:seq(1, 20)].`,
    )) as number[];
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => 2 * (i + 1)));
    const errors: string[] = [];
    node.once("serverError", (_name, error) => errors.push(error.message));
    const failed = (await beam.eval(`gen_server:call({calc, '${node.name}'}, {fail, 0, 0}).`)) as Tuple;
    expect(failed.elements[0]).toBe(atom("error"));
    expect(errors).toEqual(["asked to fail"]);
    expect(await beam.eval(`gen_server:call({calc, '${node.name}'}, {add, 1, 1}).`)).toBe(2); // still serving
    await beam.eval(`gen_server:cast({calc, '${node.name}'}, {note, 1}), ok.`);
    await expect.poll(() => casts.length).toBe(1);
    expect(casts[0]).toEqual(tuple(atom("note"), 1));
  });
});

describe("erpc", () => {
  it("runs a function over SPAWN_REQUEST and returns its value, with output captured", async () => {
    expect(await node.erpc(beam.name, "erlang", "node", [])).toBe(atom(beam.name));
    expect(await node.erpc(beam.name, "lists", "reverse", [[1, 2, 3]])).toEqual([3, 2, 1]);
    const printed: string[] = [];
    expect(await node.erpc(beam.name, "io", "format", ["erpc ~p~n", [7]], { onOutput: (t) => printed.push(t) })).toBe(atom("ok"));
    expect(printed.join("")).toBe("erpc 7\n");
  });

  it("surfaces remote exceptions with class, reason and stack trace", async () => {
    const error = await rejectionOf(node.erpc(beam.name, "erlang", "error", [atom("boom")]), CallError);
    expect(error.code).toBe("exception");
    expect(error.errorClass).toBe("error");
    expect(error.reason).toBe(atom("boom"));
    expect(Array.isArray(error.stacktrace)).toBe(true);
    const thrown = await rejectionOf(node.erpc(beam.name, "erlang", "throw", [atom("ball")]), CallError);
    expect([thrown.errorClass, thrown.reason]).toEqual(["throw", atom("ball")]);
    const exited = await rejectionOf(node.erpc(beam.name, "erlang", "exit", [atom("bye")]), CallError);
    expect([exited.errorClass, exited.reason]).toEqual(["exit", atom("bye")]);
    const slow = await rejectionOf(node.erpc(beam.name, "timer", "sleep", [2000], { timeout: 100 }), CallError);
    expect(slow.code).toBe("timeout");
  });

  it("an erpc from BEAM to the erldist node gets a prompt notsup error, not silence", async () => {
    const result = await beam.eval(`try erpc:call('${node.name}', erlang, node, [], 10000) catch error:{erpc, R} -> {caught, R} end.`);
    expect(result).toEqual(tuple(atom("caught"), atom("notsup")));
  });
});

describe("spawn requests (spawn_request/5)", () => {
  const isSpawnReply = (m: Term) => m instanceof Tuple && m.elements[0] === atom("spawn_reply");

  it("a spawned BEAM process: {spawn_reply, Req, ok, Pid}, then its 'DOWN' under the request's reference", async () => {
    const p = node.spawn();
    const req = await p.spawnRequest(beam.name, "timer", "sleep", [50], { monitor: true });
    const reply = (await p.receive(isSpawnReply, { timeout: 5000 })) as Tuple;
    expect(reply.elements.slice(0, 3)).toEqual([atom("spawn_reply"), req, atom("ok")]);
    const spawned = reply.elements[3] as Pid;
    expect(spawned.node).toBe(atom(beam.name));
    const down = (await p.receive(isDown, { timeout: 5000 })) as Tuple;
    expect(down.elements).toEqual([atom("DOWN"), req, atom("process"), spawned, atom("normal")]);
    // Gone on BEAM too: a monitor set now fires at once with noproc.
    const late = await p.monitor(spawned);
    expect(((await p.receive(isDown, { timeout: 5000 })) as Tuple).elements.slice(1)).toEqual([late, atom("process"), spawned, atom("noproc")]);
    p.exit();
  });

  it("reply: error_only sends no spawn_reply on success; the monitor still fires with the exit reason", async () => {
    const p = node.spawn();
    const req = await p.spawnRequest(beam.name, "erlang", "exit", [atom("bye")], { monitor: true, reply: "error_only" });
    const down = (await p.receive(isDown, { timeout: 5000 })) as Tuple;
    expect([down.elements[1], down.elements[4]]).toEqual([req, atom("bye")]);
    expect(p.queued).toBe(0); // no spawn_reply came before it
    p.exit();
  });

  it("to a node that cannot be reached: {spawn_reply, Req, error, noconnection} at once, as BEAM's", async () => {
    const p = node.spawn();
    const req = await p.spawnRequest("ghost@127.0.0.1", "erlang", "node", []);
    expect(await p.receive(isSpawnReply, { timeout: 5000 })).toEqual(tuple(atom("spawn_reply"), req, atom("error"), atom("noconnection")));
    // BEAM's own answer to the same request, for comparison:
    expect(await beam.eval("R = spawn_request('ghost@127.0.0.1', erlang, node, []), receive {spawn_reply, R, error, E} -> E after 10000 -> none end.")).toBe(atom("noconnection"));
    p.exit();
  });
});
