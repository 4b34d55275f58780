// A process of the erldist node: a pid BEAM can send to, a mailbox with selective receive, and send.
import type { Atom, Encodable, Pid, Reference, Term } from "../etf/index.js";
import { NodeError } from "./errors.js";
import { Mailbox, type ReceiveOptions } from "./mailbox.js";

/** Where a message goes: a pid, a name registered on this node, or `[name, node]` for a name on any node. */
export type Destination = Pid | string | Atom | readonly [name: string | Atom, node: string];

/** What a process needs from its node. */
export interface ProcessHost {
  sendFrom(from: Pid, to: Destination, message: Encodable): Promise<void>;
  monitorFrom(process: ErlProcess, target: Pid | readonly [name: string | Atom, node: string]): Promise<Reference>;
  demonitorFrom(process: ErlProcess, ref: Reference): void;
  processExited(process: ErlProcess): void;
}

export class ErlProcess implements AsyncIterable<Term> {
  private readonly mailbox = new Mailbox();
  private exitReason: Term | undefined;

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

  /** @internal Called by the node to deliver a message. */
  deliver(message: Term): void {
    this.mailbox.deliver(message);
  }

  /**
   * Sends `message` to `to` from this process (BEAM sees this pid as the sender). Connects to the destination's
   * node first if needed. Resolves once the message is handed to the connection.
   */
  send(to: Destination, message: Encodable): Promise<void> {
    if (!this.alive) return Promise.reject(new NodeError("exited", `process ${this.pid} has exited`));
    return this.host.sendFrom(this.pid, to, message);
  }

  /**
   * The first message in the mailbox that `match` accepts (the first of all without one), waiting for one if
   * needed: Erlang's selective receive. Messages that do not match stay queued, in order. Rejects with a
   * NodeError `timeout` or `aborted`, or `exited` once the process has exited.
   */
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
  monitor(target: Pid | readonly [name: string | Atom, node: string]): Promise<Reference> {
    if (!this.alive) return Promise.reject(new NodeError("exited", `process ${this.pid} has exited`));
    return this.host.monitorFrom(this, target);
  }

  /** Removes a monitor; no 'DOWN' message for it arrives after this. */
  demonitor(ref: Reference): void {
    this.host.demonitorFrom(this, ref);
  }

  /** Ends the process: its mailbox closes and its registered name (if any) is freed. */
  exit(reason: Term | string = "normal"): void {
    if (!this.alive) return;
    this.exitReason = reason as Term;
    this.mailbox.close(new NodeError("exited", `process ${this.pid} exited`));
    this.host.processExited(this);
  }
}
