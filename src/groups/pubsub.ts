// Phoenix.PubSub from Node, as its PG adapter (Phoenix.PubSub.PG2) works between BEAM nodes: every node runs a pool
// of workers, the N-th joined to the pg group `<Name>.Adapter_N` (the first to `<Name>.Adapter`) in the scope
// Phoenix.PubSub; a broadcast picks one group of the pool and sends {forward_to_local, Topic, Message, Dispatcher}
// to its members on other nodes, each of which hands it to its node's local subscribers. erldist joins one listener
// to every group of the pool (so each broadcast reaches it exactly once, whichever group the sender picked) and
// registers it under each group's name (for direct_broadcast); its subscribers are JS subscriptions.
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { Atom, Tuple, atom, isAtom, tuple, type Encodable, type Term } from "../etf/index.js";
import { NodeError, ignorable, type ErlProcess, type Node, type NodeName } from "../node/index.js";
import type { PgScope } from "./pg.js";
import { Subscription } from "./subscription.js";

/** The pg scope Phoenix.PubSub's application starts (Phoenix.PubSub.Application). */
export const PUBSUB_SCOPE = "Elixir.Phoenix.PubSub";

/** The dispatcher Phoenix.PubSub uses by default (its own dispatch/3). */
const DEFAULT_DISPATCHER = atom("Elixir.Phoenix.PubSub");

/** A PubSub name as Elixir spells its atom: "MyApp.PubSub" and "Elixir.MyApp.PubSub" name the same server. */
export function pubsubAtom(name: string | Atom): Atom {
  if (name instanceof Atom) return name;
  return atom(name.startsWith("Elixir.") ? name : `Elixir.${name}`);
}

/** How many messages a topic carried, for the status page and /metrics. */
export interface TopicStats {
  topic: string;
  subscribers: number;
  /** Messages handed to this node's subscribers (each once, whatever their number; none counted without one). */
  received: number;
  /** Broadcasts sent from this node. */
  sent: number;
}

export interface PubSubEvents {
  /** This PubSub does not run on `node` (the node runs no Phoenix.PubSub scope, or no server of this name). */
  missing: [node: string];
  /** stop() was called. */
  stopped: [];
}

export class PubSub extends EventEmitter<PubSubEvents> {
  /** The PubSub's name as an atom, e.g. `Elixir.MyApp.PubSub`. */
  readonly name: Atom;
  /** The adapter's name, `<Name>.Adapter`: the first group of the pool, and the one this node broadcasts through. */
  readonly adapter: Atom;
  private readonly listener: ErlProcess;
  private readonly joined = new Set<string>();
  private readonly topics = new Map<string, { subscriptions: Set<Subscription>; received: number; sent: number }>();
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly node: Node,
    private readonly pg: PgScope,
    name: string | Atom,
  ) {
    super();
    this.name = pubsubAtom(name);
    this.adapter = atom(`${this.name.name}.Adapter`);
    this.listener = node.spawn();
    this.listener.trapExits = true;
    void this.listen();
    this.joinGroup(this.adapter);
    // The pool's other groups (`<Adapter>_2`...) as the scope learns of them from other nodes.
    const onJoin = (group: Term): void => {
      if (isAtom(group) && this.isPoolGroup(group.name)) this.joinGroup(group);
    };
    const onSynced = (peer: string): void => {
      for (const group of this.pg.whichGroups()) onJoin(group);
      if (!this.pg.getMembers(this.adapter).some((pid) => pid.node.name === peer)) this.emit("missing", peer);
    };
    const onScopeMissing = (peer: string): void => void this.emit("missing", peer); // no scope there: no PubSub either
    pg.on("join", onJoin);
    pg.on("synced", onSynced);
    pg.on("missing", onScopeMissing);
    this.detach.push(() => pg.off("join", onJoin), () => pg.off("synced", onSynced), () => pg.off("missing", onScopeMissing));
    for (const group of pg.whichGroups()) onJoin(group);
  }

  /**
   * Subscribes to `topic` (Phoenix.PubSub.subscribe/2): every message broadcast on it, from any node, arrives once.
   * With `onMessage`, each is handed to it; either way the subscription is an async iterable of the messages, and
   * emits `message`. `unsubscribe()` ends it.
   */
  subscribe(topic: string, onMessage?: (message: Term) => void): Subscription {
    const entry = this.topic(topic);
    const subscription = new Subscription(topic, () => entry.subscriptions.delete(subscription));
    if (onMessage) subscription.on("message", onMessage);
    entry.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Phoenix.PubSub.broadcast/3: `message` reaches every subscriber of `topic` on every node (this node's at once).
   * Resolves once it is handed to each connection (awaiting it holds a sender back while a connection is busy, as
   * Node.send does); rejects with the EncodeError of a message that cannot be sent, or the error of a connection
   * that goes down first. It may be ignored: a rejection nobody awaits is not an unhandled rejection. `dispatcher` is the module BEAM nodes dispatch with (default
   * Phoenix.PubSub's own; a Phoenix channel's is Phoenix.Channel.Server); JS subscribers always get the message.
   */
  broadcast(topic: string, message: Encodable, options: { dispatcher?: string | Atom } = {}): Promise<void> {
    return ignorable(this.send(topic, message, options.dispatcher, undefined));
  }

  /**
   * Phoenix.PubSub.broadcast_from/4: as broadcast, except to `from` (a subscription of this node). As in Phoenix,
   * only the sender's own subscription is skipped: every other node delivers to all its subscribers.
   */
  broadcastFrom(from: Subscription, topic: string, message: Encodable, options: { dispatcher?: string | Atom } = {}): Promise<void> {
    return ignorable(this.send(topic, message, options.dispatcher, from));
  }

  /** Phoenix.PubSub.local_broadcast/3: to this node's subscribers only. */
  localBroadcast(topic: string, message: Encodable): void {
    this.deliver(topic, message as Term, undefined);
  }

  /** Phoenix.PubSub.direct_broadcast/4: to the subscribers on `node` only (this node's too, when it is this one). */
  directBroadcast(node: NodeName, topic: string, message: Encodable, options: { dispatcher?: string | Atom } = {}): Promise<void> {
    const name = typeof node === "string" ? node : node.name;
    this.topic(topic).sent++;
    if (name === this.node.name) {
      this.deliver(topic, message as Term, undefined);
      return Promise.resolve();
    }
    return ignorable(this.listener.send([this.adapter, name], this.forward(topic, message, options.dispatcher)));
  }

  /** The nodes whose PubSub of this name has a worker in the pool's first group (this one included). */
  nodes(): string[] {
    return [...new Set(this.pg.getMembers(this.adapter).map((pid) => pid.node.name))];
  }

  /** Topics with subscribers or traffic, with their counts. */
  stats(): TopicStats[] {
    return [...this.topics].map(([topic, t]) => ({ topic, subscribers: t.subscriptions.size, received: t.received, sent: t.sent }));
  }

  /** Leaves the pool's groups and ends every subscription. */
  stop(): void {
    for (const undo of this.detach.splice(0)) undo();
    for (const t of this.topics.values()) for (const s of [...t.subscriptions]) s.unsubscribe();
    this.listener.exit();
    this.emit("stopped");
  }

  // ---- inside ----

  private isPoolGroup(name: string): boolean {
    return name === this.adapter.name || (name.startsWith(`${this.adapter.name}_`) && /^\d+$/.test(name.slice(this.adapter.name.length + 1)));
  }

  private joinGroup(group: Atom): void {
    if (this.joined.has(group.name) || !this.listener.alive) return;
    this.joined.add(group.name);
    this.pg.join(group, this.listener);
    try {
      this.node.register(group.name, this.listener); // direct_broadcast sends to {Group, Node}
    } catch {
      // the name is someone else's on this node: direct broadcasts through it do not reach this listener
    }
  }

  private topic(topic: string): { subscriptions: Set<Subscription>; received: number; sent: number } {
    let entry = this.topics.get(topic);
    if (!entry) this.topics.set(topic, (entry = { subscriptions: new Set(), received: 0, sent: 0 }));
    return entry;
  }

  private forward(topic: string, message: Encodable, dispatcher: string | Atom | undefined): Encodable {
    const module = dispatcher === undefined ? DEFAULT_DISPATCHER : typeof dispatcher === "string" ? pubsubAtom(dispatcher) : dispatcher;
    return tuple(atom("forward_to_local"), Buffer.from(topic, "utf8"), message, module);
  }

  private async send(topic: string, message: Encodable, dispatcher: string | Atom | undefined, from: Subscription | undefined): Promise<void> {
    if (!this.listener.alive) throw new NodeError("stopped", `the PubSub ${this.name.name} is stopped`);
    const forward = this.forward(topic, message, dispatcher); // checked (encodable) before anything is delivered
    this.topic(topic).sent++;
    const remote = this.pg.getMembers(this.adapter).filter((pid) => pid.node.name !== this.node.name);
    const sends = remote.map((pid) => this.listener.send(pid, forward));
    this.deliver(topic, message as Term, from);
    await Promise.all(sends);
  }

  /** Hands a message to this node's subscribers of `topic` (all but `except`). */
  private deliver(topic: string, message: Term, except: Subscription | undefined): void {
    const entry = this.topics.get(topic);
    if (!entry || entry.subscriptions.size === 0) return; // counted only when this node has someone to hand it to
    entry.received++;
    for (const subscription of entry.subscriptions) if (subscription !== except) subscription.push(message);
  }

  private async listen(): Promise<void> {
    for await (const message of this.listener) {
      // {forward_to_local, Topic, Message, Dispatcher}; anything else (a trapped exit) is not for subscribers.
      if (!(message instanceof Tuple) || message.length !== 4 || !isAtom(message.elements[0], "forward_to_local")) continue;
      const [, topic, payload] = message.elements;
      const text = typeof topic === "string" ? topic : Buffer.isBuffer(topic) ? topic.toString("utf8") : undefined;
      if (text !== undefined) this.deliver(text, payload, undefined);
    }
  }
}

