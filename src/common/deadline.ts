// Deadlines: a timeout and a caller's AbortSignal, watched together, in one place. Every wait in erldist that a
// caller can bound (a connection, a handshake, an epmd request, a receive, a call) is built on these two. The
// timeouts run on one shared timer (timeouts.ts): most are cancelled within microseconds.
import { cancelTimeout, startTimeout, type TimeoutHandle } from "./timeouts.js";

/** What bounds a wait: milliseconds, a caller's AbortSignal, or both (neither: unbounded). */
export interface DeadlineOptions {
  timeout?: number;
  signal?: AbortSignal;
}

/** Why a deadline expired: its time ran out, or the caller's signal fired (with the signal's reason). */
export type Expiry = { why: "timeout"; timeout: number } | { why: "aborted"; reason: unknown };

/**
 * Calls `onExpire` once when the deadline expires: after `timeout` ms, or when `signal` aborts (at once, before
 * this returns, if it has already: so `onExpire` must not call the function this returns). A timeout that is not a
 * finite number (undefined, Infinity, NaN) never expires. Returns the function that stops watching; call it when
 * the work is done, whichever way (calling it again, or after expiry, does nothing).
 */
export function watchDeadline(options: DeadlineOptions, onExpire: (expiry: Expiry) => void): () => void {
  const { timeout, signal } = options;
  let done = false;
  let timer: TimeoutHandle | undefined;
  const fire = (expiry: Expiry): void => {
    if (done) return;
    stop();
    onExpire(expiry);
  };
  const onAbort = (): void => fire({ why: "aborted", reason: signal?.reason });
  const stop = (): void => {
    done = true;
    if (timer !== undefined) cancelTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  if (signal?.aborted) {
    onAbort();
    return stop;
  }
  if (timeout !== undefined && Number.isFinite(timeout)) {
    timer = startTimeout(Math.max(timeout, 0), () => fire({ why: "timeout", timeout }));
  }
  signal?.addEventListener("abort", onAbort, { once: true });
  return stop;
}

/**
 * Runs `work` under a deadline. `work` gets a signal that aborts when the deadline expires (so that it can let go
 * of sockets and timers); the promise then rejects with `toError(expiry)` at once, without waiting for `work`,
 * whose late outcome is ignored (never an unhandled rejection). Settles as `work` does otherwise, a synchronous
 * throw included. When the signal has aborted already, `work` is not called at all.
 */
export function withDeadline<T>(
  options: DeadlineOptions,
  toError: (expiry: Expiry) => Error,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const stop = watchDeadline(options, (expiry) => {
      const error = toError(expiry);
      controller.abort(error);
      reject(error);
    });
    if (controller.signal.aborted) return;
    let running: Promise<T>;
    try {
      running = Promise.resolve(work(controller.signal));
    } catch (err) {
      stop();
      return reject(err);
    }
    running.then(
      (value) => {
        stop();
        resolve(value);
      },
      (err) => {
        stop();
        reject(err);
      },
    );
  });
}
