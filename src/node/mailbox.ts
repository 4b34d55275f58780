// A process's mailbox: messages queue in arrival order; receive takes the first that matches (selective receive,
// as Erlang's), waiting with a timeout or an AbortSignal when none does. Unmatched messages stay, in order.
// Priority messages (EEP 76) queue ahead of every ordinary one, in arrival order among themselves, as BEAM inserts
// them after the last priority message in the queue.
import { watchDeadline } from "../common/deadline.js";
import type { Term } from "../etf/index.js";
import { NodeError } from "./errors.js";

const NONE = Symbol("none");
const ANY = (): boolean => true;
const NO_OPTIONS: ReceiveOptions = {};

export interface ReceiveOptions {
  /** Milliseconds to wait for a matching message (default: forever). */
  timeout?: number;
  signal?: AbortSignal;
}

interface Waiter {
  match: (message: Term) => boolean;
  resolve: (message: Term) => void;
  reject: (error: Error) => void;
}

export class Mailbox {
  // A queue with a moving head: taking the oldest message is O(1) (Array#shift and splice(0, 1) are O(n), which
  // made draining a long mailbox quadratic).
  private queue: Term[] = [];
  private head = 0;
  /** Priority messages, searched before `queue`; few by design (EEP 76), so a plain array. */
  private urgent: Term[] = [];
  private readonly waiters: Waiter[] = [];
  /** Why the mailbox is closed: made on first use (an Error's stack costs more than the rest of an exit). */
  private closedBy: (() => Error) | undefined;
  private closedError: Error | undefined;

  private get closedWith(): Error | undefined {
    if (!this.closedBy) return undefined;
    return (this.closedError ??= this.closedBy());
  }

  /** How many messages wait in the queue. */
  get size(): number {
    return this.urgent.length + this.queue.length - this.head;
  }

  /**
   * Delivers a message: to the first waiting receive it matches, else to the queue; with `priority`, ahead of the
   * ordinary messages queued (and after the priority ones).
   */
  deliver(message: Term, priority = false): void {
    if (this.closedBy) return;
    const waiters = this.waiters;
    for (let i = 0; i < waiters.length; i++) {
      const waiter = waiters[i];
      if (waiter.match(message)) {
        // pop() for the usual lone waiter: splice makes an array of the removed and can shrink the store.
        if (i === waiters.length - 1) waiters.pop();
        else waiters.splice(i, 1);
        waiter.resolve(message);
        return;
      }
    }
    if (priority) this.urgent.push(message);
    else this.queue.push(message);
  }

  /**
   * The first queued message that `match` accepts (any message without one), waiting for it if needed. A type
   * guard as `match` (`(m): m is Tuple => m instanceof Tuple`) types the message it resolves with.
   */
  receive<T extends Term>(match: (message: Term) => message is T, options?: ReceiveOptions): Promise<T>;
  receive(match?: (message: Term) => boolean, options?: ReceiveOptions): Promise<Term>;
  receive(match: (message: Term) => boolean = ANY, options: ReceiveOptions = NO_OPTIONS): Promise<Term> {
    const found = this.take(match);
    if (found !== NONE) return Promise.resolve(found);
    if (this.closedBy) return Promise.reject(this.closedWith);
    if (options.signal === undefined && (options.timeout === undefined || !Number.isFinite(options.timeout))) {
      // Unbounded (the usual receive): nothing to watch, so the waiter settles the promise directly.
      return new Promise((resolve, reject) => void this.waiters.push({ match, resolve, reject }));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (message) => {
          stop();
          resolve(message);
        },
        reject: (error) => {
          stop();
          reject(error);
        },
      };
      this.waiters.push(waiter);
      // With a signal aborted already this runs before `stop` exists: it settles directly, not through the waiter.
      const stop = watchDeadline(options, (expiry) => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
        reject(
          expiry.why === "timeout"
            ? new NodeError("timeout", `no matching message within ${expiry.timeout} ms`)
            : new NodeError("aborted", "receive was aborted", { cause: expiry.reason }),
        );
      });
    });
  }

  /** Removes and returns the first queued message `match` accepts, or NONE. */
  private take(match: (message: Term) => boolean): Term | typeof NONE {
    for (let i = 0; i < this.urgent.length; i++) {
      const message = this.urgent[i];
      if (!match(message)) continue;
      this.urgent.splice(i, 1);
      return message;
    }
    const queue = this.queue;
    for (let i = this.head; i < queue.length; i++) {
      const message = queue[i];
      if (!match(message)) continue;
      if (i === this.head) {
        queue[i] = undefined as unknown as Term; // let it be collected
        this.head++;
        if (this.head === queue.length) {
          this.queue = [];
          this.head = 0;
        } else if (this.head > 1024 && this.head * 2 > queue.length) {
          this.queue = queue.slice(this.head);
          this.head = 0;
        }
      } else {
        queue.splice(i, 1);
      }
      return message;
    }
    return NONE;
  }

  /**
   * Ends the mailbox: pending and later receives reject with the error `why` makes (once, when first needed: most
   * processes exit with nobody waiting); later messages are dropped.
   */
  close(why: () => Error): void {
    this.closedBy = why;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedWith!);
    this.queue = [];
    this.head = 0;
    this.urgent = [];
  }
}
