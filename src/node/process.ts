// A process of the erldist node: a pid BEAM can send to, a mailbox with selective receive, and send.
import { atom, encode, isAtom, tuple, type Atom, type Encodable, type Pid, type Reference, type Term, type TermOptions } from "../etf/index.js";
import { ignorable, nodeNameOf, type Destination, type NodeName } from "./destination.js";
import { NodeError } from "./errors.js";
import { Mailbox, type ReceiveOptions } from "./mailbox.js";
import { exitMessage } from "./messages.js";

export type { Destination, NodeName } from "./destination.js";

/** Options of {@link ErlProcess.send} and Node.send. */
export interface SendOptions {
  /**
   * Send as a priority message (EEP 76, `erlang:send(Dest, Msg, [priority])`, OTP 28+). The receiver queues it
   * ahead of its ordinary messages only when `to` is one of its active priority aliases; to anything else it is an
   * ordinary message, as in BEAM. To a node without DFLAG_ALTACT_SIG (before OTP 28) the send rejects with a
   * DistError `unsupported` (BEAM would silently send it as an ordinary message).
   */
  priority?: boolean;
}

/** Options of {@link ErlProcess.alias}. */
export interface AliasOptions {
  /**
   * A priority alias (`alias([priority])`, EEP 76): messages and exit signals sent to it with the priority option
   * are received ahead of the ordinary messages in the mailbox. Without the option they are ordinary ones.
   */
  priority?: boolean;
}

/** Options of {@link ErlProcess.exitProcess}. */
export interface ExitOptions {
  /**
   * A priority exit signal (`exit(Dest, Reason, [priority])`, OTP 28+): to a trapping process's active priority
   * alias, its 'EXIT' message is received ahead of ordinary messages. To a node before OTP 28 the call rejects with
   * a DistError `unsupported`.
   */
  priority?: boolean;
}

/** Options of {@link ErlProcess.spawnRequest}, as erlang:spawn_request/5's. */
export interface SpawnRequestOptions {
  /**
   * Monitor the new process, with the request's reference as the monitor's: when it exits, `{'DOWN', ReqId,
   * process, Pid, Reason}` arrives (Reason `noconnection` if its node goes down).
   */
  monitor?: boolean;
  /** The new process's group leader (default: this process; where its I/O goes, see the Erlang I/O protocol). */
  groupLeader?: Pid;
  /**
   * Which outcomes arrive as messages: `{spawn_reply, ReqId, ok, Pid}` on success, `{spawn_reply, ReqId, error,
   * Reason}` on failure (`noconnection` when the node cannot be reached). Default "yes": both.
   */
  reply?: "yes" | "no" | "error_only" | "success_only";
}

/** What a process needs from its node. */
export interface ProcessHost {
  sendFrom(from: Pid, to: Destination, message: Encodable, options?: SendOptions): Promise<void>;
  monitorFrom(process: ErlProcess, target: Pid | readonly [name: string | Atom, node: NodeName]): Promise<Reference>;
  demonitorFrom(process: ErlProcess, ref: Reference): void;
  linkFrom(process: ErlProcess, target: Pid): Promise<void>;
  exitFrom(process: ErlProcess, target: Pid | Reference, reason: Encodable, options?: ExitOptions): Promise<void>;
  aliasFor(process: ErlProcess, options?: AliasOptions): Reference;
  unaliasFrom(process: ErlProcess, alias: Reference): boolean;
  unlinkFrom(process: ErlProcess, target: Pid): void;
  spawnRequestFrom(process: ErlProcess, peer: string, mfa: readonly [module: string, fn: string, args: Encodable[]], options?: SpawnRequestOptions): Promise<Reference>;
  processExited(process: ErlProcess, reason: Encodable, links: Pid[]): void;
  /** How the node maps terms (its `terms` option): exit reasons are checked with its nilAsNull. */
  readonly terms?: TermOptions;
}

function atomLike(name: string): Atom {
  return atom(name);
}

export class ErlProcess implements AsyncIterable<Term> {
  private readonly mailbox = new Mailbox();
  private exitReason: Encodable | undefined;
  /** The processes this one is linked to, by their printed pid. */
  private readonly links = new Map<string, Pid>();
  /**
   * Trap exits (process_flag(trap_exit, true)): exit signals from links and exit/2 arrive as
   * `{'EXIT', From, Reason}` messages instead of ending the process (`kill` still ends it).
   */
  trapExits = false;

  constructor(
    /** This process's pid: send it to BEAM processes so they can reply. */
    readonly pid: Pid,
    private readonly host: ProcessHost,
  ) {}

  /** True until the process exits. */
  get alive(): boolean {
    return this.exitReason === undefined;
  }

  /** Messages waiting in the mailbox. */
  get queued(): number {
    return this.mailbox.size;
  }

  /** @internal Called by the node to deliver a message (`priority`: ahead of the ordinary ones queued). */
  deliver(message: Term, priority = false): void {
    this.mailbox.deliver(message, priority);
  }

  /**
   * Sends `message` to `to` from this process (BEAM sees this pid as the sender), connecting to the destination's
   * node first if needed. The same contract as Node.send: a destination that is not one throws at the call; the
   * promise resolves once the socket has the message (waiting while the connection is busy) and may be ignored.
   * `{ priority: true }` sends a priority message (see SendOptions).
   */
  send(to: Destination, message: Encodable, options?: SendOptions): Promise<void> {
    if (!this.alive) return ignorable(Promise.reject(new NodeError("exited", `process ${this.pid} has exited`)));
    return this.host.sendFrom(this.pid, to, message, options);
  }

  /**
   * The first message in the mailbox that `match` accepts (the first of all without one), waiting for one if
   * needed: Erlang's selective receive. Messages that do not match stay queued, in order. Rejects with a
   * NodeError `timeout` or `aborted`, or `exited` once the process has exited. With a type guard as `match`, the
   * promise has the guarded type: `await p.receive((m): m is Tuple => m instanceof Tuple)` is a Tuple.
   */
  receive<T extends Term>(match: (message: Term) => message is T, options?: ReceiveOptions): Promise<T>;
  receive(match?: (message: Term) => boolean, options?: ReceiveOptions): Promise<Term>;
  receive(match?: (message: Term) => boolean, options?: ReceiveOptions): Promise<Term> {
    return this.mailbox.receive(match, options);
  }

  /** Every message, in order, as they arrive; ends when the process exits. */
  async *[Symbol.asyncIterator](): AsyncIterator<Term> {
    for (;;) {
      try {
        yield await this.mailbox.receive();
      } catch (err) {
        if (err instanceof NodeError && err.code === "exited") return;
        throw err;
      }
    }
  }

  /**
   * Monitors a process on another node (a pid, or `[name, node]`). When it exits, or its node goes down, this
   * process receives `{'DOWN', Ref, process, Target, Reason}` (Reason `noproc` if it did not exist,
   * `noconnection` if the node went down), as in Erlang. Resolves with the monitor reference.
   */
  monitor(target: Pid | readonly [name: string | Atom, node: NodeName]): Promise<Reference> {
    if (!this.alive) return Promise.reject(new NodeError("exited", `process ${this.pid} has exited`));
    return this.host.monitorFrom(this, target);
  }

  /**
   * A new alias of this process (erlang:alias/0): a reference other nodes can send to (`Alias ! Msg`) and send exit
   * signals to (`exit(Alias, Reason)`, OTP 28+) until `unalias` or exit. gen_server replies to OTP 24+ callers travel
   * this way. `{ priority: true }` makes a priority alias (`alias([priority])`): what is sent to it with the
   * priority option is received ahead of ordinary messages.
   */
  alias(options?: AliasOptions): Reference {
    if (!this.alive) throw new NodeError("exited", `process ${this.pid} has exited`);
    return this.host.aliasFor(this, options);
  }

  /** Deactivates an alias: messages sent to it afterwards are dropped. True if it was active. */
  unalias(alias: Reference): boolean {
    return this.host.unaliasFrom(this, alias);
  }

  /** Removes a monitor; no 'DOWN' message for it arrives after this. */
  demonitor(ref: Reference): void {
    this.host.demonitorFrom(this, ref);
  }

  private readonly exitHooks = new Set<(reason: Encodable) => void>();

  /**
   * Calls `hook` with the exit reason once the process has exited (at once if it has), after its links and
   * monitors were signalled: for services that keep state per process (a pg scope drops its memberships). Returns
   * a function that removes the hook.
   */
  onExit(hook: (reason: Encodable) => void): () => void {
    if (!this.alive) {
      hook(this.exitReason!);
      return () => undefined;
    }
    this.exitHooks.add(hook);
    return () => this.exitHooks.delete(hook);
  }

  /** Why the process exited (undefined while it runs). */
  get reason(): Encodable | undefined {
    return this.exitReason;
  }

  /** The pids this process is linked to. */
  linked(): Pid[] {
    return [...this.links.values()];
  }

  /**
   * Links to another process (LINK): if either exits abnormally, the other gets an exit signal. A pid that does
   * not exist answers with an exit signal `noproc`.
   */
  link(target: Pid): Promise<void> {
    if (!this.alive) return Promise.reject(new NodeError("exited", `process ${this.pid} has exited`));
    this.links.set(String(target), target);
    return this.host.linkFrom(this, target);
  }

  /**
   * Sends an exit signal to another process, as erlang:exit/2: `kill` ends it unconditionally, `normal` is ignored
   * unless it traps exits, anything else ends it unless it traps exits. `target` may be an alias of the process
   * (OTP 28's exit/2 to an alias; dropped if the alias is inactive); to an alias on a node before OTP 28 this
   * rejects with a DistError `unsupported`, because such nodes cannot receive it (BEAM drops it silently).
   * `{ priority: true }` sends a priority exit signal (see ExitOptions).
   */
  exitProcess(target: Pid | Reference, reason: Encodable, options?: ExitOptions): Promise<void> {
    if (!this.alive) return Promise.reject(new NodeError("exited", `process ${this.pid} has exited`));
    return this.host.exitFrom(this, target, reason, options);
  }

  /**
   * Asks `node` to spawn a process running `module:fn(...args)` (SPAWN_REQUEST, as erlang:spawn_request/5; erpc is
   * built on it). Resolves with the request's reference once the request is sent; the outcome arrives in this
   * process's mailbox as `{spawn_reply, ReqId, ok, Pid}` or `{spawn_reply, ReqId, error, Reason}` (see
   * SpawnRequestOptions for which, and for the monitor).
   */
  spawnRequest(node: NodeName, module: string, fn: string, args: Encodable[], options?: SpawnRequestOptions): Promise<Reference> {
    if (!this.alive) return Promise.reject(new NodeError("exited", `process ${this.pid} has exited`));
    return this.host.spawnRequestFrom(this, nodeNameOf(node), [module, fn, args], options);
  }

  /** Removes a link (UNLINK_ID, acknowledged by the peer as OTP 26+ requires). */
  unlink(target: Pid): void {
    if (this.links.delete(String(target))) this.host.unlinkFrom(this, target);
  }

  /** @internal The peer linked to this process (or answered our link). */
  addLink(from: Pid): void {
    if (this.alive) this.links.set(String(from), from);
  }

  /** @internal The peer removed the link. */
  dropLink(from: Pid): boolean {
    return this.links.delete(String(from));
  }

  /**
   * @internal An exit signal arrived from `from`: through a link (`linked`) or from exit/2 (to the pid or an alias).
   * Applies Erlang's rules: `kill` (exit/2) ends the process with `killed`; a trapping process gets an 'EXIT'
   * message (with `priority`, ahead of ordinary messages); `normal` is ignored; anything else ends the process with
   * that reason.
   */
  exitSignal(from: Pid, reason: Term, linked: boolean, priority = false): void {
    if (!this.alive) return;
    if (linked && !this.links.delete(String(from))) return; // not (or no longer) linked: nothing to break
    if (!linked && isAtom(reason, "kill")) return this.exit(atomLike("killed"));
    if (this.trapExits) return this.deliver(exitMessage(from, reason), priority);
    if (isAtom(reason, "normal")) return;
    this.end(reason); // as received: a string reason (a binary, with binariesAsStrings) must not become an atom
  }

  /**
   * Ends the process: its mailbox closes, its names, aliases and monitors are freed, and linked and monitoring
   * processes get an exit signal. A string reason is an atom's name (`p.exit("shutdown")`). A reason that cannot be
   * encoded (no Erlang form, e.g. `null` when the node's terms do not have nilAsNull) throws its EncodeError here,
   * and the process goes on running.
   */
  exit(reason: Encodable = atomLike("normal")): void {
    this.end(typeof reason === "string" ? atomLike(reason) : reason);
  }

  private end(exitReason: Encodable): void {
    if (!this.alive) return;
    encode(exitReason, this.host.terms); // throws the EncodeError now, before anything is torn down
    this.exitReason = exitReason;
    this.mailbox.close(() => new NodeError("exited", `process ${this.pid} exited`));
    const links = [...this.links.values()];
    this.links.clear();
    this.host.processExited(this, this.exitReason, links);
    const hooks = [...this.exitHooks];
    this.exitHooks.clear();
    for (const hook of hooks) hook(exitReason);
  }
}
