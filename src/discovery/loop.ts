// The refresh loop: every interval (with jitter) ask the source for node names, connect the new ones in parallel,
// back off from the ones that fail, and prune the ones that vanished. What it never does: overlap itself, dial its
// own node, or disconnect anything because a lookup failed (libcluster drops the whole cluster on one failed DNS
// query); an empty answer or NXDOMAIN prunes only once it has persisted for several refreshes.
import { EventEmitter } from "node:events";
import NodeCache from "node-cache";
import { withDeadline } from "../common/deadline.js";
import { DiscoveryError } from "./errors.js";
import type { DiscoverySource, LookupResult } from "./source.js";

/** The part of a node the loop uses (erldist's Node has it; only its public API is called). */
export interface DiscoveryHost {
  readonly name: string;
  nodes(): string[];
  connect(name: string, options: { signal?: AbortSignal; timeout?: number }): Promise<unknown>;
  disconnect(name: string): boolean;
  on(event: "nodeup", listener: (name: string) => void): unknown;
  on(event: "nodedown", listener: (name: string, reason: Error) => void): unknown;
  off(event: "nodeup", listener: (name: string) => void): unknown;
  off(event: "nodedown", listener: (name: string, reason: Error) => void): unknown;
  /** Runs the hook when the node stops, before its connections close; returns a function that removes it. */
  onStop(hook: () => unknown): () => void;
}

export interface BackoffOptions {
  /** Milliseconds before the first retry of a name that failed (default 1000). */
  initial?: number;
  /** Longest wait between retries (default 60000). */
  max?: number;
  /** Growth per consecutive failure (default 2). */
  factor?: number;
}

export interface LoopOptions {
  /** Milliseconds between the starts of two refreshes (default 5000). */
  interval?: number;
  /** Each wait is the interval times a random factor in [1 - jitter, 1 + jitter] (default 0.1). */
  jitter?: number;
  /** Milliseconds a connection attempt may take, epmd lookup and handshake included (default 5000). */
  connectTimeout?: number;
  /** Connection attempts in flight at once (default 32). */
  concurrency?: number;
  /** Disconnect nodes that vanish from the answer (default true). */
  prune?: boolean;
  /** Consecutive empty answers (NXDOMAIN or no records) before the known nodes are pruned (default 3). */
  emptyRefreshesBeforePrune?: number;
  /** Milliseconds a lookup may take before it counts as failed (default 10000). */
  lookupTimeout?: number;
  backoff?: BackoffOptions;
}

/** Where a discovered name stands. */
export type KnownNodeState =
  | "discovered" // in the answer, not tried yet
  | "connecting" // an attempt is in flight
  | "connected"
  | "backing_off" // the last attempt failed; retried after retryAt
  | "disconnected"; // was connected, went down; retried on the next refresh

export interface KnownNode {
  name: string;
  state: KnownNodeState;
  /** When the state last changed (ms since the epoch). */
  since: number;
  /** When the name was first in an answer, and last. */
  firstSeen: number;
  lastSeen: number;
  /** Consecutive failed attempts. */
  failures: number;
  /** The last failure or disconnect: the error's code (if it has one) and message. */
  lastError?: { code?: string; message: string };
  /** With backing_off: when the next attempt may be made. */
  retryAt?: number;
}

export type LookupStatus = LookupResult["status"] | "failed";

export interface LookupSummary {
  at: number;
  durationMs: number;
  status: LookupStatus;
  /** How many names the answer held (0 for empty and failed). */
  count: number;
  /** Why it failed, or why it was partial. */
  error?: string;
}

export interface DiscoverySnapshot {
  source: string;
  interval: number;
  running: boolean;
  refreshes: number;
  lastLookup?: LookupSummary;
  /** Consecutive empty answers, and consecutive failed lookups. */
  emptyStreak: number;
  failedStreak: number;
  nodes: KnownNode[];
}

/** What one refresh did. */
export interface RefreshReport {
  lookup: LookupSummary;
  discovered: string[];
  connected: string[];
  failed: string[];
  pruned: string[];
  durationMs: number;
}

export interface DiscoveryEvents {
  /** A lookup answered (found, empty or partial). */
  lookup: [summary: LookupSummary, names: string[]];
  /** A lookup failed: nothing is disconnected because of it. */
  lookupFailed: [error: DiscoveryError, summary: LookupSummary];
  /** A name appeared in an answer for the first time (or again, after it was pruned). */
  discovered: [name: string];
  /** A connection attempt succeeded; durationMs is the attempt, sinceDiscoveredMs from the first answer that held the name. */
  connected: [name: string, timing: { durationMs: number; sinceDiscoveredMs: number }];
  /** A connection attempt failed; the name is retried after retryInMs. */
  connectFailed: [name: string, error: Error, detail: { durationMs: number; failures: number; retryInMs: number }];
  /** A name left the known set: it vanished from the answer, or the answer stayed empty; disconnected if it was connected. */
  pruned: [name: string, detail: { reason: "vanished" | "empty"; disconnected: boolean }];
  /** A refresh finished. */
  refresh: [report: RefreshReport];
}

function describe(error: unknown): { code?: string; message: string } {
  const err = error as { code?: unknown; message?: unknown };
  return {
    code: typeof err?.code === "string" ? err.code : undefined,
    message: typeof err?.message === "string" ? err.message : String(error),
  };
}

/**
 * One discovery loop over one source. Started by {@link Discovery.start}; the first refresh runs at once. Listen to
 * its events or read {@link snapshot}; {@link stop} ends it (stopping the node stops it first).
 */
export class Discovery extends EventEmitter<DiscoveryEvents> {
  readonly source: DiscoverySource;
  private readonly host: DiscoveryHost;
  private readonly interval: number;
  private readonly jitter: number;
  private readonly connectTimeout: number;
  private readonly concurrency: number;
  private readonly prune: boolean;
  private readonly emptyRefreshesBeforePrune: number;
  private readonly lookupTimeout: number;
  private readonly backoff: Required<BackoffOptions>;
  private readonly known = new Map<string, KnownNode>();
  /** Names that may not be retried yet, each kept until its backoff expires (node-cache's TTL does the expiry). */
  private readonly retryGate = new NodeCache({ stdTTL: 0, checkperiod: 0, useClones: false });
  private readonly stopController = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** The refresh whose lookup is running (a refresh() call joins it), and when that lookup phase ends. */
  private current: { done: Promise<RefreshReport>; lookedUp: Promise<void> } | undefined;
  /** Refreshes not settled yet (their connection attempts may outlive their lookup). */
  private readonly active = new Set<Promise<RefreshReport>>();
  /** Free connection-attempt slots, and the attempts waiting for one. */
  private slots: number;
  private readonly waitingForSlot: Array<() => void> = [];
  private refreshes = 0;
  private emptyStreak = 0;
  private failedStreak = 0;
  private lastLookup: LookupSummary | undefined;
  private running = false;
  private removeStopHook: () => void = () => undefined;
  private readonly onNodeUp = (name: string): void => {
    const entry = this.known.get(name);
    if (entry && entry.state !== "connected") this.setState(entry, "connected");
  };
  private readonly onNodeDown = (name: string, reason: Error): void => {
    const entry = this.known.get(name);
    if (entry && entry.state === "connected") {
      entry.lastError = describe(reason);
      this.setState(entry, "disconnected");
    }
  };

  private constructor(host: DiscoveryHost, source: DiscoverySource, options: LoopOptions) {
    super();
    this.host = host;
    this.source = source;
    this.interval = options.interval ?? 5000;
    this.jitter = options.jitter ?? 0.1;
    this.connectTimeout = options.connectTimeout ?? 5000;
    this.concurrency = options.concurrency ?? 32;
    this.prune = options.prune ?? true;
    this.emptyRefreshesBeforePrune = options.emptyRefreshesBeforePrune ?? 3;
    this.lookupTimeout = options.lookupTimeout ?? 10_000;
    this.backoff = { initial: 1000, max: 60_000, factor: 2, ...options.backoff };
    this.slots = this.concurrency;
    for (const [key, value] of Object.entries({ interval: this.interval, connectTimeout: this.connectTimeout, lookupTimeout: this.lookupTimeout })) {
      if (!(value > 0)) throw new DiscoveryError("bad_options", `discovery option ${key} must be a positive number of milliseconds, not ${value}`);
    }
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new DiscoveryError("bad_options", `discovery option jitter must be in [0, 1), not ${this.jitter}`);
    if (!(this.concurrency >= 1)) throw new DiscoveryError("bad_options", `discovery option concurrency must be at least 1, not ${this.concurrency}`);
    if (!(this.emptyRefreshesBeforePrune >= 1)) {
      throw new DiscoveryError("bad_options", `discovery option emptyRefreshesBeforePrune must be at least 1, not ${this.emptyRefreshesBeforePrune}`);
    }
  }

  /** Starts a loop: the first refresh runs at once, the next ones every interval. */
  static start(host: DiscoveryHost, source: DiscoverySource, options: LoopOptions = {}): Discovery {
    const discovery = new Discovery(host, source, options);
    host.on("nodeup", discovery.onNodeUp);
    host.on("nodedown", discovery.onNodeDown);
    discovery.removeStopHook = host.onStop(() => discovery.stop());
    discovery.running = true;
    discovery.timer = setTimeout(() => discovery.tick(), 0);
    return discovery;
  }

  /** Whether the loop is running (not stopped). */
  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Refreshes now (the timer is not disturbed) and resolves with what the refresh did, once its connection attempts
   * have settled. A refresh whose lookup is running is joined, never doubled. Rejects with a DiscoveryError (stopped)
   * once the loop is stopped.
   */
  refresh(): Promise<RefreshReport> {
    if (!this.running) return Promise.reject(new DiscoveryError("stopped", "this discovery loop is stopped; start a new one"));
    if (this.current) return this.current.done;
    let endLookup = (): void => undefined;
    const lookedUp = new Promise<void>((resolve) => (endLookup = resolve));
    const done = this.runRefresh(endLookup);
    const current = { done, lookedUp };
    this.current = current;
    this.active.add(done);
    // The next refresh may start once this one's lookup is over: attempts to slow or dead names do not hold it up.
    void lookedUp.then(() => {
      if (this.current === current) this.current = undefined;
    });
    done
      .catch(() => undefined)
      .finally(() => {
        endLookup();
        this.active.delete(done);
      });
    return done;
  }

  /** The state of every known name and of the last lookup, for status pages. */
  snapshot(): DiscoverySnapshot {
    return {
      source: this.source.description,
      interval: this.interval,
      running: this.running,
      refreshes: this.refreshes,
      lastLookup: this.lastLookup && { ...this.lastLookup },
      emptyStreak: this.emptyStreak,
      failedStreak: this.failedStreak,
      nodes: [...this.known.values()].map((entry) => ({ ...entry, lastError: entry.lastError && { ...entry.lastError } })),
    };
  }

  /** Stops the loop: no more refreshes; attempts in flight are aborted. Connections already made stay. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    this.stopController.abort(new DiscoveryError("stopped", "the discovery loop was stopped"));
    this.host.off("nodeup", this.onNodeUp);
    this.host.off("nodedown", this.onNodeDown);
    this.removeStopHook();
    for (const release of this.waitingForSlot.splice(0)) release();
    await Promise.allSettled([...this.active]);
    this.retryGate.close();
  }

  private tick(): void {
    const started = Date.now();
    this.refresh().catch(() => undefined); // a refresh reports its failures through events; the loop goes on
    // Lookups never overlap: the next one is timed from this one's start, but waits for this one to end.
    void this.current?.lookedUp.then(() => {
      if (!this.running) return;
      const wait = this.interval * (1 + this.jitter * (2 * Math.random() - 1));
      this.timer = setTimeout(() => this.tick(), Math.max(0, started + wait - Date.now()));
    });
  }

  private setState(entry: KnownNode, state: KnownNodeState): void {
    entry.state = state;
    entry.since = Date.now();
    if (state !== "backing_off") entry.retryAt = undefined;
  }

  private async lookup(): Promise<{ result?: LookupResult; summary: LookupSummary; error?: DiscoveryError }> {
    const at = Date.now();
    try {
      // Settles at the deadline even if a source ignores its signal; stopping the loop aborts it with "stopped".
      const result = await withDeadline(
        { timeout: this.lookupTimeout, signal: this.stopController.signal },
        (expiry) =>
          expiry.why === "timeout"
            ? new DiscoveryError("lookup_failed", `lookup of ${this.source.description} took longer than ${this.lookupTimeout} ms`)
            : expiry.reason instanceof DiscoveryError
              ? expiry.reason
              : new DiscoveryError("stopped", "the discovery loop was stopped", { cause: expiry.reason }),
        (signal) => this.source.lookup(signal),
      );
      const summary: LookupSummary = {
        at,
        durationMs: Date.now() - at,
        status: result.status,
        count: result.status === "empty" ? 0 : result.names.length,
        error: result.status === "partial" ? result.error.message : result.status === "empty" ? result.reason : undefined,
      };
      return { result, summary };
    } catch (err) {
      const error =
        err instanceof DiscoveryError
          ? err
          : new DiscoveryError("lookup_failed", `lookup of ${this.source.description} failed: ${describe(err).message}`, { cause: err });
      return { error, summary: { at, durationMs: Date.now() - at, status: "failed", count: 0, error: error.message } };
    }
  }

  private async runRefresh(endLookup: () => void): Promise<RefreshReport> {
    const started = Date.now();
    const report: RefreshReport = { lookup: undefined as unknown as LookupSummary, discovered: [], connected: [], failed: [], pruned: [], durationMs: 0 };
    const { result, summary, error } = await this.lookup();
    if (!this.running) throw new DiscoveryError("stopped", "the discovery loop was stopped during a refresh");
    this.refreshes++;
    this.lastLookup = summary;
    report.lookup = summary;
    if (error || !result) {
      this.failedStreak++;
      this.emit("lookupFailed", error ?? new DiscoveryError("lookup_failed", "lookup failed"), summary);
    } else {
      this.failedStreak = 0;
      const names = result.status === "empty" ? [] : result.names.filter((name) => name !== this.host.name);
      this.emit("lookup", summary, names);
      const now = Date.now();
      for (const name of names) {
        const entry = this.known.get(name);
        if (entry) {
          entry.lastSeen = now;
          continue;
        }
        this.known.set(name, { name, state: "discovered", since: now, firstSeen: now, lastSeen: now, failures: 0 });
        report.discovered.push(name);
        this.emit("discovered", name);
      }
      if (result.status === "empty") {
        this.emptyStreak++;
        if (this.emptyStreak >= this.emptyRefreshesBeforePrune) this.pruneAll(report, [...this.known.keys()], "empty");
      } else {
        this.emptyStreak = 0;
        if (result.status === "found") {
          const present = new Set(names);
          this.pruneAll(report, [...this.known.keys()].filter((name) => !present.has(name)), "vanished");
        }
      }
    }
    await this.connectDue(report, endLookup);
    report.durationMs = Date.now() - started;
    this.emit("refresh", report);
    return report;
  }

  private pruneAll(report: RefreshReport, names: string[], reason: "vanished" | "empty"): void {
    if (!this.prune) return;
    for (const name of names) {
      this.known.delete(name);
      this.retryGate.del(name);
      const disconnected = this.host.disconnect(name);
      report.pruned.push(name);
      this.emit("pruned", name, { reason, disconnected });
    }
  }

  /**
   * Connects, in parallel (at most `concurrency` attempts in flight across refreshes), every known name that is
   * neither connected, nor being connected, nor backing off. The lookup phase ends once they are claimed.
   */
  private async connectDue(report: RefreshReport, endLookup: () => void): Promise<void> {
    const connected = new Set(this.host.nodes());
    const due: KnownNode[] = [];
    for (const entry of this.known.values()) {
      if (connected.has(entry.name)) {
        if (entry.state !== "connected") this.setState(entry, "connected");
        continue;
      }
      if (entry.state === "connected") this.setState(entry, "disconnected"); // went down without an event reaching us
      if (entry.state === "connecting" || this.retryGate.has(entry.name)) continue;
      this.setState(entry, "connecting");
      due.push(entry);
    }
    endLookup();
    await Promise.all(due.map((entry) => this.withSlot(() => this.attempt(entry, report))));
  }

  private async withSlot(run: () => Promise<void>): Promise<void> {
    if (this.slots === 0) await new Promise<void>((resolve) => this.waitingForSlot.push(resolve));
    if (!this.running) return;
    this.slots--;
    try {
      await run();
    } finally {
      this.slots++;
      this.waitingForSlot.shift()?.();
    }
  }

  private async attempt(entry: KnownNode, report: RefreshReport): Promise<void> {
    const started = Date.now();
    try {
      await this.host.connect(entry.name, { signal: this.stopController.signal, timeout: this.connectTimeout });
      if (this.known.get(entry.name) !== entry) return; // pruned meanwhile
      entry.failures = 0;
      entry.lastError = undefined;
      this.setState(entry, "connected");
      report.connected.push(entry.name);
      this.emit("connected", entry.name, { durationMs: Date.now() - started, sinceDiscoveredMs: Date.now() - entry.firstSeen });
    } catch (err) {
      if (!this.running || this.known.get(entry.name) !== entry) return;
      entry.failures++;
      entry.lastError = describe(err);
      const base = Math.min(this.backoff.max, this.backoff.initial * this.backoff.factor ** (entry.failures - 1));
      const retryInMs = Math.round(base * (1 + this.jitter * (2 * Math.random() - 1)));
      this.setState(entry, "backing_off");
      entry.retryAt = Date.now() + retryInMs;
      this.retryGate.set(entry.name, entry.retryAt, retryInMs / 1000);
      report.failed.push(entry.name);
      this.emit("connectFailed", entry.name, err instanceof Error ? err : new Error(String(err)), {
        durationMs: Date.now() - started,
        failures: entry.failures,
        retryInMs,
      });
    }
  }
}
