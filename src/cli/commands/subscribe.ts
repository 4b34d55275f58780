// erldist subscribe --pubsub <Name> <topic>... [discovery flags]: a hidden node that joins the cluster, subscribes to
// Phoenix.PubSub topics as the PG adapter's workers do (node.pubsub), and prints each message as one line, formatted
// here with the term formatter in the syntax of the nodes that run the PubSub (their OTP and Elixir releases are
// asked once). Also the pieces broadcast.ts shares: the flags, connecting and syncing, and why no node runs it.
import { DISCOVERY_HELP, DISCOVERY_OPTIONS, discoveryOptions, epmdPort } from "../discovery-flags.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { PUBSUB_SCOPE, type PubSub } from "../../groups/index.js";
import { Pid, Tuple, atom, format, isAtom, mapToObject, structModule, type FormatOptions, type Term } from "../../etf/index.js";
import { iolistToString } from "../../node/index.js";
import type { DiscoverOptions, Discovery } from "../../discovery/index.js";
import type { Node } from "../../index.js";
import { startNode, stopSession, untilSignal, type Output, type Session } from "../session.js";
import { UsageError, parse, parseDuration, stringValue, type Options, type Parsed } from "../usage.js";

export const PUBSUB_OPTIONS: Options = { ...IDENTITY_OPTIONS, ...DISCOVERY_OPTIONS, pubsub: { type: "string" }, elixir: { type: "boolean" }, timeout: { type: "string" } };

export const HELP = `Usage: erldist subscribe --pubsub <Name> <topic>... [discovery options] [options]

Joins the cluster the discovery options describe as a hidden node, subscribes to each topic of the Phoenix.PubSub
server <Name> (what Phoenix.PubSub.subscribe/2 does on a node of the app), and prints each message broadcast on
them, from any node, as one line: in Erlang syntax as ~tp writes it, or with --elixir as inspect/1 does. With more
than one topic each line starts with its topic (\`<topic>: <message>\`). Runs until SIGINT or SIGTERM (or --count
messages), then unsubscribes and leaves. stderr says when the subscription is in place on the nodes.

  erldist subscribe --pubsub MyApp.PubSub --dns app-headless.prod.svc.cluster.local --basename app room:lobby
  erldist subscribe --pubsub MyApp.PubSub --static app@10.0.0.7 --elixir --count 1 room:lobby user:42

Options:
  --pubsub <Name>        the PubSub server, as the app names it ({Phoenix.PubSub, name: MyApp.PubSub})
  --elixir               print the messages in Elixir syntax
  --count <N>            exit (status 0) after N messages
  --timeout <duration>   how long the nodes' pg scopes may take to answer (default 10s)

${DISCOVERY_HELP}

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

/** What both commands read from the command line. */
export interface PubSubCommandLine {
  name: string;
  loops: DiscoverOptions[];
  elixir: boolean;
  timeout: number;
}

export function pubsubCommandLine(command: string, parsed: Parsed): PubSubCommandLine {
  const name = stringValue(parsed, "pubsub");
  if (!name) throw new UsageError(`${command} needs --pubsub <Name>, the PubSub server's name as the app gives it (e.g. --pubsub MyApp.PubSub)`);
  const loops = discoveryOptions(parsed, epmdPort(parsed));
  if (loops.length === 0) throw new UsageError(`${command} needs a discovery option to find the nodes: --dns, --static or --epmd-scan`);
  const timeoutText = stringValue(parsed, "timeout");
  return { name, loops, elixir: Boolean(parsed.values.elixir), timeout: timeoutText === undefined ? 10_000 : parseDuration("--timeout", timeoutText) };
}

/** The name as the app writes it: `MyApp.PubSub` for `Elixir.MyApp.PubSub`. */
export function displayName(pubsub: PubSub): string {
  return pubsub.name.name.replace(/^Elixir\./, "");
}

/**
 * Starts the loops, lets each finish its first refresh (so that every node it names is connected, or failed), and
 * waits until the Phoenix.PubSub pg scope of every connected node has synced with ours; a scope that stays silent is
 * reported on stderr, and the command goes on with the others.
 */
export async function connectAndSync(node: Node, loops: DiscoverOptions[], timeout: number, io: Output): Promise<Discovery[]> {
  const running = loops.map((options) => node.discover(options));
  for (const loop of running) loop.on("connectFailed", (name, error) => io.err(`cannot connect to ${name}: ${error.message}`));
  await Promise.all(running.map((loop) => loop.refresh().catch(() => undefined)));
  try {
    await node.pg(PUBSUB_SCOPE).whenSynced({ timeout });
  } catch (err) {
    io.err(`${(err as Error).message}; going on without them`);
  }
  return running;
}

/** The other nodes running the PubSub now. */
export function remoteNodes(node: Node, pubsub: PubSub): string[] {
  return pubsub.nodes().filter((name) => name !== node.name).sort();
}

/** Why no node runs the PubSub, and what to check: nothing connected, no Phoenix.PubSub there, or another name. */
export function whyNowhere(node: Node, pubsub: PubSub): string {
  const name = displayName(pubsub);
  const connected = node.nodes().sort();
  if (connected.length === 0) {
    return `no node runs the PubSub ${name}: no node is connected (discovery found none, or could not connect to them; 'erldist nodes' with the same options shows which)`;
  }
  const scope = node.pg(PUBSUB_SCOPE);
  const withScope = scope.syncedNodes();
  const list = `${connected.length} connected ${connected.length === 1 ? "node" : "nodes"} (${connected.join(", ")})`;
  if (withScope.length === 0) {
    return `no node runs the PubSub ${name}: none of the ${list} runs Phoenix.PubSub's pg scope (is the phoenix_pubsub application started there?)`;
  }
  // Each PubSub server has its adapter's first group, <Name>.Adapter, in the scope: the names that do run.
  const others = new Set<string>();
  for (const group of scope.whichGroups()) {
    if (!isAtom(group) || !group.name.endsWith(".Adapter") || group.name === pubsub.adapter.name) continue;
    if (scope.getMembers(group).some((pid) => pid.node.name !== node.name)) others.add(group.name.replace(/^Elixir\./, "").replace(/\.Adapter$/, ""));
  }
  const running = others.size === 0 ? "no PubSub server is started there" : `the PubSub servers there are ${[...others].sort().join(", ")}`;
  return `no node runs the PubSub ${name}: ${withScope.length} of the ${list} run Phoenix.PubSub, and ${running}; check --pubsub (the name the app gives it, as in {Phoenix.PubSub, name: MyApp.PubSub})`;
}

/** The syntax the nodes running the PubSub print in: their OTP release, and their Elixir version for --elixir. */
async function formatOptions(node: Node, peer: string | undefined, elixir: boolean): Promise<FormatOptions> {
  const options: FormatOptions = elixir ? { syntax: "elixir" } : { syntax: "erlang", lineLength: Infinity };
  if (peer === undefined) return options;
  try {
    options.otp = iolistToString(await node.rpc(peer, "erlang", "system_info", [atom("otp_release")], { timeout: 5000 }));
    if (elixir) options.elixir = iolistToString(await node.rpc(peer, "Elixir.System", "version", [], { timeout: 5000 }));
  } catch {
    // a node that does not answer: the formatter's defaults (the newest releases it knows)
  }
  return options;
}

/**
 * inspect/1 prints a struct's fields in the order its module defines them, which a decoded map does not keep (it
 * holds the peer's wire order): the fields of each struct module a message holds, asked once of a node running the
 * PubSub (`Mod.__info__(:struct)`), for the formatter's `structs`. A module that node cannot tell of prints in the
 * map's order.
 */
class StructFields {
  readonly fields: Record<string, string[]> = {};
  private readonly asked = new Set<string>();

  constructor(
    private readonly node: Node,
    /** A node running the PubSub now (there may be none yet when the command starts). */
    private readonly peer: () => string | undefined,
  ) {}

  async learn(message: Term): Promise<void> {
    const modules = new Set<string>();
    const walk = (term: Term, depth: number): void => {
      if (depth > 100) return;
      if (Array.isArray(term)) for (const item of term) walk(item, depth + 1);
      else if (term instanceof Tuple) for (const item of term.elements) walk(item, depth + 1);
      else if (term instanceof Map) {
        const module = structModule(term);
        if (module !== undefined && !this.asked.has(module)) modules.add(module);
        for (const [key, value] of term) walk(key, depth + 1), walk(value, depth + 1);
      }
    };
    walk(message, 0);
    const peer = this.peer();
    if (peer === undefined) return;
    await Promise.all(
      [...modules].map(async (module) => {
        this.asked.add(module);
        try {
          const info = await this.node.rpc(peer, module, "__info__", [atom("struct")], { timeout: 5000 });
          if (Array.isArray(info)) this.fields[module] = info.map((field) => String((mapToObject(field).field as { name: string }).name));
        } catch {
          // not loaded there, or not a struct module: the formatter's rule for unknown structs applies
        }
      }),
    );
  }
}

/**
 * Waits until each node's pg scope lists a member on this node in the PubSub's adapter group (pg:get_members/2 on
 * the node): from then on its broadcasts reach this node. Nodes that cannot be asked (no rpc) are skipped.
 */
async function confirmed(node: Node, pubsub: PubSub, peers: string[], timeout: number): Promise<string[]> {
  const deadline = Date.now() + timeout;
  const missing: string[] = [];
  await Promise.all(
    peers.map(async (peer) => {
      while (Date.now() < deadline) {
        try {
          const members = await node.rpc(peer, "pg", "get_members", [atom(PUBSUB_SCOPE), pubsub.adapter], { timeout: Math.max(1, deadline - Date.now()) });
          if (!Array.isArray(members) || members.some((pid) => pid instanceof Pid && pid.node.name === node.name)) return;
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      missing.push(peer);
    }),
  );
  return missing;
}

export async function subscribe(argv: string[], io: Output): Promise<number> {
  const parsed = parse("subscribe", argv, { ...PUBSUB_OPTIONS, count: { type: "string" } });
  if (parsed.values.help) return io.out(HELP), 0;
  const line = pubsubCommandLine("subscribe", parsed);
  const topics = [...new Set(parsed.positionals)];
  if (topics.length === 0) throw new UsageError("subscribe needs at least one topic, e.g. erldist subscribe --pubsub MyApp.PubSub --static app@10.0.0.7 room:lobby");
  const countText = stringValue(parsed, "count");
  const count = countText === undefined ? Infinity : Number(countText);
  if (countText !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError(`--count takes a number of messages (1 or more), not '${countText}'`);
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    const pubsub = node.pubsub(line.name);
    // Subscribed before any node is connected: whatever arrives once the nodes know of us is kept until it prints.
    let print: ((topic: string, message: Term) => void) | undefined;
    const early: Array<[string, Term]> = [];
    for (const topic of topics) pubsub.subscribe(topic, (message) => (print ? print(topic, message) : early.push([topic, message])));
    const onDown = (name: string, reason: Error): void => io.err(`nodedown ${name}: ${reason.message} (reconnected by discovery when it comes back)`);
    node.on("nodedown", onDown);
    await connectAndSync(node, line.loops, line.timeout, io);
    const peers = remoteNodes(node, pubsub);
    const quoted = topics.map((t) => JSON.stringify(t)).join(", ");
    if (peers.length === 0) {
      io.err(`${whyNowhere(node, pubsub)}; subscribed to ${quoted} here, waiting for nodes that run it (discovery goes on)`);
    } else {
      const late = await confirmed(node, pubsub, peers, line.timeout);
      if (late.length > 0) io.err(`the pg scope on ${late.join(", ")} did not list this node within ${line.timeout} ms: broadcasts from there may not arrive yet`);
      io.err(`subscribed to ${quoted} of ${displayName(pubsub)} on ${peers.length} ${peers.length === 1 ? "node" : "nodes"}: ${peers.join(", ")}`);
    }
    const options = await formatOptions(node, peers[0], line.elixir);
    const structs = line.elixir ? new StructFields(node, () => remoteNodes(node, pubsub)[0]) : undefined;
    if (structs) options.structs = structs.fields;
    let taken = 0;
    let reached: () => void = () => undefined;
    const enough = new Promise<"count">((resolve) => (reached = () => resolve("count")));
    // Lines go out in arrival order, each once the struct modules it holds are known (a chain of promises).
    let chain = Promise.resolve();
    print = (topic, message) => {
      if (taken >= count) return;
      const last = ++taken >= count;
      chain = chain.then(async () => {
        await structs?.learn(message);
        const text = format(message, options);
        io.out(topics.length > 1 ? `${topic}: ${text}\n` : `${text}\n`);
        if (last) reached();
      });
    };
    for (const [topic, message] of early.splice(0)) print(topic, message);
    await Promise.race([untilSignal(), enough]);
    node.off("nodedown", onDown); // the connections this command now closes are no news
    pubsub.stop(); // unsubscribes, and the listener leaves the adapter's groups on every node
    await chain; // the lines already taken
    return 0;
  } finally {
    await stopSession(session);
  }
}
