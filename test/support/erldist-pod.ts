// The test's handle on an erldist node running in a pod (see pod-agent.ts): requests over IPC, and the events the
// agent reports, kept in order with their wall-clock times.
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { DiscoverOptions, DiscoverySnapshot, TlsOptions } from "../../src/index.js";
import type { AgentEvent, AgentRequest } from "./pod-agent.js";
import { spawnTracked, stopChild } from "./children.js";
import type { Pod } from "./pods.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export class ErldistPod {
  readonly events: AgentEvent[] = [];
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private output = "";
  private listeners = new Set<(event: AgentEvent) => void>();

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.on("message", (message: { kind: string; id?: number; ok?: boolean; value?: unknown; error?: string; event?: AgentEvent }) => {
      if (message.kind === "event" && message.event) {
        this.events.push(message.event);
        for (const listener of this.listeners) listener(message.event);
      } else if (message.kind === "reply" && message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(`erldist pod: ${message.error}`));
      }
    });
    child.once("exit", (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`erldist pod exited (${signal ?? code}):\n${this.output}`));
      this.pending.clear();
    });
  }

  /**
   * Starts the agent in `pod` and the node `name` in it (with the built-in epmd on the pod's port 4369), with TLS
   * distribution when `options.tls` is given (file names in it are read inside the pod: the same file system).
   */
  static async start(pod: Pod, name: string, cookie: string, options: { tls?: TlsOptions } = {}): Promise<ErldistPod> {
    const child = spawnTracked(
      pod.wrap[0],
      [...pod.wrap.slice(1), process.execPath, "--import", "./scripts/ts-register.mjs", "test/support/pod-agent.ts"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe", "ipc"] },
    );
    const agent = new ErldistPod(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the erldist pod did not start in 30 s:\n${agent.output}`)), 30_000);
      child.once("exit", () => reject(new Error(`the erldist pod exited at start:\n${agent.output}`)));
      child.on("message", (m: { kind: string }) => {
        if (m.kind !== "ready") return;
        clearTimeout(timer);
        resolve();
      });
    });
    await agent.request({ op: "start", name, cookie, tls: options.tls });
    return agent;
  }

  request(request: AgentRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, request });
    });
  }

  /** Starts a discovery loop in the pod; returns its number (events carry it as `loop`). */
  async discover(options: DiscoverOptions): Promise<number> {
    return (await this.request({ op: "discover", options })) as number;
  }

  async nodes(): Promise<string[]> {
    return ((await this.request({ op: "nodes" })) as string[]).sort();
  }

  /**
   * rpc:call(node, module, fn, [atom...]) from the pod's erldist node; an atom, charlist or binary result comes back
   * as a string (anything else as JSON).
   */
  async rpc(node: string, module: string, fn: string, atoms: string[] = []): Promise<string> {
    return (await this.request({ op: "rpc", node, module, fn, atoms })) as string;
  }

  /** Subscribes the pod's node to `topic` of the Phoenix.PubSub `pubsub`; received() reads what came. */
  async subscribe(pubsub: string, topic: string): Promise<void> {
    await this.request({ op: "subscribe", pubsub, topic });
  }

  /** What the subscription to `topic` received, each message as util.inspect prints it. */
  async received(pubsub: string, topic: string): Promise<string[]> {
    return (await this.request({ op: "received", pubsub, topic })) as string[];
  }

  /** Broadcasts the atom `message` on `topic` from the pod's node. */
  async broadcast(pubsub: string, topic: string, message: string): Promise<void> {
    await this.request({ op: "broadcast", pubsub, topic, message });
  }

  /** The nodes the pod's node sees running `pubsub`. */
  async pubsubNodes(pubsub: string): Promise<string[]> {
    return (await this.request({ op: "pubsubNodes", pubsub })) as string[];
  }

  /** node.connect(node) from the pod's erldist node. */
  async connect(node: string): Promise<boolean> {
    return (await this.request({ op: "connect", node })) as boolean;
  }

  async snapshots(): Promise<DiscoverySnapshot[]> {
    return (await this.request({ op: "snapshots" })) as DiscoverySnapshot[];
  }

  /** Resolves with the first event (from now on) that `match` accepts. */
  next(match: (event: AgentEvent) => boolean, timeout = 30_000): Promise<AgentEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no matching event from the erldist pod in ${timeout} ms; last events: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeout);
      const listener = (event: AgentEvent): void => {
        if (!match(event)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(event);
      };
      this.listeners.add(listener);
    });
  }

  /** Stops the node cleanly (discovery first), then the process. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    await Promise.race([this.request({ op: "stop" }).catch(() => undefined), exited]);
    const timer = setTimeout(() => void stopChild(this.child), 3000);
    await exited;
    clearTimeout(timer);
  }
}
