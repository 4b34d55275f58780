// Timeouts that are mostly cancelled, for every deadline in erldist. A call or a receive sets a timeout (5 s by
// default) and nearly always cancels it a few microseconds later. Node's setTimeout makes a list per duration and
// throws it away when its last timer is cleared, so that each such call built a list, put it in the timers' queue
// and took it out again: about a tenth of a gen_server call's instructions. Here one Node timer serves them all.
//
// Timeouts of one duration expire in the order they were set, so each duration keeps a queue in that order, and the
// Node timer is armed for the earliest expiry among the queues' heads. Setting a timeout appends to its queue;
// cancelling drops the callback and pops cancelled entries off the head. The Node timer is re-armed only when it
// fires or a timeout expires before it; while no timeout is pending it is unref'd, so it never keeps the process
// alive. It fires no sooner than the earliest expiry of a timeout still pending when it was armed, and entries are
// checked against the clock when it fires: a timeout never fires early. The clock is performance.now(), monotonic as
// Node's own timers are: a step of the wall clock (NTP, a VM resumed) moves no deadline.

/** One pending timeout; `fire` is undefined once it has fired or was cancelled. */
interface Entry {
  at: number;
  fire: (() => void) | undefined;
}

/** The timeouts of one duration, in the order they were set (so by expiry): `entries` from `head`. */
interface Queue {
  entries: Entry[];
  head: number;
}

/** The longest delay setTimeout honours (longer ones fire after 1 ms); longer timeouts wait in steps. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

const queues = new Map<number, Queue>();
let lastDuration = -1;
let lastQueue: Queue | undefined;
/** Timeouts set and neither fired nor cancelled. */
let pending = 0;
let timer: NodeJS.Timeout | undefined;
/** When `timer` fires (Infinity when there is none). */
let timerAt = Infinity;

/** A handle of a timeout set with startTimeout; pass it to cancelTimeout. */
export type TimeoutHandle = object;

/** Calls `fire` once, `ms` milliseconds from now (a finite, non-negative number), unless cancelled before. */
export function startTimeout(ms: number, fire: () => void): TimeoutHandle {
  const queue = queueFor(ms);
  const entry: Entry = { at: performance.now() + ms, fire };
  queue.entries.push(entry);
  if (pending++ === 0) timer?.ref();
  if (entry.at < timerAt) arm(entry.at);
  return entry;
}

/** Cancels a timeout: its callback is not called (nothing happens for one that fired or was cancelled already). */
export function cancelTimeout(handle: TimeoutHandle): void {
  const entry = handle as Entry;
  if (entry.fire === undefined) return;
  entry.fire = undefined;
  if (--pending === 0) timer?.unref();
}

/** How many timeouts are pending (set, and neither fired nor cancelled). */
export function pendingTimeouts(): number {
  return pending;
}

/** Whether the shared timer keeps the process alive: only while a timeout is pending. */
export function timeoutsHoldProcess(): boolean {
  return timer !== undefined && timer.hasRef();
}

function queueFor(ms: number): Queue {
  if (ms === lastDuration) {
    const queue = lastQueue!;
    dropCancelledHead(queue);
    return queue;
  }
  let queue = queues.get(ms);
  if (queue === undefined) queues.set(ms, (queue = { entries: [], head: 0 }));
  else dropCancelledHead(queue);
  lastDuration = ms;
  lastQueue = queue;
  return queue;
}

/** Pops the cancelled entries at the head (a queue of timeouts that were all cancelled ends empty). */
function dropCancelledHead(queue: Queue): void {
  const entries = queue.entries;
  let head = queue.head;
  while (head < entries.length && entries[head].fire === undefined) head++;
  if (head === entries.length) {
    if (entries.length > 0) entries.length = 0;
    queue.head = 0;
  } else if (head > 1024 && head * 2 > entries.length) {
    queue.entries = entries.slice(head);
    queue.head = 0;
  } else {
    queue.head = head;
  }
}

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(expire, Math.min(Math.max(at - performance.now(), 0), MAX_TIMER_DELAY));
  if (pending === 0) timer.unref();
}

/** The timer fired: fires what has expired, then arms for the earliest expiry left. */
function expire(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  const due: Array<() => void> = [];
  let next = Infinity;
  for (const [duration, queue] of queues) {
    const entries = queue.entries;
    let head = queue.head;
    for (; head < entries.length; head++) {
      const entry = entries[head];
      if (entry.fire === undefined) continue;
      if (entry.at > now) break;
      due.push(entry.fire);
      entry.fire = undefined;
      pending--;
    }
    queue.head = head;
    dropCancelledHead(queue);
    if (queue.head < queue.entries.length) next = Math.min(next, queue.entries[queue.head].at);
    else if (queue !== lastQueue) queues.delete(duration); // an idle duration: forgotten
  }
  if (next !== Infinity) arm(next);
  for (const fire of due) {
    try {
      fire();
    } catch (err) {
      // As a throwing setTimeout callback would: an uncaught exception, after the others have fired.
      process.nextTick(() => {
        throw err;
      });
    }
  }
}

/**
 * @internal Forgets every pending timeout and the shared timer: for tests that switch between fake and real timers,
 * which would leave the module holding a timer of the other clock.
 */
export function resetTimeouts(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  timerAt = Infinity;
  queues.clear();
  lastDuration = -1;
  lastQueue = undefined;
  pending = 0;
}
