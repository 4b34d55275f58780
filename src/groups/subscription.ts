// One subscription to a Phoenix.PubSub topic: an async iterable of its messages (queued until read), a `message`
// event for callers that prefer one, and unsubscribe(), which ends both.
import { EventEmitter } from "node:events";
import type { Term } from "../etf/index.js";

export interface SubscriptionEvents {
  message: [message: Term];
  /** unsubscribe() was called (or the PubSub stopped): no message comes after this. */
  end: [];
}

export class Subscription extends EventEmitter<SubscriptionEvents> implements AsyncIterable<Term> {
  private readonly queue: Term[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  /** Messages this subscription has received. */
  received = 0;

  constructor(
    /** The topic, as Phoenix names it ("room:lobby"). */
    readonly topic: string,
    private readonly remove: () => void,
  ) {
    super();
  }

  /** True until unsubscribe(). */
  get active(): boolean {
    return !this.ended;
  }

  /** @internal A message for this subscription. */
  push(message: Term): void {
    if (this.ended) return;
    this.received++;
    // Queued for iteration only while someone iterates or may: a subscription used through the event alone keeps
    // nothing (its listener had the message).
    if (this.iterating || this.listenerCount("message") === 0) this.queue.push(message);
    this.emit("message", message);
    this.wake?.();
  }

  /** Phoenix.PubSub.unsubscribe/2: no message arrives after this, and iteration ends once the queue is read. */
  unsubscribe(): void {
    if (this.ended) return;
    this.ended = true;
    this.remove();
    this.emit("end");
    this.wake?.();
  }

  private iterating = false;

  async *[Symbol.asyncIterator](): AsyncIterator<Term> {
    this.iterating = true;
    try {
      for (;;) {
        while (this.queue.length > 0) yield this.queue.shift()!;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      this.iterating = false;
    }
  }
}
