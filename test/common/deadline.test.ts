// The deadline helpers on their own, with fake timers: when they fire (once, and why), what stops them, and that
// withDeadline settles at the deadline without waiting for its work or leaving that work's outcome unhandled.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { watchDeadline, withDeadline, type Expiry } from "../../src/common/deadline.js";
import { pendingTimeouts, resetTimeouts, timeoutsHoldProcess } from "../../src/common/timeouts.js";

beforeEach(() => {
  vi.useFakeTimers();
  resetTimeouts();
});

afterEach(() => {
  resetTimeouts();
  vi.useRealTimers();
});

/** The deadline let go of its timeout: none is pending, and nothing keeps the process alive. */
function expectNoTimeout(): void {
  expect(pendingTimeouts()).toBe(0);
  expect(timeoutsHoldProcess()).toBe(false);
}

describe("watchDeadline", () => {
  it("fires once, with why: timeout, when the time runs out", () => {
    const expiries: Expiry[] = [];
    watchDeadline({ timeout: 100 }, (expiry) => expiries.push(expiry));
    vi.advanceTimersByTime(99);
    expect(expiries).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expiries).toEqual([{ why: "timeout", timeout: 100 }]);
    vi.advanceTimersByTime(1000);
    expect(expiries).toHaveLength(1);
  });

  it("fires once, with why: aborted and the signal's reason, when the signal aborts first", () => {
    const controller = new AbortController();
    const expiries: Expiry[] = [];
    watchDeadline({ timeout: 100, signal: controller.signal }, (expiry) => expiries.push(expiry));
    const reason = new Error("caller gave up");
    controller.abort(reason);
    expect(expiries).toEqual([{ why: "aborted", reason }]);
    vi.advanceTimersByTime(1000); // the timer went with the abort
    expect(expiries).toHaveLength(1);
    expectNoTimeout();
  });

  it("fires at once, before returning, for a signal aborted already, and starts no timer", () => {
    const expiries: Expiry[] = [];
    const stop = watchDeadline({ timeout: 100, signal: AbortSignal.abort("early") }, (expiry) => expiries.push(expiry));
    expect(expiries).toEqual([{ why: "aborted", reason: "early" }]);
    expectNoTimeout();
    expect(vi.getTimerCount()).toBe(0);
    stop(); // harmless after expiry
  });

  it("never fires once stopped, and lets go of the timer and the signal", () => {
    const controller = new AbortController();
    const onExpire = vi.fn();
    const stop = watchDeadline({ timeout: 100, signal: controller.signal }, onExpire);
    stop();
    stop();
    expectNoTimeout();
    controller.abort();
    vi.advanceTimersByTime(1000);
    expect(onExpire).not.toHaveBeenCalled();
  });

  it("is unbounded without a finite timeout: only the signal ends it", () => {
    const controller = new AbortController();
    const onExpire = vi.fn();
    watchDeadline({}, onExpire);
    watchDeadline({ timeout: Infinity }, onExpire);
    watchDeadline({ timeout: Number.NaN, signal: controller.signal }, onExpire);
    expectNoTimeout();
    vi.advanceTimersByTime(10 * 24 * 3600 * 1000);
    expect(onExpire).not.toHaveBeenCalled();
    controller.abort();
    expect(onExpire).toHaveBeenCalledOnce();
  });

  it("waits out a timeout longer than setTimeout's limit (2^31 - 1 ms) instead of firing early", () => {
    const onExpire = vi.fn();
    const timeout = 30 * 24 * 3600 * 1000; // 30 days
    watchDeadline({ timeout }, onExpire);
    vi.advanceTimersByTime(2 ** 31);
    expect(onExpire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(timeout - 2 ** 31);
    expect(onExpire).toHaveBeenCalledExactlyOnceWith({ why: "timeout", timeout });
  });
});

describe("withDeadline", () => {
  const toError = (expiry: Expiry): Error => new Error(expiry.why === "timeout" ? `timeout after ${expiry.timeout} ms` : `aborted: ${String(expiry.reason)}`);

  it("settles as the work does when it finishes in time, and stops the deadline", async () => {
    await expect(withDeadline({ timeout: 100 }, toError, async () => "done")).resolves.toBe("done");
    await expect(withDeadline({ timeout: 100 }, toError, () => Promise.reject(new Error("work failed")))).rejects.toThrow("work failed");
    expectNoTimeout();
  });

  it("rejects with toError at the deadline without waiting for the work, and aborts the work's signal", async () => {
    let workSignal: AbortSignal | undefined;
    const pending = withDeadline({ timeout: 100 }, toError, (signal) => {
      workSignal = signal;
      return new Promise<never>(() => {}); // never settles
    });
    const outcome = expect(pending).rejects.toThrow("timeout after 100 ms");
    await vi.advanceTimersByTimeAsync(100);
    await outcome;
    expect(workSignal?.aborted).toBe(true);
    expect(workSignal?.reason).toBeInstanceOf(Error);
    expect((workSignal?.reason as Error).message).toBe("timeout after 100 ms");
  });

  it("says aborted, with the caller's reason, when the caller's signal aborts", async () => {
    const controller = new AbortController();
    const pending = withDeadline({ timeout: 100, signal: controller.signal }, toError, () => new Promise<never>(() => {}));
    controller.abort("stop");
    await expect(pending).rejects.toThrow("aborted: stop");
  });

  it("does not run the work at all when the signal has aborted already", async () => {
    const work = vi.fn(async () => "ran");
    await expect(withDeadline({ signal: AbortSignal.abort("before") }, toError, work)).rejects.toThrow("aborted: before");
    expect(work).not.toHaveBeenCalled();
  });

  it("ignores the work's late rejection: it is never an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const pending = withDeadline({ timeout: 10 }, toError, (signal) => {
        // Rejects when aborted, as work that lets go of a socket would: after the deadline has rejected.
        return new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("late")), { once: true }));
      });
      const outcome = expect(pending).rejects.toThrow("timeout after 10 ms");
      await vi.advanceTimersByTimeAsync(10);
      await outcome;
      // unhandledRejection is reported after the microtask queue drains: let real time pass.
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("rejects with what the work throws synchronously, and stops the deadline", async () => {
    const pending = withDeadline({ timeout: 100 }, toError, () => {
      throw new Error("thrown at once");
    });
    await expect(pending).rejects.toThrow("thrown at once");
    expectNoTimeout();
  });
});
