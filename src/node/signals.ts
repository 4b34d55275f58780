// Signals from the node's own processes, as ERTS sends them: to a local process they are delivered here (as the
// terms they encode to), to a remote one they go through the verbs of its node's connection, connecting first
// where BEAM would. This is what every ErlProcess calls (its ProcessHost); the incoming side is router.ts.
import { Atom, Pid, Reference, atom, encode, tuple, type Encodable, type TermOptions } from "../etf/index.js";
import type { DistConnection } from "../dist/index.js";
import { checkDestination, ignorable, type CheckedDestination, type Destination, type NodeName } from "./destination.js";
import { NodeError } from "./errors.js";
import { asReceived, downMessage, spawnReplyMessage } from "./messages.js";
import { ErlProcess, type AliasOptions, type ExitOptions, type ProcessHost, type SendOptions, type SpawnRequestOptions } from "./process.js";
import type { ProcessTable } from "./process-table.js";

/** The node's connections, as signals need them. */
export interface SignalRoutes {
  /** The open connection to `peer`, if there is one. */
  open(peer: string): DistConnection | undefined;
  /** The connection to `peer`, made if needed (rejects with why it cannot be). */
  connect(peer: string): Promise<DistConnection>;
  /**
   * The connection for a send of `bytes` to `peer`, made if needed; while it is being made, the bytes count against
   * maxQueuedBytes (rejects with DistError `busy` past it).
   */
  connectForSend(peer: string, bytes: number): Promise<DistConnection>;
}

/** What a send that completes at once returns (one promise for all of them). */
const RESOLVED = Promise.resolve();

export class Signals implements ProcessHost {
  private nextUnlinkId = 1;

  constructor(
    private readonly table: ProcessTable,
    private readonly routes: SignalRoutes,
    /** How the node maps terms: local deliveries decode with it. */
    readonly terms: TermOptions,
  ) {}

  private get nodeName(): string {
    return this.table.nodeName;
  }

  /** Starts a process of this node. */
  spawn(): ErlProcess {
    const process = new ErlProcess(this.table.makePid(), this);
    this.table.add(process);
    return process;
  }

  // ---- messages ----

  sendFrom(from: Pid, to: Destination, message: Encodable, options: SendOptions = {}): Promise<void> {
    const destination = checkDestination(to); // throws at the call: not a promise to forget
    return ignorable(this.deliverFrom(from, destination, message, options.priority === true));
  }

  private deliverFrom(from: Pid, destination: CheckedDestination, message: Encodable, priority: boolean): Promise<void> {
    try {
      let peer: string;
      let target: Pid | Atom | Reference;
      if (destination.kind === "name") {
        peer = destination.node ?? this.nodeName;
        if (peer === this.nodeName) {
          const process = this.table.named(destination.name);
          if (!process) throw new NodeError("not_registered", `no process is registered as '${destination.name}' on this node`);
          process.deliver(asReceived(message, this.terms));
          return RESOLVED;
        }
        target = atom(destination.name);
      } else {
        target = destination.kind === "pid" ? destination.pid : destination.alias;
        peer = target.node.name;
        if (peer === this.nodeName) {
          if (destination.kind === "alias") {
            const alias = this.table.alias(destination.alias); // an inactive alias: dropped, as in BEAM
            alias?.process.deliver(asReceived(message, this.terms), priority && alias.priority);
          } else {
            // Priority counts only through a priority alias: to a pid it is an ordinary message, as in BEAM.
            this.table.local(destination.pid)?.deliver(asReceived(message, this.terms)); // a dead pid: dropped
          }
          return RESOLVED;
        }
      }
      // Connected (the usual case): straight to the connection, so a held send keeps only its encoded frame.
      const connection = this.routes.open(peer);
      if (connection) return connection.sendMessage(from, target, message, priority);
      const bytes = encode(message, this.terms).length;
      return this.routes.connectForSend(peer, bytes).then((made) => made.sendMessage(from, target, message, priority));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  // ---- links and exit signals ----

  async linkFrom(process: ErlProcess, target: Pid): Promise<void> {
    if (target.node.name === this.nodeName) {
      const other = this.table.local(target);
      if (other) other.addLink(process.pid);
      else process.exitSignal(target, atom("noproc"), true);
      return;
    }
    let connection: DistConnection;
    try {
      connection = await this.routes.connect(target.node.name);
    } catch {
      process.exitSignal(target, atom("noconnection"), true);
      return;
    }
    connection.link(process.pid, target);
  }

  unlinkFrom(process: ErlProcess, target: Pid): void {
    if (target.node.name === this.nodeName) {
      this.table.local(target)?.dropLink(process.pid);
      return;
    }
    this.routes.open(target.node.name)?.unlink(this.nextUnlinkId++, process.pid, target);
  }

  async exitFrom(process: ErlProcess, target: Pid | Reference, reason: Encodable, options: ExitOptions = {}): Promise<void> {
    const priority = options.priority === true;
    if (target.node.name === this.nodeName) {
      if (target instanceof Reference) {
        const alias = this.table.alias(target); // an inactive alias: dropped, as in BEAM
        alias?.process.exitSignal(process.pid, asReceived(reason, this.terms), false, priority && alias.priority);
      } else {
        // Priority counts only through a priority alias: to a pid this is an ordinary exit signal, as in BEAM.
        this.table.local(target)?.exitSignal(process.pid, asReceived(reason, this.terms), false);
      }
      return;
    }
    const connection = await this.routes.connect(target.node.name);
    await connection.exit2(process.pid, target, reason, priority);
  }

  // ---- monitors ----

  async monitorFrom(process: ErlProcess, target: Pid | readonly [name: string | Atom, node: NodeName]): Promise<Reference> {
    const ref = this.table.makeRef();
    const checked = checkDestination(target);
    if (checked.kind === "alias" || (checked.kind === "name" && checked.node === undefined)) {
      throw new NodeError("bad_argument", "monitor takes a Pid or [name, node]");
    }
    const [toProc, peer, targetTerm]: [Pid | Atom, string, Encodable] =
      checked.kind === "pid"
        ? [checked.pid, checked.pid.node.name, checked.pid]
        : [atom(checked.name), checked.node!, tuple(atom(checked.name), atom(checked.node!))];
    let connection: DistConnection;
    try {
      connection = await this.routes.connect(peer);
    } catch {
      // As in Erlang: monitoring something on a node that cannot be reached fires at once with noconnection.
      process.deliver(downMessage(ref, targetTerm, atom("noconnection"), this.terms));
      return ref;
    }
    this.table.addHeld({ process, target: targetTerm, toProc, peer, ref });
    connection.monitor(process.pid, toProc, ref);
    return ref;
  }

  demonitorFrom(process: ErlProcess, ref: Reference): void {
    const monitor = this.table.heldMonitor(ref);
    if (!monitor || monitor.process !== process) return;
    this.table.takeHeld(ref);
    if (monitor.toProc !== undefined) this.routes.open(monitor.peer)?.demonitor(process.pid, monitor.toProc, ref);
  }

  // ---- aliases ----

  aliasFor(process: ErlProcess, options: AliasOptions = {}): Reference {
    return this.table.addAlias(process, options.priority === true);
  }

  unaliasFrom(process: ErlProcess, alias: Reference): boolean {
    return this.table.removeAlias(process, alias);
  }

  // ---- spawn requests ----

  async spawnRequestFrom(process: ErlProcess, peer: string, mfa: readonly [module: string, fn: string, args: Encodable[]], options: SpawnRequestOptions = {}): Promise<Reference> {
    const reqId = this.table.makeRef();
    const reply = options.reply ?? "yes";
    const wantsErrors = reply === "yes" || reply === "error_only";
    let connection: DistConnection;
    try {
      connection = await this.routes.connect(peer);
    } catch {
      // As spawn_request/5 to a node that cannot be reached: the reply says so at once (if errors are wanted).
      if (wantsErrors) process.deliver(spawnReplyMessage(reqId, { error: atom("noconnection") }, this.terms));
      return reqId;
    }
    const [module, fn, args] = mfa;
    if (options.monitor) this.table.addHeld({ process, target: atom("undefined"), toProc: undefined, peer, ref: reqId });
    this.table.spawnRequests.set(this.table.keyOf(reqId), { process, reply, peer, reqId });
    const groupLeader = options.groupLeader ?? process.pid;
    const optList = options.monitor ? [atom("monitor")] : [];
    try {
      await connection.spawnRequest(reqId, process.pid, groupLeader, tuple(atom(module), atom(fn), args.length), optList, args);
    } catch (err) {
      this.table.spawnRequests.delete(this.table.keyOf(reqId));
      this.table.takeHeld(reqId);
      throw err;
    }
    return reqId;
  }

  // ---- the end of a process, and of a connection ----

  /**
   * A process exited: forget its pid, names, aliases and monitors, then send exit signals to its links and 'DOWN'
   * to its watchers. The tables are freed first and every remote signal is one that never throws: nothing a signal
   * does can leave the process half torn down.
   */
  processExited(process: ErlProcess, reason: Encodable, links: Pid[]): void {
    const watchers = this.table.remove(process);
    for (const monitor of this.table.heldBy(process)) this.demonitorFrom(process, monitor.ref);
    for (const [key, request] of this.table.spawnRequests) if (request.process === process) this.table.spawnRequests.delete(key);
    for (const watcher of watchers) {
      const connection = this.routes.open(watcher.peer);
      if (connection?.open) connection.monitorExit(watcher.toProc, watcher.from, watcher.ref, reason);
    }
    for (const target of links) {
      if (target.node.name === this.nodeName) {
        this.table.local(target)?.exitSignal(process.pid, asReceived(reason, this.terms), true);
        continue;
      }
      const connection = this.routes.open(target.node.name);
      if (connection?.open) connection.linkExit(process.pid, target, reason);
    }
  }

  /** The connection to `peer` is gone: links to its processes break and monitors on them fire, with noconnection. */
  connectionLost(peer: string): void {
    for (const process of this.table.processes()) {
      for (const linked of process.linked()) if (linked.node.name === peer) process.exitSignal(linked, atom("noconnection"), true);
    }
    // A spawn request still waiting for its reply fails with noconnection (as spawn_request/5's does); its monitor,
    // which only a successful spawn would have set up, is dropped with it.
    for (const [key, request] of this.table.spawnRequests) {
      if (request.peer !== peer) continue;
      this.table.spawnRequests.delete(key);
      this.table.takeHeld(request.reqId);
      if (request.reply === "yes" || request.reply === "error_only") {
        request.process.deliver(spawnReplyMessage(request.reqId, { error: atom("noconnection") }, this.terms));
      }
    }
    for (const monitor of this.table.takeHeldOn(peer)) {
      monitor.process.deliver(downMessage(monitor.ref, monitor.target, atom("noconnection"), this.terms));
    }
  }
}
