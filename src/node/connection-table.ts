// The node's connections, as net_kernel keeps them: one entry per peer, with the attempt being made (pending), the
// connection once it is up, when it came up, who waits for it, and the bytes of sends waiting on a pending one. It
// dials (epmd, then the transport, then the handshake), accepts, and decides simultaneous connects by OTP's rule.
import type { Socket } from "node:net";
import {
  DistConnection,
  DistError,
  DEFAULT_MAX_QUEUED_BYTES,
  DFLAG,
  acceptHandshake,
  initiateHandshake,
  type AcceptStatus,
  type ConnectionOptions,
  type Handshake,
  type HandshakeIdentity,
  type Transport,
  remoteOf,
} from "../dist/index.js";
import { watchDeadline } from "../common/deadline.js";
import { lookupNode } from "../epmd/index.js";
import { NodeError } from "./errors.js";

/** The counters of a connection that the table sums over connections, closed ones included. */
export const SUMMED = ["messagesIn", "messagesOut", "bytesIn", "bytesOut", "busyCount", "busyMs", "sendsHeld", "sendsRefused"] as const;

export type ConnectionTotals = { connectionsUp: number; connectionsDown: number } & Record<(typeof SUMMED)[number], number>;

/** One peer's entry. */
interface Entry {
  /** The attempt this node is making (pending), if any. */
  attempt?: { controller: AbortController; done: Promise<DistConnection> };
  /** The connection, once up. */
  connection?: DistConnection;
  /** When it came up (ms since the epoch), and whether the peer is hidden. */
  since: number;
  hidden: boolean;
  /** Callers waiting for the connection the peer's own attempt makes (this node's attempt lost the race). */
  waiters: Array<(connection: DistConnection) => void>;
  /** Bytes of sends waiting for a pending connection (counted against maxQueuedBytes). */
  bytesWaiting: number;
}

export interface ConnectionTableOptions {
  /** This node's handshake identity (name, cookie, creation, flags); the table adds the signal and the header. */
  identity: () => Omit<HandshakeIdentity, "signal" | "packetHeader">;
  transport: Transport;
  /** Where peers' ports are found: epmd on the peer's host (host ignored, port as given), or false: `peerPort`. */
  epmd: { port?: number } | false;
  /** Without epmd: the port every peer listens on. */
  peerPort: () => number;
  /** Milliseconds a connection setup may take (net_setuptime). */
  connectTimeout: number;
  /** Options of every connection (ticks, busy limit, terms). */
  connection: ConnectionOptions;
}

/** What the node hears from the table. */
export interface ConnectionTableHooks {
  /** A connection came up (already in the table); the node wires its events. */
  up(connection: DistConnection): void;
  /** The current connection to `peer` closed (already out of the table). */
  down(peer: string, connection: DistConnection, error: DistError | undefined): void;
  /** An incoming connection was refused, or its handshake failed. */
  acceptFailed(error: DistError, from: string): void;
}

export class ConnectionTable {
  private readonly entries = new Map<string, Entry>();
  private readonly closed: ConnectionTotals = { connectionsUp: 0, connectionsDown: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, busyCount: 0, busyMs: 0, sendsHeld: 0, sendsRefused: 0 };
  private stopped = false;

  constructor(
    private readonly localName: string,
    private readonly options: ConnectionTableOptions,
    private readonly hooks: ConnectionTableHooks,
  ) {}

  /** The open connection to `peer`, if it is up. */
  open(peer: string): DistConnection | undefined {
    return this.entries.get(peer)?.connection;
  }

  /** Every connection that is up, by peer name. */
  up(): Array<{ peer: string; connection: DistConnection; since: number; hidden: boolean }> {
    const list = [];
    for (const [peer, entry] of this.entries) if (entry.connection) list.push({ peer, connection: entry.connection, since: entry.since, hidden: entry.hidden });
    return list;
  }

  /** Totals over the table's life: connections made and lost, and the counters of every connection. */
  totals(): ConnectionTotals {
    const totals = { ...this.closed };
    for (const entry of this.entries.values()) if (entry.connection) for (const key of SUMMED) totals[key] += entry.connection.stats[key];
    return totals;
  }

  private entry(peer: string): Entry {
    let entry = this.entries.get(peer);
    if (!entry) this.entries.set(peer, (entry = { since: 0, hidden: true, waiters: [], bytesWaiting: 0 }));
    return entry;
  }

  /** Drops an entry that holds nothing any more. */
  private tidy(peer: string): void {
    const entry = this.entries.get(peer);
    if (entry && !entry.connection && !entry.attempt && entry.waiters.length === 0 && entry.bytesWaiting === 0) this.entries.delete(peer);
  }

  // ---- outgoing ----

  /** The connection to `peer`, made if needed (auto-connect, as BEAM does on send); one attempt per peer at a time. */
  async connect(peer: string, options: { signal?: AbortSignal; port?: number; timeout?: number } = {}): Promise<DistConnection> {
    if (this.stopped) throw new NodeError("stopped", "this node is stopped");
    const entry = this.entry(peer);
    if (entry.connection) return entry.connection;
    if (entry.attempt) return entry.attempt.done;
    if (peer === this.localName) {
      this.tidy(peer);
      throw new NodeError("bad_name", "a node does not connect to itself");
    }
    const controller = new AbortController();
    const done = this.dial(peer, controller, options);
    entry.attempt = { controller, done };
    try {
      return await done;
    } finally {
      if (entry.attempt?.done === done) entry.attempt = undefined;
      this.tidy(peer);
    }
  }

  /**
   * The connection a send of `bytes` to `peer` goes on. While it is being made, the bytes count against
   * maxQueuedBytes, as BEAM counts messages queued for a pending connection against its busy limit: sends that do
   * not wait cannot pile up without bound behind a connection attempt either.
   */
  async connectForSend(peer: string, bytes: number): Promise<DistConnection> {
    const existing = this.open(peer);
    if (existing) return existing;
    const entry = this.entry(peer);
    const cap = this.options.connection.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (entry.bytesWaiting > 0 && entry.bytesWaiting + bytes > cap) {
      this.closed.sendsRefused++;
      throw new DistError(
        "busy",
        `${entry.bytesWaiting} bytes of sends wait for the connection to ${peer} to come up already (maxQueuedBytes ${cap}): ` +
          `await each send to be held back instead, or raise maxQueuedBytes`,
      );
    }
    entry.bytesWaiting += bytes;
    try {
      return await this.connect(peer);
    } finally {
      entry.bytesWaiting -= bytes;
      this.tidy(peer);
    }
  }

  private async dial(peer: string, controller: AbortController, options: { signal?: AbortSignal; port?: number; timeout?: number }): Promise<DistConnection> {
    // The first caller's signal ends the attempt (later callers share it, as they share its outcome).
    const stopForwarding = watchDeadline({ signal: options.signal }, (expiry) => controller.abort(expiry.why === "aborted" ? expiry.reason : undefined));
    try {
      return await this.dialAbortable(peer, controller.signal, options);
    } catch (caught) {
      if (this.stopped) throw new NodeError("stopped", "this node stopped while connecting", { cause: caught });
      const lostRace = controller.signal.aborted && !options.signal?.aborted; // aborted by decide(), not the caller
      if ((caught instanceof DistError && caught.code === "nok") || lostRace) {
        // Simultaneous connect: the peer's own attempt (or the one we accepted) carries the connection.
        return this.waitForConnection(peer);
      }
      throw caught;
    } finally {
      stopForwarding();
    }
  }

  private async dialAbortable(peer: string, signal: AbortSignal, options: { port?: number; timeout?: number }): Promise<DistConnection> {
    const at = peer.indexOf("@"); // checked as every node name is (see destination.ts)
    const alive = peer.slice(0, at);
    const host = peer.slice(at + 1);
    const timeout = options.timeout ?? this.options.connectTimeout;
    let port = options.port;
    if (port === undefined) {
      const epmd = this.options.epmd;
      if (epmd === false) {
        port = this.options.peerPort();
      } else {
        const found = await lookupNode(alive, { host, port: epmd.port, signal, timeout: this.options.connectTimeout });
        if (!found) throw new NodeError("not_registered", `no node named '${alive}' is registered with epmd on ${host}`);
        port = found.port;
      }
    }
    const transport = this.options.transport;
    const stream = await transport.connect({ peer, host, port }, { signal, timeout });
    try {
      const handshake = await initiateHandshake(stream, { ...this.identity(), signal }, peer);
      return this.connected(stream, handshake);
    } catch (caught) {
      throw transport.explain(caught, stream, peer, true);
    }
  }

  private identity(): HandshakeIdentity {
    return { ...this.options.identity(), timeout: this.options.connectTimeout, packetHeader: this.options.transport.handshakeHeader };
  }

  private waitForConnection(peer: string): Promise<DistConnection> {
    const existing = this.open(peer);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const entry = this.entry(peer);
      const waiter = (connection: DistConnection): void => {
        clearTimeout(timer);
        resolve(connection);
      };
      const timer = setTimeout(() => {
        entry.waiters = entry.waiters.filter((w) => w !== waiter);
        this.tidy(peer);
        reject(new NodeError("timeout", `the connection with ${peer} did not come up`));
      }, this.options.connectTimeout);
      entry.waiters.push(waiter);
    });
  }

  // ---- incoming ----

  /** An accepted TCP connection: the transport makes it ready, then the handshake decides whether it stays. */
  accept(socket: Socket): void {
    const from = remoteOf(socket);
    const transport = this.options.transport;
    transport.accept(socket, from).then(
      (stream) => {
        acceptHandshake(stream, this.identity(), (peer) => this.decide(peer)).then(
          (handshake) => this.connected(stream, handshake),
          (err) => {
            // A failed handshake closes only its own socket (acceptHandshake destroyed it); the node goes on.
            if (err instanceof DistError && err.code === "nok") return; // simultaneous connect: our own attempt goes on
            this.hooks.acceptFailed(transport.explain(err, stream, `the node connecting from ${from}`, false) as DistError, from);
          },
        );
      },
      (err) => this.hooks.acceptFailed(err as DistError, from),
    );
  }

  /** The simultaneous-connect decision for an incoming handshake from `peer`, as dist_util's. */
  private decide(peer: string): AcceptStatus {
    if (this.stopped) return "not_allowed";
    const entry = this.entries.get(peer);
    if (entry?.connection) return "alive";
    if (entry?.attempt) {
      // OTP's rule: the attempt from the node with the greater name wins.
      if (peer > this.localName) {
        entry.attempt.controller.abort();
        return "ok_simultaneous";
      }
      return "nok";
    }
    return "ok";
  }

  /** A handshake completed (either way): the connection enters the table, replacing an old one. */
  private connected(socket: Socket, handshake: Handshake): DistConnection {
    const peer = handshake.peerName;
    const entry = this.entry(peer);
    entry.connection?.close();
    const connection = new DistConnection(socket, handshake, this.options.connection);
    entry.connection = connection;
    entry.since = Date.now();
    entry.hidden = (handshake.peerFlags & DFLAG.PUBLISHED) === 0n;
    this.closed.connectionsUp++;
    connection.once("close", (error) => {
      this.closed.connectionsDown++;
      for (const key of SUMMED) this.closed[key] += connection.stats[key];
      const current = this.entries.get(peer);
      if (current?.connection !== connection) return; // replaced already
      current.connection = undefined;
      this.tidy(peer);
      this.hooks.down(peer, connection, error);
    });
    if (this.stopped) {
      connection.close();
      return connection;
    }
    this.hooks.up(connection);
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) waiter(connection);
    return connection;
  }

  /** The first step of stopping: refuses new connections, both ways, and aborts the attempts being made. */
  stopDialing(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) entry.attempt?.controller.abort();
  }

  /** The last step of stopping: closes every connection (after the node's processes have sent their last signals). */
  close(): void {
    this.stopDialing();
    for (const entry of [...this.entries.values()]) entry.connection?.close();
  }
}
