// The process table on its own: pids and references, names, aliases, and the monitors both ways, with what an
// exiting process leaves behind. (What signals do with the table is proven against real erl in the other files.)
import { describe, expect, it } from "vitest";
import { Atom, Pid, Reference, atom } from "../../src/etf/index.js";
import { ErlProcess, type ProcessHost } from "../../src/node/process.js";
import { ProcessTable, refKey } from "../../src/node/process-table.js";

const NAME = "table@127.0.0.1";
const host = {} as ProcessHost; // the table never calls a process's host
const remote = new Pid(atom("beam@127.0.0.1"), 7, 0, 3);

function spawnIn(table: ProcessTable): ErlProcess {
  const process = new ErlProcess(table.makePid(), host);
  table.add(process);
  return process;
}

describe("the process table", () => {
  it("makes pids of this node, distinct past the 15-bit id (the rest goes in serial), and finds them", () => {
    const table = new ProcessTable(NAME, 42);
    const pids = Array.from({ length: 0x8000 + 5 }, () => table.makePid());
    expect(new Set(pids.map(String)).size).toBe(pids.length);
    expect(pids.every((pid) => pid.node === atom(NAME) && pid.creation === 42 && pid.id <= 0x7fff)).toBe(true);
    expect(pids.at(-1)!.serial).toBe(1);
    const process = spawnIn(table);
    expect(table.local(process.pid)).toBe(process);
    expect(table.local(new Pid(atom(NAME), process.pid.id, process.pid.serial, 42))).toBe(process); // equal, not identical
    expect(table.local(new Pid(atom("other@host"), process.pid.id, process.pid.serial, 42))).toBeUndefined();
    expect(table.local(atom("not_a_pid"))).toBeUndefined();
  });

  it("makes references of this node that differ, identified by refKey", () => {
    const table = new ProcessTable(NAME, 42);
    const refs = Array.from({ length: 1000 }, () => table.makeRef());
    expect(new Set(refs.map(refKey)).size).toBe(1000);
    expect(refs.every((ref) => ref.node === atom(NAME) && ref.creation === 42 && ref.ids.length === 3)).toBe(true);
  });

  it("keys its own references by their counter, the same for a decoded copy, and any other reference by refKey", () => {
    const table = new ProcessTable(NAME, 42);
    const refs = Array.from({ length: 1000 }, () => table.makeRef());
    const keys = refs.map((ref) => table.keyOf(ref));
    expect(keys.every((key) => typeof key === "number")).toBe(true);
    expect(new Set(keys).size).toBe(1000);
    const [first] = refs;
    expect(table.keyOf(new Reference(new Atom(NAME), 42, [...first.ids]))).toBe(keys[0]); // as decoded: equal, not identical
    // Look-alikes that are not this node's: another node, an earlier incarnation, another salt, more words.
    const others = [
      new Reference(atom("other@host"), 42, [...first.ids]),
      new Reference(atom(NAME), 41, [...first.ids]),
      new Reference(atom(NAME), 42, [first.ids[0], first.ids[1], (first.ids[2] + 1) >>> 0]),
      new Reference(atom(NAME), 42, [...first.ids, 0]),
    ];
    for (const other of others) expect(table.keyOf(other)).toBe(refKey(other));
  });

  it("registers a name to one process at a time and resolves names and pids alike", () => {
    const table = new ProcessTable(NAME, 1);
    const [a, b] = [spawnIn(table), spawnIn(table)];
    expect(table.register("svc", a)).toBeUndefined();
    expect(table.register("svc", a)).toBeUndefined(); // again, to the same process: fine
    expect(table.register("svc", b)).toBe(a); // taken: the holder is returned
    expect(table.named("svc")).toBe(a);
    expect(table.resolve(atom("svc"))).toBe(a);
    expect(table.resolve(b.pid)).toBe(b);
    expect(table.unregister("svc")).toBe(true);
    expect(table.unregister("svc")).toBe(false);
  });

  it("keeps aliases with their priority, removable only by their own process", () => {
    const table = new ProcessTable(NAME, 1);
    const [a, b] = [spawnIn(table), spawnIn(table)];
    const plain = table.addAlias(a, false);
    const urgent = table.addAlias(a, true);
    expect(table.alias(plain)).toEqual({ process: a, priority: false });
    expect(table.alias(urgent)).toEqual({ process: a, priority: true });
    expect(table.removeAlias(b, plain)).toBe(false);
    expect(table.removeAlias(a, plain)).toBe(true);
    expect(table.alias(plain)).toBeUndefined();
    expect(table.alias(new Reference(atom(NAME), 1, [9, 9, 9]))).toBeUndefined();
  });

  it("an exiting process leaves no name, alias or pid, and hands back the monitors held on it", () => {
    const table = new ProcessTable(NAME, 1);
    const [a, b] = [spawnIn(table), spawnIn(table)];
    table.register("a", a);
    const alias = table.addAlias(a, false);
    const ref1 = new Reference(atom("beam@127.0.0.1"), 3, [1, 2, 3]);
    const ref2 = new Reference(atom("beam@127.0.0.1"), 3, [4, 5, 6]);
    table.addWatcher(a, { from: remote, ref: ref1, toProc: a.pid, peer: "beam@127.0.0.1" });
    table.addWatcher(a, { from: remote, ref: ref2, toProc: atom("a"), peer: "beam@127.0.0.1" });
    table.addWatcher(b, { from: remote, ref: ref1, toProc: b.pid, peer: "beam@127.0.0.1" });
    table.removeWatcher(a, ref2); // demonitored: owed nothing
    const owed = table.remove(a);
    expect(owed.map((w) => w.ref)).toEqual([ref1]);
    expect(table.named("a")).toBeUndefined();
    expect(table.alias(alias)).toBeUndefined();
    expect(table.local(a.pid)).toBeUndefined();
    expect(table.processes()).toEqual([b]);
    expect(table.remove(b).map((w) => w.ref)).toEqual([ref1]); // b's own watcher stayed until b went
  });

  it("takes held monitors one by one, or all of those on a node that went down", () => {
    const table = new ProcessTable(NAME, 1);
    const a = spawnIn(table);
    const monitor = (peer: string) => {
      const ref = table.makeRef();
      table.addHeld({ process: a, ref, peer, target: remote, toProc: remote });
      return ref;
    };
    const [x, y, z] = [monitor("one@h"), monitor("two@h"), monitor("one@h")];
    expect(table.takeHeld(y)?.peer).toBe("two@h");
    expect(table.takeHeld(y)).toBeUndefined();
    expect(table.takeHeldOn("one@h").map((m) => m.ref)).toEqual([x, z]);
    expect(table.heldCount).toBe(0);
  });
});
