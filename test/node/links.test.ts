// Links and exit signals between erldist processes and real erl processes, both ways, and BEAM monitoring
// erldist processes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pid, Tuple, atom, tuple, type Term } from "../../src/etf/index.js";
import { Node } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import type { Epmd } from "../support/epmd.js";
import { startErlAndNode, stopErlAndNode } from "../support/erl-and-node.js";

let epmd: Epmd;
let beam: BeamNode;
let node: Node;

beforeAll(async () => {
  ({ epmd, beam, node } = await startErlAndNode("linker"));
  await node.connect(beam.name);
  await beam.eval("catch ets:new(seen, [named_table, public]), ok.");
});

afterAll(() => stopErlAndNode({ epmd, beam, node }));

/** Erlang source that rebuilds an erldist pid on the BEAM side. */
function pidExpr(pid: Pid): string {
  return `binary_to_term(<<131, 88, 119, ${pid.node.name.length}, "${pid.node.name}", ${pid.id}:32, ${pid.serial}:32, ${pid.creation}:32>>)`;
}

const isExit = (m: Term) => m instanceof Tuple && m.elements[0] === atom("EXIT");

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not reached");
}

describe("links", () => {
  it("a linked BEAM process exiting abnormally ends a non-trapping erldist process with the same reason", async () => {
    const p = node.spawn();
    await beam.eval(`spawn(fun() -> link(${pidExpr(p.pid)}), timer:sleep(50), exit(boom) end), ok.`);
    await until(() => !p.alive);
    expect(p.reason).toBe(atom("boom"));
  });

  it("a trapping erldist process gets {'EXIT', From, Reason} instead", async () => {
    const p = node.spawn();
    p.trapExits = true;
    const beamPid = (await beam.eval(`spawn(fun() -> link(${pidExpr(p.pid)}), timer:sleep(50), exit({custom, 1}) end).`)) as Pid;
    const message = (await p.receive(isExit, { timeout: 5000 })) as Tuple;
    expect(message.elements).toEqual([atom("EXIT"), beamPid, tuple(atom("custom"), 1)]);
    expect(p.alive).toBe(true);
    p.exit();
  });

  it("an erldist process exiting sends the exit reason to a linked, trapping BEAM process", async () => {
    const p = node.spawn();
    const beamPid = (await beam.eval(
      "Self = self(), P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive {'EXIT', From, Why} -> ets:insert(seen, {exit, From, Why}) end end), receive ready -> P end.",
    )) as Pid;
    await p.link(beamPid);
    await until(async () => ((await beam.eval(`{links, L} = process_info(list_to_pid("${beamPidText(beamPid)}"), links), length(L).`)) as number) === 1);
    p.exit(tuple(atom("shutdown"), atom("from_ts")));
    await until(async () => ((await beam.eval("ets:lookup(seen, exit).")) as unknown[]).length === 1);
    const [record] = (await beam.eval("ets:lookup(seen, exit).")) as Tuple[];
    expect(record.elements[1]).toEqual(p.pid);
    expect(record.elements[2]).toEqual(tuple(atom("shutdown"), atom("from_ts")));
  });

  it("exit/2 from BEAM: kill ends the process (killed), normal is ignored, a trapping process gets the message", async () => {
    const victim = node.spawn();
    await beam.eval(`exit(${pidExpr(victim.pid)}, normal), ok.`);
    await new Promise((r) => setTimeout(r, 100));
    expect(victim.alive).toBe(true);
    await beam.eval(`exit(${pidExpr(victim.pid)}, kill), ok.`);
    await until(() => !victim.alive);
    expect(victim.reason).toBe(atom("killed"));
    const trapper = node.spawn();
    trapper.trapExits = true;
    await beam.eval(`exit(${pidExpr(trapper.pid)}, please_stop), ok.`);
    expect(((await trapper.receive(isExit, { timeout: 5000 })) as Tuple).elements[2]).toBe(atom("please_stop"));
    trapper.exit();
  });

  it("unlink on either side stops exit signals (UNLINK_ID acknowledged)", async () => {
    const p = node.spawn();
    await beam.eval(`spawn(fun() -> P = ${pidExpr(p.pid)}, link(P), unlink(P), timer:sleep(50), exit(ignored) end), ok.`);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.alive).toBe(true);
    const beamPid = (await beam.eval("spawn(fun() -> receive stop -> exit(not_for_you) end end).")) as Pid;
    await p.link(beamPid);
    p.unlink(beamPid);
    await until(async () => ((await beam.eval(`{links, L} = process_info(list_to_pid("${beamPidText(beamPid)}"), links), length(L).`)) as number) === 0);
    await p.send(beamPid, atom("stop"));
    await new Promise((r) => setTimeout(r, 200));
    expect(p.alive).toBe(true);
    p.exit();
  });

  it("linking to a process that does not exist gives noproc", async () => {
    const p = node.spawn();
    p.trapExits = true;
    const gone = (await beam.eval("P = spawn(fun() -> ok end), timer:sleep(20), P.")) as Pid;
    await p.link(gone);
    expect(((await p.receive(isExit, { timeout: 5000 })) as Tuple).elements[2]).toBe(atom("noproc"));
    p.exit();
  });

  it("a link to a node that goes down delivers noconnection", async () => {
    const doomed = await BeamNode.start({ epmd });
    const p = node.spawn();
    p.trapExits = true;
    const target = (await doomed.eval("spawn(fun() -> receive after infinity -> ok end end).")) as Pid;
    await p.link(target);
    process.kill(doomed.pid!, "SIGKILL");
    expect(((await p.receive(isExit, { timeout: 10_000 })) as Tuple).elements[2]).toBe(atom("noconnection"));
    await doomed.stop();
    p.exit();
  });
});

describe("BEAM monitoring erldist processes", () => {
  it("gets 'DOWN' with the exit reason, or noproc for a process that is gone", async () => {
    const p = node.spawn();
    await beam.eval(
      `Self = self(), spawn(fun() -> R = erlang:monitor(process, ${pidExpr(p.pid)}), Self ! ready, receive {'DOWN', R, process, _, Why} -> ets:insert(seen, {down, Why}) end end), receive ready -> ok end.`,
    );
    await new Promise((r) => setTimeout(r, 100));
    p.exit(atom("finished"));
    await until(async () => ((await beam.eval("ets:lookup(seen, down).")) as unknown[]).length === 1);
    expect(((await beam.eval("ets:lookup(seen, down).")) as Tuple[])[0].elements[1]).toBe(atom("finished"));
    const why = await beam.eval(`R = erlang:monitor(process, ${pidExpr(p.pid)}), receive {'DOWN', R, process, _, Why} -> Why after 5000 -> timeout end.`);
    expect(why).toBe(atom("noproc"));
  });
});

function beamPidText(pid: Pid): string {
  // A pid of the BEAM node itself, printed as list_to_pid/1 reads it there (local pids print as <0.Id.Serial>).
  return `<0.${pid.id}.${pid.serial}>`;
}

describe("exit/2 from erldist", () => {
  it("reaches BEAM processes with the reason a trapping process sees, and kill kills", async () => {
    const p = node.spawn();
    // The process reports once it traps exits, so that the signal cannot arrive before.
    const trapper = (await beam.eval(
      "Self = self(), P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive {'EXIT', From, Why} -> ets:insert(seen, {exit2, From, Why}) end end), receive ready -> P end.",
    )) as Pid;
    await p.exitProcess(trapper, tuple(atom("custom"), 2));
    await until(async () => ((await beam.eval("ets:lookup(seen, exit2).")) as unknown[]).length === 1);
    const [row] = (await beam.eval("ets:lookup(seen, exit2).")) as Tuple[];
    expect(row.elements.slice(1)).toEqual([p.pid, tuple(atom("custom"), 2)]);
    const victim = (await beam.eval(
      "Self = self(), P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive after infinity -> ok end end), receive ready -> P end.",
    )) as Pid;
    const ref = await p.monitor(victim);
    await p.exitProcess(victim, atom("kill"));
    const down = (await p.receive((m) => m instanceof Tuple && m.elements[0] === atom("DOWN"), { timeout: 5000 })) as Tuple;
    expect(down.elements[1]).toEqual(ref);
    expect(down.elements[4]).toBe(atom("killed"));
    p.exit();
  });
});
