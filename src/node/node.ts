// The local Erlang node, as a front over its parts: the listener and the epmd registration (here), the connection
// table (connection-table.ts), the process table (process-table.ts), signals out (signals.ts) and in (router.ts),
// and the services every node answers or offers (services/: gen_server, rpc, erpc, net_kernel).
import { EventEmitter } from "node:events";
import { createServer, type AddressInfo, type Server } from "node:net";
import { hostname } from "node:os";
import { randomInt } from "node:crypto";
import { withDeadline } from "../common/deadline.js";
import { DFLAG, ERLDIST_FLAGS, TlsTransport, tcpTransport, type ControlStats, type DistConnection, type Transport, type UnusableControlError } from "../dist/index.js";
import { registerNode, type EpmdRegistration } from "../epmd/index.js";
import { atom, isAtom, tuple, type Encodable, type Pid, type Term, type TermOptions } from "../etf/index.js";
import { ConnectionTable } from "./connection-table.js";
import { defaultCookie } from "./cookie.js";
import { nodeNameOf, type Destination, type NodeName } from "./destination.js";
import { NodeError } from "./errors.js";
import type { NodeEvents, NodeOptions, NodeStats, PeerInfo, PingResult } from "./node-types.js";
import type { ErlProcess, SendOptions } from "./process.js";
import { ProcessTable } from "./process-table.js";
import { Router } from "./router.js";
import { call, cast, serve, type ServerHandlers, type ServerRef } from "./services/gen-server.js";
import { erpc } from "./services/erpc.js";
import type { ServiceHost } from "./services/host.js";
import { startNetKernel } from "./services/net-kernel.js";
import { rpc, type RpcOptions } from "./services/rpc.js";
import { Signals } from "./signals.js";

function fullName(name: string): string {
  return nodeNameOf(name.includes("@") ? name : `${name}@${hostname().split(".")[0]}`);
}

export class Node extends EventEmitter<NodeEvents> implements ServiceHost {
  readonly name: string;
  readonly creation: number;
  readonly hidden: boolean;
  /** How terms map to JS values on this node (the `terms` option; both false by default). */
  readonly terms: Readonly<TermOptions>;
  /** When the node started (ms since the epoch). */
  readonly startedAt = Date.now();
  private readonly server: Server;
  private readonly registration: EpmdRegistration | undefined;
  private readonly processes: ProcessTable;
  private readonly signals: Signals;
  private readonly router: Router;
  private readonly connections: ConnectionTable;
  /** The pid that anonymous sends from this node come from (REG_SEND requires a sender). */
  private readonly sender: Pid;
  /** Milliseconds a connection setup may take (the connectTimeout option). */
  private readonly connectTimeout: number;
  private signalsFailed = 0;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly stopHooks = new Set<() => unknown>();

  protected constructor(options: NodeOptions, name: string, cookie: string, server: Server, registration: EpmdRegistration | undefined, transport: Transport) {
    super();
    this.name = name;
    this.hidden = options.hidden ?? true;
    this.terms = Object.freeze({ binariesAsStrings: options.terms?.binariesAsStrings === true, nilAsNull: options.terms?.nilAsNull === true });
    this.server = server;
    this.registration = registration;
    this.creation = registration?.creation ?? randomInt(1, 0x7fffffff);
    this.connectTimeout = options.connectTimeout ?? 7000;
    this.processes = new ProcessTable(name, this.creation);
    this.connections = new ConnectionTable(
      name,
      {
        identity: () => ({
          name,
          cookie,
          creation: this.creation,
          flags: (this.hidden ? ERLDIST_FLAGS : ERLDIST_FLAGS | DFLAG.PUBLISHED) & ~(options.withoutFlags ?? 0n),
        }),
        transport,
        epmd: options.epmd === false ? false : { port: options.epmd?.port },
        peerPort: () => options.peerPort ?? this.port,
        connectTimeout: this.connectTimeout,
        connection: { terms: this.terms, tickTime: options.tickTime, busyLimit: options.busyLimit, maxQueuedBytes: options.maxQueuedBytes },
      },
      {
        up: (connection) => this.connectionUp(connection),
        down: (peer, _connection, error) => {
          this.signals.connectionLost(peer);
          this.emit("nodedown", peer, error ?? new NodeError("disconnected", `disconnected from ${peer}`));
        },
        acceptFailed: (error, from) => this.emit("acceptFailed", error, from),
      },
    );
    this.signals = new Signals(this.processes, this.connections, this.terms);
    this.router = new Router(this.processes, this.terms);
    this.sender = this.processes.makePid();
    startNetKernel(this, (error) => this.emit("serverError", "net_kernel", error));
    server.on("connection", (socket) => this.connections.accept(socket));
  }

  /** Starts a node: listens, registers with epmd (unless epmd is false), and is ready to connect and be connected to. */
  static async start<N extends Node>(this: { prototype: N }, options: NodeOptions): Promise<N> {
    const name = fullName(options.name);
    const cookie = options.cookie ?? defaultCookie();
    // The TLS options and files are read now: an unusable one fails the start, not the first connection.
    const transport = options.tls ? TlsTransport.create(options.tls, { connectTimeout: options.connectTimeout ?? 7000 }) : tcpTransport;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) =>
        reject(new NodeError("listen_failed", `cannot listen for distribution on port ${options.port ?? 0}: ${err.message}`, { cause: err })),
      );
      server.listen(options.port ?? 0, options.listenHost ?? "0.0.0.0", () => resolve());
    });
    let registration: EpmdRegistration | undefined;
    if (options.epmd !== false && options.register !== false) {
      try {
        const alive = name.slice(0, name.indexOf("@"));
        registration = await registerNode({ name: alive, listenPort: (server.address() as AddressInfo).port, host: options.epmd?.host, port: options.epmd?.port });
      } catch (err) {
        server.close();
        throw err;
      }
    }
    // `this` is Node or a subclass of it (the package's Node adds discovery), built the same way.
    const Class = this as unknown as new (
      options: NodeOptions,
      name: string,
      cookie: string,
      server: Server,
      registration: EpmdRegistration | undefined,
      transport: Transport,
    ) => N;
    const node = new Class(options, name, cookie, server, registration, transport);
    registration?.on("lost", (error) => node.emit("registrationLost", error));
    return node;
  }

  /** True until stop() is called. */
  get running(): boolean {
    return this.stopping === undefined;
  }

  /** The distribution listen port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  // ---- connections ----

  /**
   * Connects to a node (resolves true once connected; at once if it already is). Rejects with a NodeError or a
   * DistError that says why: the name is not registered, the cookie was rejected, the node is unreachable...
   */
  connect(peer: NodeName, options: { signal?: AbortSignal; port?: number; timeout?: number } = {}): Promise<true> {
    const name = nodeNameOf(peer);
    const timeout = options.timeout ?? this.connectTimeout;
    return withDeadline(
      { timeout, signal: options.signal },
      (expiry) =>
        expiry.why === "timeout"
          ? new NodeError("timeout", `connecting to ${name} took longer than ${timeout} ms`)
          : new NodeError("aborted", `connecting to ${name} was aborted`, { cause: expiry.reason }),
      (signal) => this.connections.connect(name, { signal, port: options.port, timeout }).then(() => true as const),
    );
  }

  /** Names of the connected nodes. */
  nodes(): string[] {
    return this.connections.up().map((entry) => entry.peer);
  }

  /** The connected nodes with when they came up, whether they are hidden, and their connection's counters. */
  peers(): PeerInfo[] {
    return this.connections.up().map(({ peer, connection, since, hidden }) => ({
      name: peer,
      since,
      hidden,
      stats: { ...connection.stats },
      busy: connection.busy,
      queuedBytes: connection.queuedBytes,
    }));
  }

  /** Counters of the connection to `peer` (messages, bytes, fragments, ticks), if connected. */
  connectionStats(peer: NodeName): DistConnection["stats"] | undefined {
    const stats = this.connections.open(nodeNameOf(peer))?.stats;
    return stats && { ...stats };
  }

  /**
   * The control messages exchanged with `peer` on its current connection, by kind, each way (undefined when not
   * connected): which messages that release uses, e.g. ALTACT_SIG_SEND (OTP 28+) or ALIAS_SEND for alias sends.
   */
  controlStats(peer: NodeName): ControlStats | undefined {
    const counts = this.connections.open(nodeNameOf(peer))?.controlStats;
    return counts && { in: { ...counts.in }, out: { ...counts.out }, unknown: { ...counts.unknown } };
  }

  /** Totals since the node started: connections made and lost, messages and bytes both ways (closed connections included). */
  stats(): NodeStats {
    return { ...this.connections.totals(), signalsFailed: this.signalsFailed };
  }

  /** Closes the connection to `peer`; true if there was one. */
  disconnect(peer: NodeName): boolean {
    const connection = this.connections.open(nodeNameOf(peer));
    connection?.close();
    return connection !== undefined;
  }

  /** A connection came up: its signals go to the router, its events become the node's. */
  private connectionUp(connection: DistConnection): void {
    const peer = connection.peerName;
    connection.deliverSignalsTo((message) => this.router.route(connection, message));
    connection.on("unusable", (error) => this.unusableControl(connection, error));
    connection.on("signalFailed", (kind, error) => {
      this.signalsFailed++;
      if (this.listenerCount("signalFailed") > 0) this.emit("signalFailed", peer, kind, error);
    });
    connection.on("busy", (queued) => this.emit("busy", peer, queued));
    connection.on("drain", (ms) => this.emit("drain", peer, ms));
    this.emit("nodeup", peer);
  }

  /**
   * A control message the node cannot act on: reported the first time its tag comes on this connection (the event,
   * else the console), so that a peer speaking a newer protocol is visible, not silent.
   */
  private unusableControl(connection: DistConnection, error: UnusableControlError): void {
    if (connection.controlStats.unknown[error.tag] !== 1) return; // counted by the connection; reported once
    if (this.listenerCount("unknownControl") > 0) {
      this.emit("unknownControl", connection.peerName, error.tag, error);
      return;
    }
    console.warn(
      `erldist: ${connection.peerName} sent a control message this node cannot act on, and it was ignored ` +
        `(as BEAM ignores one): ${error.message}. Later ones with tag ${error.tag} on this connection are only ` +
        `counted (controlStats(peer).unknown); listen to the node's unknownControl event to handle them yourself.`,
    );
  }

  // ---- processes ----

  /** Starts a process: a pid BEAM can send to, with a mailbox to receive from. */
  spawn(): ErlProcess {
    if (this.stopped) throw new NodeError("stopped", "this node is stopped");
    return this.signals.spawn();
  }

  /** Registers a process under a name, so that BEAM can send to `{Name, 'this@node'}`. */
  register(name: string, process: ErlProcess): void {
    if (!process.alive) throw new NodeError("exited", `process ${process.pid} has exited`);
    const holder = this.processes.register(name, process);
    if (holder) throw new NodeError("name_taken", `'${name}' is registered already (to ${holder.pid})`);
  }

  /** Frees a registered name; true if it was registered. */
  unregister(name: string): boolean {
    return this.processes.unregister(name);
  }

  /** The pid registered under `name` on this node, if any. */
  whereis(name: string): Pid | undefined {
    return this.processes.named(name)?.pid;
  }

  /**
   * Sends a message (from no process in particular) to a pid, an alias, a name registered on this node, or
   * `[name, node]`, connecting first if needed (as BEAM does on send).
   *
   * The contract, as a Node stream's write() is for bytes:
   * - A destination that is not one (or a malformed node name) throws a NodeError at the call.
   * - The promise resolves once the socket has the message, and it then arrives in order unless the connection
   *   dies. While the connection is busy (more than `busyLimit` bytes wait for a slow or paused peer), it resolves
   *   only when the message's turn comes: `await` each send to be held back, as BEAM suspends a sender on a busy
   *   dist port.
   * - It rejects with a typed error: the EncodeError of a message that cannot be sent, the connection's error when
   *   the node cannot be reached or goes down first (BEAM would drop the message silently), DistError `busy` when
   *   `maxQueuedBytes` wait already (the cap for senders that do not wait), or DistError `unsupported` for a
   *   priority send to a node before OTP 28.
   * - It may be ignored (fire-and-forget): a rejection nobody awaits is not an unhandled rejection.
   *
   * Binaries of 64 KiB and more are sent without copying: do not change one before its send settles.
   * `{ priority: true }` sends a priority message (see SendOptions).
   */
  send(to: Destination, message: Encodable, options?: SendOptions): Promise<void> {
    return this.signals.sendFrom(this.sender, to, message, options);
  }

  // ---- services ----

  /**
   * A gen_server in TypeScript: registers `name` so that BEAM code can `gen_server:call({Name, 'this@node'}, Req)`
   * and `gen_server:cast`. Requests are handled one at a time, in order, as a gen_server does; `call` may be async
   * and its value is the reply. A handler that throws does not take the server down: the caller gets
   * `{error, <<Message>>}` and the node emits `serverError`. Returns the server's process (exit() stops it).
   */
  serve(name: string, handlers: ServerHandlers): ErlProcess {
    return serve(this, name, handlers, (error) => this.emit("serverError", name, error));
  }

  /**
   * gen_server:call: sends `{'$gen_call', {From, Tag}, Request}` to `dest` (a pid or `[name, node]`), monitors it,
   * and resolves with the reply. Rejects with a CallError: `timeout`, `noproc`, `noconnection`, or `exit` with the
   * server's exit reason.
   */
  call(dest: ServerRef, request: Encodable, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<Term> {
    return call(this, dest, request, options);
  }

  /**
   * gen_server:cast: sends `{'$gen_cast', Request}` (connecting if needed); never waits for the server. The
   * contract of send: a bad destination throws at the call, and the promise may be ignored.
   */
  cast(dest: ServerRef, request: Encodable): Promise<void> {
    return cast(this, dest, request);
  }

  /**
   * rpc:call: runs `module:fn(...args)` on `peer` through its rex server and resolves with the result. What the
   * call prints (io:format and friends) goes to `onOutput` as text. `{badrpc, Reason}` becomes a CallError
   * `badrpc` with that reason.
   */
  rpc(peer: NodeName, module: string, fn: string, args: Encodable[], options: RpcOptions = {}): Promise<Term> {
    return rpc(this, nodeNameOf(peer), module, fn, args, options);
  }

  /** Like rpc, and also returns what the call printed. */
  async rpcWithOutput(peer: NodeName, module: string, fn: string, args: Encodable[], options: { timeout?: number } = {}): Promise<{ value: Term; output: string }> {
    let output = "";
    const value = await this.rpc(peer, module, fn, args, { ...options, onOutput: (text) => (output += text) });
    return { value, output };
  }

  /**
   * erpc:call: runs `module:fn(...args)` on `peer` in a process spawned for it (SPAWN_REQUEST, as erpc does) and
   * resolves with the value. A remote exception becomes a CallError `exception` with `errorClass`, `reason` and
   * (for errors) `stacktrace`; a node that cannot be reached, `noconnection`; no result in time, `timeout`. What
   * the call prints goes to `onOutput`.
   */
  erpc(peer: NodeName, module: string, fn: string, args: Encodable[], options: RpcOptions = {}): Promise<Term> {
    return erpc(this, nodeNameOf(peer), module, fn, args, options);
  }

  /** As net_adm:ping/1: connects if needed and asks the peer's net_kernel; "pong" if it answers, else "pang". */
  async ping(peer: NodeName, options: { timeout?: number } = {}): Promise<PingResult> {
    const name = nodeNameOf(peer); // a malformed name is an error, not a pang
    try {
      const reply = await this.call(["net_kernel", name], tuple(atom("is_auth"), atom(this.name)), { timeout: options.timeout ?? 7000 });
      return isAtom(reply, "yes") ? "pong" : "pang";
    } catch {
      return "pang";
    }
  }

  // ---- stopping ----

  /**
   * Runs `hook` when the node stops, before its connections close (discovery loops and other services built on the
   * node use it). Returns a function that removes the hook.
   */
  onStop(hook: () => unknown): () => void {
    this.stopHooks.add(hook);
    return () => this.stopHooks.delete(hook);
  }

  /** Stops the node: unregisters from epmd, closes the listener and every connection. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    // Hooks first (discovery loops), so that nothing reconnects while the connections close.
    await Promise.allSettled([...this.stopHooks].map(async (hook) => hook()));
    this.stopHooks.clear();
    this.stopped = true;
    this.connections.stopDialing();
    for (const process of this.processes.processes()) process.exit("shutdown");
    await this.registration?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.connections.close();
    await closed;
  }
}
