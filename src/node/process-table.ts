// The node's process table, as ERTS keeps one: its live processes by pid, registered names, active aliases, the
// monitors its processes hold on remote ones, and the monitors remote processes hold on its own. Only data and
// lookups: what signals do with it is signals.ts (out) and router.ts (in).
import { randomInt } from "node:crypto";
import { Atom, Pid, Reference, atom, type Encodable, type Term } from "../etf/index.js";
import type { ErlProcess } from "./process.js";

/** A monitor a local process holds on a remote process (MONITOR_P sent), or on a process spawned for it. */
export interface HeldMonitor {
  process: ErlProcess;
  ref: Reference;
  /** The node the watched process runs on. */
  peer: string;
  /** What the 'DOWN' message names: the pid, or {Name, Node}. */
  target: Encodable;
  /** What DEMONITOR_P names: the pid or the registered name; undefined while a spawned process's pid is unknown. */
  toProc: Pid | Atom | undefined;
}

/** A monitor a remote process holds on a local one (MONITOR_P received). */
export interface Watcher {
  /** The remote process that gets the 'DOWN'. */
  from: Pid;
  ref: Reference;
  /** What it named: the local pid or the registered name (sent back in MONITOR_P_EXIT). */
  toProc: Pid | Atom;
  peer: string;
}

/** A spawn request a local process made (SPAWN_REQUEST sent), waiting for its SPAWN_REPLY. */
export interface SpawnRequest {
  process: ErlProcess;
  /** Which replies the process wants as messages, as spawn_request/5's reply option. */
  reply: "yes" | "no" | "error_only" | "success_only";
  /** The node asked to spawn. */
  peer: string;
  reqId: Reference;
}

/** Identifies a reference of this table (a monitor's, an alias's, a request's). */
export function refKey(ref: Reference): string {
  const ids = ref.ids;
  // Three words is what every reference of OTP 23+ has (and this node's): no join for them (refKey is on every
  // monitor, alias and reply lookup).
  if (ids.length === 3) return `${ref.node.name}/${ref.creation}/${ids[0]}.${ids[1]}.${ids[2]}`;
  return `${ref.node.name}/${ref.creation}/${ids.join(".")}`;
}

/** Where a local pid's process is kept: pids are made with a 15-bit id and the rest of the counter in serial. */
function pidKey(pid: Pid): number {
  return pid.id + pid.serial * 0x8000;
}

export class ProcessTable {
  private readonly byPid = new Map<number, ErlProcess>();
  private readonly names = new Map<string, ErlProcess>();
  private readonly aliases = new Map<string, { process: ErlProcess; priority: boolean }>();
  /** Monitors local processes hold, by reference. */
  private readonly held = new Map<string, HeldMonitor>();
  /**
   * What each process holds (names, aliases, monitors), by key: so that an exit frees its own entries without a
   * scan of every process's (a gen_server call makes an alias and a monitor, and many may be in flight).
   */
  private readonly owned = new Map<ErlProcess, { names: Set<string>; aliases: Set<string>; held: Set<string> }>();
  /** Monitors remote processes hold on local ones: by the watched process, then by reference. */
  private readonly watchers = new Map<ErlProcess, Map<string, Watcher>>();
  /** Spawn requests waiting for their reply, by request id. */
  readonly spawnRequests = new Map<string, SpawnRequest>();
  private nextPid = 1;
  private nextRef = 1;

  constructor(
    /** The node's name, as pids and references carry it. */
    readonly nodeName: string,
    readonly creation: number,
  ) {}

  /** A new pid of this node. */
  makePid(): Pid {
    const id = this.nextPid++;
    return new Pid(atom(this.nodeName), id & 0x7fff, id >>> 15, this.creation);
  }

  /** A new reference of this node (the third word random, so references of restarted nodes differ). */
  makeRef(): Reference {
    const n = this.nextRef++;
    return new Reference(atom(this.nodeName), this.creation, [n & 0x3ffff, Math.floor(n / 0x40000) >>> 0, randomInt(0, 0xffffffff)]);
  }

  add(process: ErlProcess): void {
    this.byPid.set(pidKey(process.pid), process);
  }

  private ownedBy(process: ErlProcess): { names: Set<string>; aliases: Set<string>; held: Set<string> } {
    let owned = this.owned.get(process);
    if (!owned) this.owned.set(process, (owned = { names: new Set(), aliases: new Set(), held: new Set() }));
    return owned;
  }

  /**
   * Forgets an exited process: its pid, names and aliases, and the monitors remote processes held on it, which are
   * returned (they are owed a 'DOWN'). The monitors it held itself are left to the caller (they need a DEMONITOR_P).
   */
  remove(process: ErlProcess): Watcher[] {
    this.byPid.delete(pidKey(process.pid));
    const owned = this.owned.get(process);
    if (owned) {
      for (const name of owned.names) if (this.names.get(name) === process) this.names.delete(name);
      for (const key of owned.aliases) this.aliases.delete(key);
      owned.names.clear();
      owned.aliases.clear();
      if (owned.held.size === 0) this.owned.delete(process);
    }
    const watchers = [...(this.watchers.get(process)?.values() ?? [])];
    this.watchers.delete(process);
    return watchers;
  }

  /** Every live process. */
  processes(): ErlProcess[] {
    return [...this.byPid.values()];
  }

  /** The live local process `target` names (a pid of this node), if any. */
  local(target: Term): ErlProcess | undefined {
    return target instanceof Pid && target.node.name === this.nodeName ? this.byPid.get(pidKey(target)) : undefined;
  }

  /** The live process `target` names: a pid of this node, or a registered name. */
  resolve(target: Term): ErlProcess | undefined {
    return target instanceof Atom ? this.names.get(target.name) : this.local(target);
  }

  // ---- names ----

  named(name: string): ErlProcess | undefined {
    return this.names.get(name);
  }

  /** The process holding `name`, when it is one other than `process` (the name is then taken). */
  register(name: string, process: ErlProcess): ErlProcess | undefined {
    const holder = this.names.get(name);
    if (holder && holder !== process) return holder;
    this.names.set(name, process);
    this.ownedBy(process).names.add(name);
    return undefined;
  }

  unregister(name: string): boolean {
    const holder = this.names.get(name);
    if (!holder) return false;
    this.owned.get(holder)?.names.delete(name);
    return this.names.delete(name);
  }

  // ---- aliases ----

  addAlias(process: ErlProcess, priority: boolean): Reference {
    const alias = this.makeRef();
    const key = refKey(alias);
    this.aliases.set(key, { process, priority });
    this.ownedBy(process).aliases.add(key);
    return alias;
  }

  /** The active alias `ref`, if it is one: its process, and whether it is a priority alias. */
  alias(ref: Reference): { process: ErlProcess; priority: boolean } | undefined {
    return this.aliases.get(refKey(ref));
  }

  /** Deactivates `ref` if it is an alias of `process`; true if it was. */
  removeAlias(process: ErlProcess, ref: Reference): boolean {
    const key = refKey(ref);
    if (this.aliases.get(key)?.process !== process) return false;
    this.owned.get(process)?.aliases.delete(key);
    return this.aliases.delete(key);
  }

  // ---- monitors ----

  /** Records a monitor a local process holds. */
  addHeld(monitor: HeldMonitor): void {
    const key = refKey(monitor.ref);
    this.held.set(key, monitor);
    this.ownedBy(monitor.process).held.add(key);
  }

  /** The monitor `ref` a local process holds, if any. */
  heldMonitor(ref: Reference): HeldMonitor | undefined {
    return this.held.get(refKey(ref));
  }

  /** How many monitors local processes hold. */
  get heldCount(): number {
    return this.held.size;
  }

  /** The monitors `process` holds. */
  heldBy(process: ErlProcess): HeldMonitor[] {
    const keys = this.owned.get(process)?.held;
    return keys ? [...keys].map((key) => this.held.get(key)!) : [];
  }

  /** Removes and returns the monitor `ref` a local process holds. */
  takeHeld(ref: Reference): HeldMonitor | undefined {
    const key = refKey(ref);
    const monitor = this.held.get(key);
    if (!monitor) return undefined;
    this.held.delete(key);
    const owned = this.owned.get(monitor.process);
    owned?.held.delete(key);
    if (owned && owned.held.size === 0 && !monitor.process.alive) this.owned.delete(monitor.process);
    return monitor;
  }

  /** Removes and returns every monitor local processes hold on processes of `peer`. */
  takeHeldOn(peer: string): HeldMonitor[] {
    const found: HeldMonitor[] = [];
    for (const monitor of [...this.held.values()]) if (monitor.peer === peer) found.push(this.takeHeld(monitor.ref)!);
    return found;
  }

  addWatcher(process: ErlProcess, watcher: Watcher): void {
    let list = this.watchers.get(process);
    if (!list) this.watchers.set(process, (list = new Map()));
    list.set(refKey(watcher.ref), watcher);
  }

  removeWatcher(process: ErlProcess, ref: Reference): void {
    this.watchers.get(process)?.delete(refKey(ref));
  }
}
