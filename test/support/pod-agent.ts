// An erldist node in a pod of its own: a child process started inside a network namespace, driven by the test over
// Node's IPC channel. It runs the built-in epmd, a Node, and discovery loops; it reports every discovery and node
// event to the parent as it happens. Run as: node --import ./scripts/ts-register.mjs test/support/pod-agent.ts
import { inspect } from "node:util";
import { Atom, EpmdServer, Node, atom, charlistToString, type Discovery, type DiscoverOptions, type TlsOptions } from "../../src/index.js";

export type AgentRequest =
  | { op: "start"; name: string; cookie: string; tls?: TlsOptions }
  | { op: "discover"; options: DiscoverOptions }
  | { op: "nodes" }
  | { op: "snapshots" }
  | { op: "rpc"; node: string; module: string; fn: string; atoms: string[] }
  | { op: "connect"; node: string }
  | { op: "subscribe"; pubsub: string; topic: string }
  | { op: "received"; pubsub: string; topic: string }
  | { op: "broadcast"; pubsub: string; topic: string; message: string }
  | { op: "pubsubNodes"; pubsub: string }
  | { op: "stop" };

export interface AgentEvent {
  /** Which loop (by the order discover was called), or -1 for node events. */
  loop: number;
  event: string;
  name?: string;
  detail?: unknown;
  /** Wall-clock milliseconds. */
  at: number;
}

let epmd: EpmdServer | undefined;
/** What each subscription has received, as text (util.inspect), by "pubsub topic". */
const inboxes = new Map<string, string[]>();
let node: Node | undefined;
const loops: Discovery[] = [];

function report(event: AgentEvent): void {
  process.send?.({ kind: "event", event });
}

function errorDetail(error: Error): { code?: string; message: string; cause?: string } {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return { code: (error as { code?: string }).code, message: error.message, cause: cause?.code ?? cause?.message };
}

async function handle(request: AgentRequest): Promise<unknown> {
  switch (request.op) {
    case "start": {
      epmd = await EpmdServer.start({ port: 4369, host: "0.0.0.0" });
      node = await Node.start({ name: request.name, cookie: request.cookie, epmd: { port: 4369 }, tls: request.tls });
      node.on("nodeup", (name) => report({ loop: -1, event: "nodeup", name, at: Date.now() }));
      node.on("nodedown", (name, reason) => report({ loop: -1, event: "nodedown", name, detail: errorDetail(reason), at: Date.now() }));
      node.on("acceptFailed", (error, from) => report({ loop: -1, event: "acceptFailed", name: from, detail: errorDetail(error), at: Date.now() }));
      return node.name;
    }
    case "discover": {
      if (!node) throw new Error("start first");
      const discovery = node.discover(request.options);
      const loop = loops.push(discovery) - 1;
      discovery.on("discovered", (name) => report({ loop, event: "discovered", name, at: Date.now() }));
      discovery.on("connected", (name, timing) => report({ loop, event: "connected", name, detail: timing, at: Date.now() }));
      discovery.on("connectFailed", (name, error, detail) => report({ loop, event: "connectFailed", name, detail: { ...detail, ...errorDetail(error) }, at: Date.now() }));
      discovery.on("pruned", (name, detail) => report({ loop, event: "pruned", name, detail, at: Date.now() }));
      discovery.on("lookupFailed", (error, summary) => report({ loop, event: "lookupFailed", detail: { ...summary, ...errorDetail(error) }, at: Date.now() }));
      discovery.on("refresh", (refresh) => report({ loop, event: "refresh", detail: refresh, at: Date.now() }));
      return loop;
    }
    case "nodes":
      return node?.nodes() ?? [];
    case "snapshots":
      return loops.map((loop) => loop.snapshot());
    case "rpc": {
      if (!node) throw new Error("start first");
      const result = await node.rpc(request.node, request.module, request.fn, request.atoms.map(atom), { timeout: 10_000 });
      // Over IPC as text: an atom by its name, a charlist or binary as its characters, anything else as JSON.
      if (result instanceof Atom) return result.name;
      if (Buffer.isBuffer(result)) return result.toString("utf8");
      return Array.isArray(result) && result.every((c) => typeof c === "number") ? charlistToString(result) : JSON.stringify(result);
    }
    case "connect":
      if (!node) throw new Error("start first");
      return node.connect(request.node, { timeout: 10_000 });
    case "subscribe": {
      if (!node) throw new Error("start first");
      const inbox: string[] = [];
      inboxes.set(`${request.pubsub} ${request.topic}`, inbox);
      node.pubsub(request.pubsub).subscribe(request.topic, (message) => inbox.push(inspect(message)));
      return true;
    }
    case "received":
      return inboxes.get(`${request.pubsub} ${request.topic}`) ?? [];
    case "broadcast":
      if (!node) throw new Error("start first");
      await node.pubsub(request.pubsub).broadcast(request.topic, atom(request.message));
      return true;
    case "pubsubNodes":
      return node?.pubsub(request.pubsub).nodes().sort() ?? [];
    case "stop":
      await node?.stop();
      await epmd?.close();
      setImmediate(() => process.exit(0));
      return true;
  }
}

process.on("message", (message: { id: number; request: AgentRequest }) => {
  handle(message.request).then(
    (value) => process.send?.({ kind: "reply", id: message.id, ok: true, value }),
    (error: Error) => process.send?.({ kind: "reply", id: message.id, ok: false, error: `${error.name}: ${error.message}` }),
  );
});
// The test process going away closes the channel: the pod's node goes with it.
process.on("disconnect", () => process.exit(0));
process.send?.({ kind: "ready" });
