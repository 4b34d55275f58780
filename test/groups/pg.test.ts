// :pg from erldist against real erl nodes running a pg scope: erldist's members are seen by pg:get_members on every
// node, BEAM's members by erldist, joins and leaves travel both ways, a node's members go with it and come back on a
// reconnect, a scope that is not there is reported, bad messages are ignored, and stop() leaves at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Node } from "../../src/index.js";
import { Pid, Tuple, atom, type Term } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd;
let a: BeamNode;
let b: BeamNode;
let bare: BeamNode; // runs no scope
let node: Node;
const SCOPE = "erldist_test_scope";

const count = async (beam: BeamNode, group: string, scope = SCOPE) => (await beam.eval(`length(pg:get_members(${scope}, ${group})).`)) as number;
const membersOf = async (beam: BeamNode, group: string) =>
  (await beam.call("pg", "get_members", [atom(SCOPE), atom(group)])) as Pid[];

beforeAll(async () => {
  epmd = await startEpmd();
  [a, b, bare] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd }), BeamNode.start({ epmd })]);
  for (const beam of [a, b]) await beam.eval(`{ok, _} = pg:start(${SCOPE}), ok.`);
  await a.eval(`true = net_kernel:connect_node('${b.name}'), ok.`);
  node = await Node.start({ name: "pgtest@127.0.0.1", cookie: a.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  for (const beam of [a, b, bare]) await node.connect(beam.name);
});

afterAll(async () => {
  await node?.stop();
  await Promise.all([a, b, bare].map((beam) => beam?.stop()));
  await epmd?.stop();
});

describe("a pg scope", () => {
  it("syncs with every node that runs the scope, and reports the one that does not", async () => {
    const missing: string[] = [];
    const pg = node.pg(SCOPE);
    pg.on("missing", (peer) => missing.push(peer));
    await pg.whenSynced({ timeout: 10_000 });
    expect(pg.syncedNodes().sort()).toEqual([a.name, b.name].sort());
    await expect.poll(() => missing).toEqual([bare.name]);
    expect(node.pg(SCOPE)).toBe(pg); // one scope per name
  });

  it("an erldist join shows in pg:get_members on every node; a leave and an exit take it out", async () => {
    const pg = node.pg(SCOPE);
    const p = node.spawn();
    const q = node.spawn();
    pg.join(atom("workers"), [p, q]);
    for (const beam of [a, b]) await expect.poll(() => count(beam, "workers")).toBe(2);
    expect((await membersOf(a, "workers")).map(String).sort()).toEqual([p.pid, q.pid].map(String).sort());
    expect(pg.leave(atom("workers"), p)).toBe(true);
    expect(pg.leave(atom("workers"), p)).toBe(false);
    for (const beam of [a, b]) await expect.poll(() => count(beam, "workers")).toBe(1);
    q.exit();
    for (const beam of [a, b]) await expect.poll(() => count(beam, "workers")).toBe(0);
    expect(pg.getLocalMembers(atom("workers"))).toEqual([]);
  });

  it("BEAM members are visible from erldist, with join and leave events", async () => {
    const pg = node.pg(SCOPE);
    const joins: Array<[Term, number, string]> = [];
    pg.on("join", (group, pids, from) => joins.push([group, pids.length, from]));
    const member = (await a.eval(`P = spawn(fun() -> receive stop -> ok end end), ok = pg:join(${SCOPE}, beam_group, P), P.`)) as Pid;
    await expect.poll(() => pg.getMembers(atom("beam_group")).length).toBe(1);
    expect(pg.getMembers(atom("beam_group"))[0]).toEqual(member);
    expect(joins).toContainEqual([atom("beam_group"), 1, a.name]);
    expect(pg.whichGroups()).toContainEqual(atom("beam_group"));
    const changes = pg.changes({ group: atom("beam_group") });
    const next = changes.next();
    await a.call("erlang", "send", [member, atom("stop")]); // the process exits: pg on a sends leave
    expect((await next).value).toMatchObject({ action: "leave", group: atom("beam_group"), pids: [member], node: a.name });
    await changes.return(undefined);
    expect(pg.getMembers(atom("beam_group"))).toEqual([]);
  });

  it("a node's members go when it disconnects, and come back with a sync when it reconnects", async () => {
    const pg = node.pg(SCOPE);
    await b.eval(`register(keeper, spawn(fun() -> ok = pg:join(${SCOPE}, kept, self()), receive stop -> ok end end)), ok.`);
    await expect.poll(() => pg.getMembers(atom("kept")).length).toBe(1);
    const mine = node.spawn();
    pg.join(atom("mine"), mine);
    await expect.poll(() => count(b, "mine")).toBe(1);
    node.disconnect(b.name);
    await expect.poll(() => pg.getMembers(atom("kept")).length).toBe(0);
    await expect.poll(() => count(b, "mine")).toBe(0); // b's pg saw our scope go (its monitor fired)
    await node.connect(b.name);
    await expect.poll(() => pg.getMembers(atom("kept")).length).toBe(1);
    await expect.poll(() => count(b, "mine")).toBe(1);
    mine.exit();
    await b.eval("keeper ! stop, ok.");
  });

  it("answers OTP 26's three-element discover, and ignores messages that are not pg's (BEAM's scope would crash)", async () => {
    const pg = node.pg(SCOPE);
    const malformed: Array<[string, Term]> = [];
    pg.on("malformed", (from, message) => malformed.push([from, message]));
    const p = node.spawn();
    pg.join(atom("answered"), p);
    const answer = (await a.eval(
      `{${SCOPE}, '${node.name}'} ! {discover, self(), 99}, ` +
        `receive {'$gen_cast', {sync, Scope, Groups}} -> {Scope, Groups} after 5000 -> timeout end.`,
    )) as Tuple;
    expect(answer.elements[0]).toEqual(pg.pid);
    expect(answer.elements[1]).toEqual([new Tuple([atom("answered"), [p.pid]])]);
    await a.eval(`{${SCOPE}, '${node.name}'} ! {bogus, pg, protocol}, {${SCOPE}, '${node.name}'} ! {join, not_a_pid, g, []}, {${SCOPE}, '${node.name}'} ! {bogus, self()}, ok.`);
    await expect.poll(() => malformed.length).toBe(3);
    expect(malformed.map(([from]) => from)).toEqual(["unknown", "unknown", a.name]);
    pg.join(atom("still_working"), p);
    await expect.poll(() => count(a, "still_working")).toBe(1);
    p.exit();
  });

  it("stop() leaves every group at once, and the scope's name is free again", async () => {
    for (const beam of [a, b]) await beam.eval("{ok, _} = pg:start(erldist_stop_scope), ok.");
    const pg = node.pg("erldist_stop_scope");
    await pg.whenSynced({ timeout: 10_000 });
    const p = node.spawn();
    pg.join(atom("g"), p);
    for (const beam of [a, b]) await expect.poll(() => count(beam, "g", "erldist_stop_scope")).toBe(1);
    pg.stop();
    for (const beam of [a, b]) await expect.poll(() => count(beam, "g", "erldist_stop_scope")).toBe(0);
    expect(node.whereis("erldist_stop_scope")).toBeUndefined();
    expect(p.alive).toBe(true); // leaving is not exiting
    const fresh = node.pg("erldist_stop_scope");
    expect(fresh).not.toBe(pg);
    await fresh.whenSynced({ timeout: 10_000 });
    fresh.join(atom("g"), p);
    for (const beam of [a, b]) await expect.poll(() => count(beam, "g", "erldist_stop_scope")).toBe(1);
    p.exit();
  });
});
