// A :pg scope on the erldist node, speaking OTP's pg protocol with the scope of the same name on every connected
// node: discover, sync, join and leave, and a monitor on each peer's scope. BEAM's pg watches only visible nodes, so
// a hidden node is never discovered by it: this scope discovers every node itself, on start and on each nodeup, and
// the peer's pg then treats it as any other member of the overlay (its joins reach us, ours reach it).
import { EventEmitter } from "node:events";
import { watchDeadline } from "../common/deadline.js";
import { Atom, Pid, Reference, Tuple, atom, encode, equals, isAtom, tuple, type Encodable, type Term } from "../etf/index.js";
import { readPgMessage } from "./pg-messages.js";
import { NodeError, type ErlProcess, type Node } from "../node/index.js";

/** A membership change: `pids` joined or left `group` (remote ones by their node's scope, local ones here). */
export interface PgChange {
  action: "join" | "leave";
  group: Term;
  pids: Pid[];
  /** The node the pids run on. */
  node: string;
}

export interface PgEvents {
  /** Pids joined a group (on any node). */
  join: [group: Term, pids: Pid[], node: string];
  /** Pids left a group: they left, exited, or their node or its scope went away. */
  leave: [group: Term, pids: Pid[], node: string];
  /** `node`'s scope sent its whole membership (after discovery, and again after every reconnect). */
  synced: [node: string];
  /** The scope does not run on `node`: no process is registered there under the scope's name. */
  missing: [node: string];
  /**
   * A message the scope cannot use (not pg's protocol): ignored, as it would crash BEAM's own scope. `from` is the
   * node of the pid it names where pg's messages name their sender, else "unknown".
   */
  malformed: [from: string, message: Term];
}

/** What one peer node's scope has told us. */
interface Peer {
  /** Its scope process, once it discovered or synced with us. */
  scope: Pid | undefined;
  /** The monitor on its scope (by name until its pid is known); its 'DOWN' drops the node's members. */
  monitor: Reference | undefined;
  synced: boolean;
  groups: Map<string, { group: Term; pids: Pid[] }>;
}

/** A key for a group: its encoding, so that equal terms (however built) are one group. */
function groupKey(group: Encodable): string {
  return encode(group).toString("latin1");
}

function pidKey(pid: Pid): string {
  return `${pid.node.name}/${pid.id}/${pid.serial}/${pid.creation}`;
}

export class PgScope extends EventEmitter<PgEvents> {
  /** The scope's name, as an atom: `Elixir.Phoenix.PubSub`, or pg's default scope `pg`. */
  readonly scope: Atom;
  /** @internal The scope's process (registered under the scope's name). */
  readonly process: ErlProcess;
  private readonly peers = new Map<string, Peer>();
  /** Local members: by pid, the groups each is in (and the hook that drops it when it exits). */
  private readonly local = new Map<string, { pid: Pid; groups: Map<string, Term>; dropHook: () => void }>();
  private readonly detach: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly node: Node,
    scope: string | Atom,
  ) {
    super();
    this.scope = typeof scope === "string" ? atom(scope) : scope;
    this.process = node.spawn();
    this.process.trapExits = true;
    node.register(this.scope.name, this.process);
    void this.run();
    const onUp = (peer: string): void => this.discover(peer);
    const onDown = (peer: string): void => this.dropPeer(peer);
    node.on("nodeup", onUp);
    node.on("nodedown", onDown);
    this.detach.push(
      () => node.off("nodeup", onUp),
      () => node.off("nodedown", onDown),
      node.onStop(() => this.stop()),
    );
    for (const peer of node.nodes()) this.discover(peer);
  }

  /** The scope's own process (registered under the scope's name). */
  get pid(): Pid {
    return this.process.pid;
  }

  // ---- membership ----

  /** Joins `processes` (of this node) to `group`; every peer's scope hears of it, as pg:join/3. */
  join(group: Encodable, processes: ErlProcess | ErlProcess[]): void {
    const list = Array.isArray(processes) ? processes : [processes];
    if (this.stopped) throw new NodeError("stopped", `the pg scope ${this.scope.name} is stopped`);
    const key = groupKey(group);
    const term = group as Term; // what the events and lists give: the group as the caller wrote it
    for (const process of list) {
      if (!process.alive) throw new NodeError("exited", `process ${process.pid} has exited, so it cannot join a group`);
      let entry = this.local.get(pidKey(process.pid));
      if (!entry) {
        const pid = process.pid;
        const dropHook = process.onExit(() => this.exited(pid));
        this.local.set(pidKey(pid), (entry = { pid, groups: new Map(), dropHook }));
      }
      entry.groups.set(key, term);
    }
    const pids = list.map((p) => p.pid);
    this.toPeers(tuple(atom("join"), this.pid, group, pids.length === 1 ? pids[0] : pids));
    this.emit("join", term, pids, this.node.name);
  }

  /** Removes `processes` from `group` (as pg:leave/3); false if none of them was in it. */
  leave(group: Encodable, processes: ErlProcess | ErlProcess[]): boolean {
    const list = Array.isArray(processes) ? processes : [processes];
    const key = groupKey(group);
    const left: Pid[] = [];
    for (const process of list) {
      const entry = this.local.get(pidKey(process.pid));
      if (!entry?.groups.delete(key)) continue;
      left.push(process.pid);
      if (entry.groups.size === 0) {
        entry.dropHook();
        this.local.delete(pidKey(process.pid));
      }
    }
    if (left.length === 0) return false;
    this.toPeers(tuple(atom("leave"), this.pid, left.length === 1 ? left[0] : left, [group]));
    this.emit("leave", group as Term, left, this.node.name);
    return true;
  }

  /** Every member of `group`, on every node, as pg:get_members/2. */
  getMembers(group: Encodable): Pid[] {
    const key = groupKey(group);
    const pids = this.getLocalMembers(group);
    for (const peer of this.peers.values()) pids.push(...(peer.groups.get(key)?.pids ?? []));
    return pids;
  }

  /** The members of `group` on this node, as pg:get_local_members/2. */
  getLocalMembers(group: Encodable): Pid[] {
    const key = groupKey(group);
    const pids: Pid[] = [];
    for (const entry of this.local.values()) if (entry.groups.has(key)) pids.push(entry.pid);
    return pids;
  }

  /** The groups this node's processes have joined, with how many of them are in each (pg:which_local_groups/1). */
  localGroups(): Array<{ group: Term; members: number }> {
    const groups = new Map<string, { group: Term; members: number }>();
    for (const entry of this.local.values()) {
      for (const [key, group] of entry.groups) {
        const known = groups.get(key) ?? { group, members: 0 };
        known.members++;
        groups.set(key, known);
      }
    }
    return [...groups.values()];
  }

  /** Every group with a member anywhere, as pg:which_groups/1. */
  whichGroups(): Term[] {
    const groups = new Map<string, Term>();
    for (const entry of this.local.values()) for (const [key, group] of entry.groups) groups.set(key, group);
    for (const peer of this.peers.values()) for (const [key, { group }] of peer.groups) groups.set(key, group);
    return [...groups.values()];
  }

  /** The nodes whose scope has synced with this one. */
  syncedNodes(): string[] {
    return [...this.peers].filter(([, peer]) => peer.synced).map(([name]) => name);
  }

  /**
   * Resolves once every node connected now has answered discovery: synced, or found not to run the scope (the
   * `missing` event). Rejects with NodeError `timeout` (naming the nodes still silent) or `aborted`.
   */
  whenSynced(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    const timeout = options.timeout ?? 5000;
    return new Promise<void>((resolve, reject) => {
      const waiting = (): string[] => this.node.nodes().filter((n) => this.peers.has(n) && !this.peers.get(n)!.synced);
      const check = (): void => {
        if (waiting().length > 0) return;
        done();
        resolve();
      };
      const done = (): void => {
        stop();
        this.off("synced", check);
        this.off("missing", check);
      };
      const stop = watchDeadline({ timeout, signal: options.signal }, (expiry) => {
        done();
        reject(
          expiry.why === "timeout"
            ? new NodeError("timeout", `the pg scope ${this.scope.name} on ${waiting().join(", ")} did not answer discovery within ${timeout} ms`)
            : new NodeError("aborted", `waiting for the pg scope ${this.scope.name} was aborted`, { cause: expiry.reason }),
        );
      });
      this.on("synced", check);
      this.on("missing", check);
      check();
    });
  }

  /** Membership changes as they happen, until `signal` aborts or the scope stops (optionally of one group). */
  async *changes(options: { group?: Encodable; signal?: AbortSignal } = {}): AsyncGenerator<PgChange> {
    const key = options.group === undefined ? undefined : groupKey(options.group);
    const queue: PgChange[] = [];
    let wake: (() => void) | undefined;
    const push = (action: "join" | "leave") => (group: Term, pids: Pid[], node: string) => {
      if (key !== undefined && groupKey(group) !== key) return;
      queue.push({ action, group, pids, node });
      wake?.();
    };
    const onJoin = push("join");
    const onLeave = push("leave");
    const onEnd = (): void => wake?.();
    this.on("join", onJoin);
    this.on("leave", onLeave);
    const unhook = this.process.onExit(onEnd);
    options.signal?.addEventListener("abort", onEnd, { once: true });
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (this.stopped || options.signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.off("join", onJoin);
      this.off("leave", onLeave);
      unhook();
      options.signal?.removeEventListener("abort", onEnd);
    }
  }

  /** Leaves every group (each peer hears it at once) and stops the scope's process. */
  stop(): void {
    if (this.stopped) return;
    for (const { pid, groups, dropHook } of this.local.values()) {
      dropHook();
      this.toPeers(tuple(atom("leave"), this.pid, pid, [...groups.values()] as Encodable[]));
    }
    this.local.clear();
    this.stopped = true;
    for (const undo of this.detach.splice(0)) undo();
    this.process.exit();
  }

  // ---- the protocol ----

  /** Asks `peer`'s scope (by name) to sync, watching it so that its exit or absence is seen. */
  private discover(peer: string): void {
    if (this.stopped || peer === this.node.name) return;
    const entry = this.peer(peer);
    entry.synced = false;
    if (entry.monitor === undefined) void this.watch(peer, [this.scope, peer]);
    this.process.send([this.scope, peer], tuple(atom("discover"), this.pid)).catch(() => undefined);
  }

  private async watch(peer: string, target: Pid | readonly [Atom, string]): Promise<void> {
    const entry = this.peer(peer);
    entry.monitor = await this.process.monitor(target).catch(() => undefined);
  }

  private peer(name: string): Peer {
    let peer = this.peers.get(name);
    if (!peer) this.peers.set(name, (peer = { scope: undefined, monitor: undefined, synced: false, groups: new Map() }));
    return peer;
  }

  private async run(): Promise<void> {
    for await (const message of this.process) {
      try {
        if (!this.handle(message)) this.report(message);
      } catch {
        this.report(message);
      }
    }
  }

  /** Acts on one message to the scope; false if it is not pg's protocol. */
  private handle(term: Term): boolean {
    const message = readPgMessage(term);
    if (!message) return false;
    switch (message.kind) {
      case "discover": {
        // Answer with our members, and discover it back if it is new (as pg's handle_discover).
        const { scope } = message;
        this.process.send(scope, tuple(atom("$gen_cast"), tuple(atom("sync"), this.pid, this.syncGroups()))).catch(() => undefined);
        const entry = this.peer(scope.node.name);
        if (entry.scope === undefined) {
          // A node's scope is adopted once; another process of that node asking gets our members but does not take
          // the scope's place: only a 'DOWN' of the scope frees it.
          entry.scope = scope;
          this.process.send(scope, tuple(atom("discover"), this.pid)).catch(() => undefined);
        }
        return true;
      }
      case "sync":
        this.synced(message.scope, message.groups);
        return true;
      case "join": {
        const { scope, group, pids } = message;
        const entry = this.peerScope(scope);
        if (!entry) return true; // not (or no longer) in the overlay: ignored, as pg does
        const key = groupKey(group);
        const known = entry.groups.get(key) ?? { group, pids: [] };
        known.pids.push(...pids);
        entry.groups.set(key, known);
        this.emit("join", group, pids, scope.node.name);
        return true;
      }
      case "leave": {
        const { scope, pids, groups } = message;
        const entry = this.peerScope(scope);
        if (!entry) return true;
        const gone = new Set(pids.map(pidKey));
        for (const group of groups) {
          const key = groupKey(group);
          const known = entry.groups.get(key);
          if (!known) continue;
          const left = known.pids.filter((p) => gone.has(pidKey(p)));
          known.pids = known.pids.filter((p) => !gone.has(pidKey(p)));
          if (known.pids.length === 0) entry.groups.delete(key);
          if (left.length > 0) this.emit("leave", known.group, left, scope.node.name);
        }
        return true;
      }
      case "down":
        for (const [name, entry] of this.peers) {
          if (entry.monitor === undefined || !equals(entry.monitor, message.ref)) continue;
          const neverSynced = !entry.synced;
          this.dropPeer(name);
          if (neverSynced && isAtom(message.reason, "noproc")) this.emit("missing", name);
          break;
        }
        return true; // (a monitor of an earlier scope: nothing left to drop)
      case "ignored":
        return true; // exit signals (trapped) and calls: a pg scope is neither linked nor called across nodes
    }
  }

  /** The peer whose adopted scope is `scope`, if it is one. */
  private peerScope(scope: Pid): Peer | undefined {
    const entry = this.peers.get(scope.node.name);
    return entry?.scope && pidKey(entry.scope) === pidKey(scope) ? entry : undefined;
  }

  /** A peer's scope sent its whole membership: it replaces what we knew of that node. */
  private synced(scope: Pid, groups: Array<[Term, Pid[]]>): void {
    const name = scope.node.name;
    const entry = this.peer(name);
    entry.scope ??= scope;
    if (pidKey(entry.scope) !== pidKey(scope)) return; // not that node's scope: its word is not the node's membership
    const before = entry.groups;
    entry.groups = new Map(groups.map(([group, pids]) => [groupKey(group as Encodable), { group, pids: [...pids] }]));
    entry.synced = true;
    for (const [key, { group, pids }] of before) {
      const now = new Set((entry.groups.get(key)?.pids ?? []).map(pidKey));
      const left = pids.filter((p) => !now.has(pidKey(p)));
      if (left.length > 0) this.emit("leave", group, left, name);
    }
    for (const [key, { group, pids }] of entry.groups) {
      const had = new Set((before.get(key)?.pids ?? []).map(pidKey));
      const joined = pids.filter((p) => !had.has(pidKey(p)));
      if (joined.length > 0) this.emit("join", group, joined, name);
    }
    this.emit("synced", name);
  }

  /** A peer node (or its scope) went away: its members leave. */
  private dropPeer(name: string): void {
    const entry = this.peers.get(name);
    if (!entry) return;
    this.peers.delete(name);
    if (entry.monitor) this.process.demonitor(entry.monitor);
    for (const { group, pids } of entry.groups.values()) if (pids.length > 0) this.emit("leave", group, pids, name);
  }

  /** A local member exited: it leaves every group it was in, as pg's 'DOWN' handling. */
  private exited(pid: Pid): void {
    const entry = this.local.get(pidKey(pid));
    if (!entry || this.stopped) return;
    this.local.delete(pidKey(pid));
    const groups = [...entry.groups.values()];
    this.toPeers(tuple(atom("leave"), this.pid, pid, groups as Encodable[]));
    for (const group of groups) this.emit("leave", group, [pid], this.node.name);
  }

  /** [{Group, [Pid]}] of the local members, as pg's sync carries them. */
  private syncGroups(): Encodable[] {
    const groups = new Map<string, { group: Term; pids: Pid[] }>();
    for (const { pid, groups: mine } of this.local.values()) {
      for (const [key, group] of mine) {
        const known = groups.get(key) ?? { group, pids: [] };
        known.pids.push(pid);
        groups.set(key, known);
      }
    }
    return [...groups.values()].map(({ group, pids }) => tuple(group, pids));
  }

  /** Sends to every peer scope we know (pg's broadcast, without connecting: a peer that is down is dropped). */
  private toPeers(message: Encodable): void {
    for (const peer of this.peers.values()) if (peer.scope) this.process.send(peer.scope, message).catch(() => undefined);
  }

  private reportedMalformed = false;

  private report(message: Term): void {
    if (this.listenerCount("malformed") > 0) {
      // Who sent it, when it says (a pid in the second place, as every pg message has): else "unknown".
      const sender = message instanceof Tuple && message.elements[1] instanceof Pid ? message.elements[1].node.name : "unknown";
      this.emit("malformed", sender, message);
      return;
    }
    if (this.reportedMalformed) return;
    this.reportedMalformed = true;
    console.warn(`erldist: the pg scope ${this.scope.name} got a message that is not pg's protocol, and ignored it (later ones are ignored silently; listen to its malformed event to see them)`);
  }
}
