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

/**
 * How the table keys a reference (a monitor's, an alias's, a request's): a number for the references this node
 * makes (see ProcessTable.keyOf), a string for any other.
 */
export type RefKey = number | string;

/** Identifies any reference, as a string (ProcessTable.keyOf keys this node's own more cheaply). */
export function refKey(ref: Reference): string {
  const ids = ref.ids;
  // Three words is what every reference of OTP 23+ has (and this node's): no join for them (refKey is on every
  // monitor, alias and reply lookup).
  if (ids.length === 3) return `${ref.node.name}/${ref.creation}/${ids[0]}.${ids[1]}.${ids[2]}`;
  return `${ref.node.name}/${ref.creation}/${ids.join(".")}`;
}

/** What one process holds, by key; each set made when first needed (most processes hold few kinds of things). */
interface Owned {
  names: Set<string> | undefined;
  aliases: Set<RefKey> | undefined;
  held: Set<RefKey> | undefined;
}

/** Where a local pid's process is kept: pids are made with a 15-bit id and the rest of the counter in serial. */
function pidKey(pid: Pid): number {
  return pid.id + pid.serial * 0x8000;
}

export class ProcessTable {
  private readonly byPid = new Map<number, ErlProcess>();
  private readonly names = new Map<string, ErlProcess>();
  private readonly aliases = new Map<RefKey, { process: ErlProcess; priority: boolean }>();
  /** Monitors local processes hold, by reference. */
  private readonly held = new Map<RefKey, HeldMonitor>();
  /**
   * What each process holds (names, aliases, monitors), by key: so that an exit frees its own entries without a
   * scan of every process's (a gen_server call makes an alias and a monitor, and many may be in flight).
   */
  private readonly owned = new Map<ErlProcess, Owned>();
  /** Monitors remote processes hold on local ones: by the watched process, then by reference. */
  private readonly watchers = new Map<ErlProcess, Map<RefKey, Watcher>>();
  /** Spawn requests waiting for their reply, by request id (keyOf). */
  readonly spawnRequests = new Map<RefKey, SpawnRequest>();
  private nextPid = 1;
  private nextRef = 1;
  /** The third word of every reference this node makes: random, so that references of restarted nodes differ. */
  private readonly refSalt = randomInt(0, 0xffffffff);

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

  /** A new reference of this node: a counter in the first two words, the node's random salt in the third. */
  makeRef(): Reference {
    const n = this.nextRef++;
    return new Reference(atom(this.nodeName), this.creation, [n & 0x3ffff, Math.floor(n / 0x40000) >>> 0, this.refSalt]);
  }

  /**
   * The key of `ref` in this table: for a reference this node made, its counter (a number: no string to build and
   * hash on every monitor, alias and reply lookup); for any other, refKey's string.
   */
  keyOf(ref: Reference): RefKey {
    const ids = ref.ids;
    if (ids.length === 3 && ids[2] === this.refSalt && ids[0] < 0x40000 && ref.creation === this.creation && ref.node.name === this.nodeName) {
      return ids[0] + ids[1] * 0x40000;
    }
    return refKey(ref);
  }

  add(process: ErlProcess): void {
    this.byPid.set(pidKey(process.pid), process);
  }

  private ownedBy(process: ErlProcess): Owned {
    let owned = this.owned.get(process);
    if (!owned) this.owned.set(process, (owned = { names: undefined, aliases: undefined, held: undefined }));
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
      if (owned.names) for (const name of owned.names) if (this.names.get(name) === process) this.names.delete(name);
      if (owned.aliases) for (const key of owned.aliases) this.aliases.delete(key);
      owned.names = owned.aliases = undefined;
      if (!owned.held?.size) this.owned.delete(process);
    }
    const watchers = this.watchers.get(process);
    if (watchers === undefined) return [];
    this.watchers.delete(process);
    return [...watchers.values()];
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
    (this.ownedBy(process).names ??= new Set()).add(name);
    return undefined;
  }

  unregister(name: string): boolean {
    const holder = this.names.get(name);
    if (!holder) return false;
    this.owned.get(holder)?.names?.delete(name);
    return this.names.delete(name);
  }

  // ---- aliases ----

  addAlias(process: ErlProcess, priority: boolean): Reference {
    const alias = this.makeRef();
    const key = this.keyOf(alias);
    this.aliases.set(key, { process, priority });
    (this.ownedBy(process).aliases ??= new Set()).add(key);
    return alias;
  }

  /** The active alias `ref`, if it is one: its process, and whether it is a priority alias. */
  alias(ref: Reference): { process: ErlProcess; priority: boolean } | undefined {
    return this.aliases.get(this.keyOf(ref));
  }

  /** Deactivates `ref` if it is an alias of `process`; true if it was. */
  removeAlias(process: ErlProcess, ref: Reference): boolean {
    const key = this.keyOf(ref);
    if (this.aliases.get(key)?.process !== process) return false;
    this.owned.get(process)?.aliases?.delete(key);
    return this.aliases.delete(key);
  }

  // ---- monitors ----

  /** Records a monitor a local process holds. */
  addHeld(monitor: HeldMonitor): void {
    const key = this.keyOf(monitor.ref);
    this.held.set(key, monitor);
    (this.ownedBy(monitor.process).held ??= new Set()).add(key);
  }

  /** The monitor `ref` a local process holds, if any. */
  heldMonitor(ref: Reference): HeldMonitor | undefined {
    return this.held.get(this.keyOf(ref));
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
    const key = this.keyOf(ref);
    const monitor = this.held.get(key);
    if (!monitor) return undefined;
    this.held.delete(key);
    const owned = this.owned.get(monitor.process);
    owned?.held?.delete(key);
    if (owned && !owned.held?.size && !monitor.process.alive) this.owned.delete(monitor.process);
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
    list.set(this.keyOf(watcher.ref), watcher);
  }

  removeWatcher(process: ErlProcess, ref: Reference): void {
    this.watchers.get(process)?.delete(this.keyOf(ref));
  }
}
