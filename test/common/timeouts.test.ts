// The shared timer behind every deadline, with fake timers: timeouts of any mix of durations fire in order and
// never early, cancelled ones never fire, the Node timer is re-armed only when it must be (not once per timeout
// set and cancelled), and while nothing is pending it does not keep the process alive.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cancelTimeout, pendingTimeouts, resetTimeouts, startTimeout, timeoutsHoldProcess } from "../../src/common/timeouts.js";

beforeEach(() => {
  vi.useFakeTimers();
  resetTimeouts();
});

afterEach(() => {
  resetTimeouts();
  vi.useRealTimers();
});

describe("shared timeouts", () => {
  it("fire each at its time, in order of expiry, whatever the mix of durations and the order they were set in", () => {
    const fired: Array<[string, number]> = [];
    const start = Date.now();
    const set = (name: string, ms: number) => startTimeout(ms, () => fired.push([name, Date.now() - start]));
    set("a300", 300);
    set("b100", 100);
    set("c300", 300);
    vi.advanceTimersByTime(50);
    set("d100", 100); // expires at 150
    set("e10", 10); // expires at 60: before every other
    vi.advanceTimersByTime(9);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([["e10", 60]]);
    vi.advanceTimersByTime(39);
    expect(fired.map(([name]) => name)).toEqual(["e10"]);
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(50);
    expect(fired).toEqual([["e10", 60], ["b100", 100], ["d100", 150]]);
    vi.advanceTimersByTime(149);
    expect(fired).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([["e10", 60], ["b100", 100], ["d100", 150], ["a300", 300], ["c300", 300]]);
    expect(pendingTimeouts()).toBe(0);
  });

  it("never fire once cancelled; cancelling twice, or after firing, does nothing", () => {
    const fired: string[] = [];
    const a = startTimeout(100, () => fired.push("a"));
    const b = startTimeout(100, () => fired.push("b"));
    const c = startTimeout(200, () => fired.push("c"));
    cancelTimeout(a);
    cancelTimeout(a);
    cancelTimeout(c);
    expect(pendingTimeouts()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(["b"]);
    cancelTimeout(b);
    expect(pendingTimeouts()).toBe(0);
  });

  it("set and cancel thousands of timeouts on one Node timer, which holds the process only while one is pending", () => {
    expect(timeoutsHoldProcess()).toBe(false);
    for (let i = 0; i < 5000; i++) {
      const handle = startTimeout(5000, () => {
        throw new Error("a cancelled timeout fired");
      });
      expect(timeoutsHoldProcess()).toBe(true);
      vi.advanceTimersByTime(i % 7); // time goes by between calls
      cancelTimeout(handle);
      expect(timeoutsHoldProcess()).toBe(false);
      expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    }
    vi.advanceTimersByTime(60_000); // the timer armed for a cancelled one fires, finds nothing, and is not re-armed
    expect(vi.getTimerCount()).toBe(0);
    expect(pendingTimeouts()).toBe(0);
  });

  it("keep a live timeout behind cancelled ones: it fires at its time", () => {
    let fired = 0;
    const cancelled = Array.from({ length: 10 }, () => startTimeout(1000, () => (fired = -1)));
    vi.advanceTimersByTime(500);
    startTimeout(1000, () => fired++);
    for (const handle of cancelled) cancelTimeout(handle);
    vi.advanceTimersByTime(999);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
  });

  it("wait out a timeout longer than setTimeout's limit (2^31 - 1 ms) instead of firing early", () => {
    let fired = false;
    startTimeout(2 ** 31 + 1000, () => (fired = true));
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(fired).toBe(false);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(true);
  });
});
