// The local Erlang node: a listener for incoming connections, its epmd registration, its connections by peer
// name (with OTP's simultaneous-connect rules), and the answers BEAM expects from any node without user code
// (net_kernel's is_auth, so that net_adm:ping/1 returns pong).
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from "node:net";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { randomInt } from "node:crypto";
import {
  ALTACT_FLAG,
  DEFAULT_MAX_QUEUED_BYTES,
  DFLAG,
  DistConnection,
  DistError,
  ERLDIST_FLAGS,
  TlsCarrier,
  acceptHandshake,
  initiateHandshake,
  makeControl,
  UnusableControlError,
  parseControl,
  type AcceptStatus,
  type ControlKind,
  type ControlMessage,
  type Handshake,
  type HandshakeIdentity,
  type TlsOptions,
} from "../dist/index.js";
import { EpmdError, lookupNode, registerNode, type EpmdRegistration } from "../epmd/index.js";
import { Atom, EncodeError, ImproperList, Pid, Reference, Tuple, atom, decode, encode, equals, improperList, tuple, type Encodable, type Term, type TermOptions } from "../etf/index.js";
import { CallError, NodeError, explainCallError, explainException, formatReason } from "./errors.js";
import { iolistToString } from "./iolist.js";
import { checkDestination, ignorable, nodeNameOf, type CheckedDestination, type Destination, type NodeName } from "./destination.js";
import { ErlProcess, type AliasOptions, type ExitOptions, type SendOptions } from "./process.js";

export interface NodeOptions {
  /** `alive@host` (a long name), or just `alive`, which gets this host's name. */
  name: string;
  /** Default: the ERLANG_COOKIE environment variable, then ~/.erlang.cookie (as erl reads it). */
  cookie?: string;
  /**
   * Hidden (default true): BEAM lists the node in nodes(hidden) only, and `global` leaves it alone. A visible node
   * is treated by `global` as a full member that must connect to every other visible node: use it for tests and
   * small setups only.
   */
  hidden?: boolean;
  /** Where epmd is (default 127.0.0.1, ERL_EPMD_PORT then 4369), or false to run without epmd. */
  epmd?: { host?: string; port?: number } | false;
  /**
   * Register with epmd (default true). false: peers are still looked up through epmd, but this node is not
   * findable by name (for short-lived clients that only dial out, on hosts without an epmd).
   */
  register?: boolean;
  /** Distribution listen port (default 0: any free port). */
  port?: number;
  /** Address to listen on (default every interface, "0.0.0.0"). */
  listenHost?: string;
  /** Without epmd: the port peers listen on (as erl's -erl_epmd_port); default this node's own port. */
  peerPort?: number;
  /** net_ticktime in seconds (default 60). */
  tickTime?: number;
  /** Milliseconds a connection setup may take (default 7000, erl's net_setuptime). */
  connectTimeout?: number;
  /**
   * @internal Capability flags not to advertise. For tests: without DFLAG_SEND_SENDER and DFLAG_EXIT_PAYLOAD, BEAM
   * sends the older kinds (SEND, EXIT, EXIT2 and their *_TT forms) that it still sends to such peers.
   */
  withoutFlags?: bigint;
  /**
   * Bytes waiting for a connection's socket past which it is busy and sends are held back until it drains (default
   * 1 MiB, as BEAM's dist buffer busy limit, `erl +zdbbl 1024`).
   */
  busyLimit?: number;
  /**
   * The most bytes of sends a busy connection holds back (default 64 MiB); a send past it is refused with DistError
   * `busy`. It bounds the memory of senders that do not await their sends. Signals the node sends by itself (exit
   * signals, links, monitors) are queued regardless.
   */
  maxQueuedBytes?: number;
  /**
   * TLS distribution, as erl's `-proto_dist inet_tls -ssl_dist_optfile File`: every connection, both ways, runs TLS
   * first (certificates checked as the options say), then the distribution handshake inside it. See TlsOptions.
   */
  tls?: TlsOptions;
  /**
   * How terms map to JS values on this node, for every message received (remote and local), call reply, rpc and
   * erpc result and exit reason: `binariesAsStrings` (UTF-8 binaries, Elixir's strings, arrive as JS strings) and
   * `nilAsNull` (nil arrives as null, and null is sent as nil; a plain object's undefined fields are left out).
   * Both are lossless: what arrives encodes back to the same term. Default: neither (see the codec's options).
   */
  terms?: TermOptions;
}

export type PingResult = "pong" | "pang";

/** Counters of one connection (see DistConnection's stats). */
export type ConnectionStats = DistConnection["stats"];

/** A connected node, as the status page shows it. */
export interface PeerInfo {
  name: string;
  /** When the connection came up (ms since the epoch). */
  since: number;
  /** Whether the peer connected as a hidden node (no DFLAG_PUBLISHED). */
  hidden: boolean;
  stats: ConnectionStats;
  /** Whether sends to it are held back now (see the `busy` event). */
  busy: boolean;
  /** Bytes waiting to go to it: in the socket, and held back while busy. */
  queuedBytes: number;
}

/** Totals over the node's life, closed connections included. */
export interface NodeStats {
  connectionsUp: number;
  connectionsDown: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Times a connection became busy (see the `busy` event). */
  busyCount: number;
  /** Milliseconds connections spent busy (spells that ended). */
  busyMs: number;
  /** Sends that waited because their connection was busy. */
  sendsHeld: number;
  /** Sends refused with DistError `busy`: maxQueuedBytes waited already. */
  sendsRefused: number;
  /** Signals this node sends by itself that could not go (see the `signalFailed` event). */
  signalsFailed: number;
}

/** The counters of a connection that NodeStats sums over connections. */
const SUMMED = ["messagesIn", "messagesOut", "bytesIn", "bytesOut", "busyCount", "busyMs", "sendsHeld", "sendsRefused"] as const;

/**
 * Control messages of one connection, by kind, each way (see Node.controlStats): which protocol messages a peer's
 * release uses, e.g. ALTACT_SIG_SEND from OTP 28 where older releases send ALIAS_SEND.
 */
export interface ControlStats {
  /** Received from the peer, by kind. */
  in: Partial<Record<ControlKind, number>>;
  /** Sent to the peer, by kind. */
  out: Partial<Record<ControlKind, number>>;
  /**
   * Received control messages this node could not act on, by tag: an unknown tag, or a known one in a shape it
   * cannot use (see the `unknownControl` event). They are ignored, as BEAM ignores them, and the connection stays.
   */
  unknown: Partial<Record<number, number>>;
}

interface NodeEvents {
  /** A connection to a node came up. */
  nodeup: [name: string];
  /** A connection went down, with the reason (tick timeout, closed by the peer, disconnected here...). */
  nodedown: [name: string, reason: DistError | NodeError];
  /** epmd dropped this node's registration (epmd stopped): peers can no longer find it by name. */
  registrationLost: [error: EpmdError];
  /** A handler of a server made with `serve` threw; the server goes on. */
  serverError: [name: string, error: Error];
  /**
   * An incoming connection was refused or its handshake failed (its TLS, its certificate, its cookie...): only that
   * connection is closed. `from` is the address it came from.
   */
  acceptFailed: [error: DistError, from: string];
  /**
   * The connection to `name` is busy: more than `busyLimit` bytes wait for the socket (a slow or paused peer), and
   * sends are held back until it drains (BEAM's busy_dist_port).
   */
  busy: [name: string, queuedBytes: number];
  /** The connection to `name` is no longer busy, after `busyMs` milliseconds. */
  drain: [name: string, busyMs: number];
  /**
   * A signal this node sends by itself (an exit signal of an exiting process, a link, a monitor, a protocol answer)
   * could not go: its connection closed meanwhile, or its exit reason cannot be encoded.
   */
  signalFailed: [name: string, kind: ControlKind, error: Error];
  /**
   * `name` sent a control message this node cannot act on: a tag it does not know (a newer OTP's), or a known tag in
   * a shape it cannot use (`error` says which and why; `error.control` is the tuple). It is ignored, as BEAM ignores
   * such messages, and the connection stays up. Reported once per tag per connection; every one is counted in
   * `controlStats(name).unknown`. With no listener, the first of each tag is written to the console instead.
   */
  unknownControl: [name: string, tag: number, error: UnusableControlError];
}

/** The callbacks of a server made with {@link Node.serve}. */
export interface ServerHandlers {
  /** gen_server:call: the value (or promise of it) is the reply. `from` is the caller's pid. */
  call?(request: Term, from: Pid): Encodable | Promise<Encodable>;
  /** gen_server:cast. */
  cast?(request: Term): void | Promise<void>;
  /** Any other message. */
  info?(message: Term): void | Promise<void>;
}

/** Reads the cookie as erl does: ERLANG_COOKIE, then ~/.erlang.cookie. */
export function defaultCookie(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ERLANG_COOKIE) return env.ERLANG_COOKIE;
  const file = join(homedir(), ".erlang.cookie");
  try {
    const cookie = readFileSync(file, "utf8").trim();
    if (cookie !== "") return cookie;
  } catch {
    // fall through to the error below
  }
  throw new NodeError(
    "no_cookie",
    `no cookie: pass the cookie option, set ERLANG_COOKIE, or put the cluster's cookie in ${file}`,
  );
}

function fullName(name: string): string {
  return nodeNameOf(name.includes("@") ? name : `${name}@${hostname().split(".")[0]}`);
}

function splitName(name: string): { alive: string; host: string } {
  const at = nodeNameOf(name).indexOf("@"); // checked as every node name is (see destination.ts)
  return { alive: name.slice(0, at), host: name.slice(at + 1) };
}

/** Where a local pid's mailbox is kept: pids are made with a 15-bit id and the rest of the counter in serial. */
function mailboxKey(pid: Pid): number {
  return pid.id + pid.serial * 0x8000;
}

/** Turns the exit reason of erpc's execute_call into the value, or the CallError for what it raised. */
function erpcResult(reason: Term, tag: Reference, what: string): Term {
  if (reason instanceof Tuple && equals(reason.elements[0], tag)) {
    const [, kind, value, stack] = reason.elements;
    if (kind === atom("return")) return value;
    const errorClass = (kind as Atom).name as "throw" | "exit" | "error";
    throw new CallError("exception", `erpc ${what} raised ${explainException(errorClass, value, stack)}`, value, { errorClass, stacktrace: stack });
  }
  if (reason === atom("noconnection")) throw new CallError("noconnection", `erpc ${what}: the connection was lost (noconnection)`, reason);
  // Not erpc's own exit: the process running the call was killed, or exited by a link, before it could answer.
  throw new CallError("exit", `erpc ${what}: the process running it exited: ${explainCallError({ code: "exit", reason })}`, reason);
}

/** Identifies a reference among this node's monitors. */
function refKey(ref: Reference): string {
  return `${ref.node.name}/${ref.creation}/${ref.ids.join(".")}`;
}

/** The message a monitor delivers: {'DOWN', Ref, process, Target, Reason}. */
function down(ref: Reference, target: Encodable, reason: Encodable, terms: TermOptions): Term {
  return asReceived(tuple(atom("DOWN"), ref, atom("process"), target, reason), terms);
}

function describe(dest: Pid | readonly [name: string | Atom, node: NodeName]): string {
  const text = (name: string | Atom) => (name instanceof Atom ? name.name : name);
  return dest instanceof Pid ? String(dest) : `${text(dest[0])} on ${text(dest[1])}`;
}

/** A message sent between local processes arrives as it would over the wire: as the term it encodes to. */
function asReceived(message: Encodable, terms: TermOptions): Term {
  return decode(encode(message, terms), terms);
}

/**
 * For the EncodeError of a request the node wraps (`{'$gen_call', From, Request}`, rpc's arguments in rex's
 * request...): the same error with its path from the request, as encode(request) reports it, not from the wrapper
 * the caller never wrote. `at` is where the request sits in the wrapper ("{2}").
 */
function pathFromRequest(at: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof EncodeError && err.path.startsWith(at)) throw new EncodeError(err.path.slice(at.length), err.detail);
    throw err;
  };
}

/** What a send that completes at once returns (one promise for all of them). */
const RESOLVED = Promise.resolve();

// Not declared `implements ProcessHost`: the methods that interface names are internal ones, left out of the
// published types (stripInternal), where the clause would fail; `new ErlProcess(pid, this)` checks the shape.
// (A comment here must not contain the internal tag itself: stripInternal reads plain comments too.)
export class Node extends EventEmitter<NodeEvents> {
  readonly name: string;
  readonly creation: number;
  readonly hidden: boolean;
  /** How terms map to JS values on this node (the `terms` option; both false by default). */
  readonly terms: Readonly<TermOptions>;
  private readonly cookie: string;
  private readonly server: Server;
  private readonly registration: EpmdRegistration | undefined;
  private readonly options: NodeOptions;
  /** TLS for every connection when the tls option is given. */
  private readonly carrier: TlsCarrier | undefined;
  private readonly connections = new Map<string, DistConnection>();
  private readonly connectedAt = new Map<DistConnection, { since: number; hidden: boolean }>();
  /** Counters of the connections that have closed, and of connections made. */
  private readonly closedTotals = { connectionsUp: 0, connectionsDown: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, busyCount: 0, busyMs: 0, sendsHeld: 0, sendsRefused: 0 };
  /** When the node started (ms since the epoch). */
  readonly startedAt = Date.now();
  private readonly pending = new Map<string, { controller: AbortController; done: Promise<DistConnection> }>();
  private readonly waiters = new Map<string, Array<(connection: DistConnection) => void>>();
  private readonly mailboxes = new Map<number, ErlProcess>();
  private readonly registered = new Map<string, ErlProcess>();
  /** Monitors remote processes hold on this node's processes: by the watched process, then by reference. */
  private readonly watchers = new Map<ErlProcess, Map<string, { from: Pid; ref: Reference; toProc: Term; peer: string }>>();
  /** Monitors this node's processes hold on remote processes, by reference. */
  private readonly monitors = new Map<string, { process: ErlProcess; target: Encodable; toProc: Encodable; peer: string; ref: Reference }>();
  private nextPid = 1;
  private nextRef = 1;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly stopHooks = new Set<() => unknown>();

  protected constructor(
    options: NodeOptions,
    name: string,
    cookie: string,
    server: Server,
    registration: EpmdRegistration | undefined,
    carrier?: TlsCarrier,
  ) {
    super();
    this.options = options;
    this.carrier = carrier;
    this.name = name;
    this.cookie = cookie;
    this.hidden = options.hidden ?? true;
    this.terms = Object.freeze({ binariesAsStrings: options.terms?.binariesAsStrings === true, nilAsNull: options.terms?.nilAsNull === true });
    this.server = server;
    this.registration = registration;
    this.creation = registration?.creation ?? randomInt(1, 0x7fffffff);
    server.on("connection", (socket) => this.accept(socket));
    carrier?.on("secure", (socket, from) => this.handshakeIn(socket, from));
    carrier?.on("refused", (error, from) => this.emit("acceptFailed", error, from));
  }

  /** Starts a node: listens, registers with epmd (unless epmd is false), and is ready to connect and be connected to. */
  static async start<N extends Node>(this: { prototype: N }, options: NodeOptions): Promise<N> {
    const name = fullName(options.name);
    const cookie = options.cookie ?? defaultCookie();
    // The TLS options and files are read now: an unusable one fails the start, not the first connection.
    const carrier = options.tls ? TlsCarrier.create(options.tls, { connectTimeout: options.connectTimeout ?? 7000 }) : undefined;
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
        registration = await registerNode({
          name: splitName(name).alive,
          listenPort: (server.address() as AddressInfo).port,
          host: options.epmd?.host,
          port: options.epmd?.port,
        });
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
      carrier: TlsCarrier | undefined,
    ) => N;
    const node = new Class(options, name, cookie, server, registration, carrier);
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

  /** Counters of the connection to `peer` (messages, bytes, fragments, ticks), if connected. */
  connectionStats(peer: NodeName): DistConnection["stats"] | undefined {
    const stats = this.connections.get(nodeNameOf(peer))?.stats;
    return stats && { ...stats };
  }

  /** Names of the connected nodes. */
  nodes(): string[] {
    return [...this.connections.keys()];
  }

  /** The connected nodes with when they came up, whether they are hidden, and their connection's counters. */
  peers(): PeerInfo[] {
    return [...this.connections].map(([name, connection]) => ({
      name,
      since: this.connectedAt.get(connection)?.since ?? this.startedAt,
      hidden: this.connectedAt.get(connection)?.hidden ?? true,
      stats: { ...connection.stats },
      busy: connection.busy,
      queuedBytes: connection.queuedBytes,
    }));
  }

  /** Totals since the node started: connections made and lost, messages and bytes both ways (closed connections included). */
  stats(): NodeStats {
    const totals = { ...this.closedTotals, signalsFailed: this.signalsFailed };
    for (const connection of this.connections.values()) for (const key of SUMMED) totals[key] += connection.stats[key];
    return totals;
  }

  private identity(): HandshakeIdentity {
    return {
      name: this.name,
      cookie: this.cookie,
      creation: this.creation,
      flags: (this.hidden ? ERLDIST_FLAGS : ERLDIST_FLAGS | DFLAG.PUBLISHED) & ~(this.options.withoutFlags ?? 0n),
      timeout: this.options.connectTimeout ?? 7000,
      packetHeader: this.carrier ? 4 : 2, // inet_tls_dist runs the handshake with 4-byte lengths
    };
  }

  /**
   * Connects to a node (resolves true once connected; at once if it already is). Rejects with a NodeError or a
   * DistError that says why: the name is not registered, the cookie was rejected, the node is unreachable...
   */
  async connect(peer: NodeName, options: { signal?: AbortSignal; port?: number; timeout?: number } = {}): Promise<true> {
    peer = nodeNameOf(peer);
    const timeout = options.timeout ?? this.options.connectTimeout ?? 7000;
    const deadline = AbortSignal.timeout(timeout);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const attempt = this.connection(peer, { ...options, signal });
    attempt.catch(() => undefined); // settled below; a late rejection after an abort is not unhandled
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        reject(
          deadline.aborted
            ? new NodeError("timeout", `connecting to ${peer} took longer than ${timeout} ms`)
            : new NodeError("aborted", `connecting to ${peer} was aborted`, { cause: options.signal?.reason }),
        );
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      attempt.then(
        () => resolve(),
        (err) => reject(err),
      ).finally(() => signal.removeEventListener("abort", onAbort));
    });
    return true;
  }

  /** The connection to `peer`, made if needed (auto-connect, as BEAM does on send). */
  private async connection(peer: string, options: { signal?: AbortSignal; port?: number; timeout?: number } = {}): Promise<DistConnection> {
    if (this.stopped) throw new NodeError("stopped", "this node is stopped");
    const existing = this.connections.get(peer);
    if (existing) return existing;
    const inFlight = this.pending.get(peer);
    if (inFlight) return inFlight.done;
    if (peer === this.name) throw new NodeError("bad_name", "a node does not connect to itself");
    const controller = new AbortController();
    const done = this.dial(peer, controller, options);
    this.pending.set(peer, { controller, done });
    try {
      return await done;
    } finally {
      if (this.pending.get(peer)?.done === done) this.pending.delete(peer);
    }
  }

  private async dial(peer: string, controller: AbortController, options: { signal?: AbortSignal; port?: number; timeout?: number }): Promise<DistConnection> {
    const { alive, host } = splitName(peer);
    const forward = (): void => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) forward();
    else options.signal?.addEventListener("abort", forward, { once: true });
    try {
      return await this.dialAbortable(peer, alive, host, controller, options);
    } finally {
      options.signal?.removeEventListener("abort", forward);
    }
  }

  private async dialAbortable(
    peer: string,
    alive: string,
    host: string,
    controller: AbortController,
    options: { port?: number; timeout?: number },
  ): Promise<DistConnection> {
    const signal = controller.signal;
    let port = options.port;
    if (port === undefined) {
      if (this.options.epmd === false) {
        port = this.options.peerPort ?? this.port;
      } else {
        const found = await lookupNode(alive, { host, port: this.options.epmd?.port, signal, timeout: this.options.connectTimeout ?? 7000 });
        if (!found) throw new NodeError("not_registered", `no node named '${alive}' is registered with epmd on ${host}`);
        port = found.port;
      }
    }
    const socket = tcpConnect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      // Only the connect phase is abortable here: once connected, the handshake watches the signal.
      const onAbort = (): void => {
        socket.destroy();
        reject(new NodeError("aborted", `connecting to ${peer} was aborted`, { cause: signal.reason }));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("connect", () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      socket.once("error", (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(new NodeError("unreachable", `cannot reach ${peer} at ${host}:${port}: ${err.message}`, { cause: err }));
      });
    });
    let stream: Socket = socket;
    try {
      if (this.carrier) {
        const timeout = options.timeout ?? this.options.connectTimeout ?? 7000; // the caller's, for the TLS phase's share
        stream = await this.carrier.connect(socket, { peer, host }, { signal, timeout });
      }
      const handshake = await initiateHandshake(stream, { ...this.identity(), signal }, peer);
      return this.up(stream, handshake);
    } catch (caught) {
      const err = this.carrier ? this.carrier.explain(caught, stream, peer, true) : caught;
      if (this.stopped) throw new NodeError("stopped", "this node stopped while connecting", { cause: err });
      if (err instanceof DistError && (err.code === "nok" || (err.code === "aborted" && controller.signal.aborted))) {
        // Simultaneous connect: the peer's own attempt (or the one we accepted) carries the connection.
        return this.waitForConnection(peer);
      }
      throw err;
    }
  }

  private waitForConnection(peer: string): Promise<DistConnection> {
    const existing = this.connections.get(peer);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new NodeError("timeout", `the connection with ${peer} did not come up`)), this.options.connectTimeout ?? 7000);
      const list = this.waiters.get(peer) ?? [];
      list.push((connection) => {
        clearTimeout(timer);
        resolve(connection);
      });
      this.waiters.set(peer, list);
    });
  }

  private decide(peer: string): AcceptStatus {
    if (this.stopped) return "not_allowed";
    if (this.connections.has(peer)) return "alive";
    const outgoing = this.pending.get(peer);
    if (outgoing) {
      // OTP's rule: the attempt from the node with the greater name wins.
      if (peer > this.name) {
        outgoing.controller.abort();
        return "ok_simultaneous";
      }
      return "nok";
    }
    return "ok";
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    if (this.carrier) this.carrier.accept(socket); // then handshakeIn once TLS is up, or acceptFailed
    else this.handshakeIn(socket, `${socket.remoteAddress}:${socket.remotePort}`);
  }

  private handshakeIn(socket: Socket, from: string): void {
    acceptHandshake(socket, this.identity(), (peer) => this.decide(peer)).then(
      (handshake) => this.up(socket, handshake),
      (err) => {
        // A failed handshake closes only its own socket (acceptHandshake destroyed it); the node goes on.
        if (err instanceof DistError && err.code === "nok") return; // simultaneous connect: our own attempt goes on
        const error = this.carrier ? this.carrier.explain(err, socket, `the node connecting from ${from}`, false) : err;
        this.emit("acceptFailed", error as DistError, from);
      },
    );
  }

  private up(socket: Socket, handshake: Handshake): DistConnection {
    const old = this.connections.get(handshake.peerName);
    if (old) old.close();
    const connection = new DistConnection(socket, handshake, {
      terms: this.terms,
      tickTime: this.options.tickTime,
      busyLimit: this.options.busyLimit,
      maxQueuedBytes: this.options.maxQueuedBytes,
    });
    const peer = handshake.peerName;
    this.connections.set(peer, connection);
    this.connectedAt.set(connection, { since: Date.now(), hidden: (handshake.peerFlags & DFLAG.PUBLISHED) === 0n });
    this.closedTotals.connectionsUp++;
    connection.on("message", (control, payload) => this.route(connection, control, payload));
    connection.on("busy", (queued) => this.emit("busy", peer, queued));
    connection.on("drain", (ms) => this.emit("drain", peer, ms));
    connection.once("close", (error) => {
      this.connectedAt.delete(connection);
      this.closedTotals.connectionsDown++;
      for (const key of SUMMED) this.closedTotals[key] += connection.stats[key];
      if (this.connections.get(peer) === connection) {
        this.connections.delete(peer);
        for (const process of [...this.mailboxes.values()]) {
          for (const linked of process.linked()) if (linked.node.name === peer) process.exitSignal(linked, atom("noconnection"), true);
        }
        for (const [key, monitor] of this.monitors) {
          if (monitor.peer !== peer) continue;
          this.monitors.delete(key);
          monitor.process.deliver(down(monitor.ref, monitor.target, atom("noconnection"), this.terms));
        }
        this.emit("nodedown", peer, error ?? new NodeError("disconnected", `disconnected from ${peer}`));
      }
    });
    if (this.stopped) {
      connection.close();
      return connection;
    }
    this.emit("nodeup", peer);
    for (const waiter of this.waiters.get(peer) ?? []) waiter(connection);
    this.waiters.delete(peer);
    return connection;
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
   *   the node cannot be reached or goes down first (BEAM would drop the message silently), or DistError `busy` when
   *   `maxQueuedBytes` wait already (the cap for senders that do not wait).
   * - It may be ignored (fire-and-forget): a rejection nobody awaits is not an unhandled rejection.
   *
   * Binaries of 64 KiB and more are sent without copying: do not change one before its send settles.
   * `{ priority: true }` sends a priority message (see SendOptions).
   */
  send(to: Destination, message: Encodable, options?: SendOptions): Promise<void> {
    this.sender ??= this.makePid();
    return this.sendFrom(this.sender, to, message, options);
  }

  /** The pid that anonymous sends from this node come from (REG_SEND requires a sender). */
  private sender: Pid | undefined;

  /**
   * @internal Sends from a pid of this node; used by processes and by send (whose contract this is): checks the
   * destination at the call, and returns a promise that may be ignored.
   */
  sendFrom(from: Pid, to: Destination, message: Encodable, options: SendOptions = {}): Promise<void> {
    const destination = checkDestination(to);
    return ignorable(this.deliverFrom(from, destination, message, options));
  }

  /**
   * As BEAM's dist.c does: to a peer with DFLAG_ALTACT_SIG (OTP 28+), alias sends and priority sends go as
   * ALTACT_SIG_SEND; to older peers alias sends go as ALIAS_SEND, and a priority send is refused (see SendOptions).
   */
  private deliverFrom(from: Pid, destination: CheckedDestination, message: Encodable, options: SendOptions): Promise<void> {
    const priority = options.priority === true;
    try {
      let peer: string;
      if (destination.kind === "name") {
        peer = destination.node ?? this.name;
        if (peer === this.name) {
          const process = this.registered.get(destination.name);
          if (!process) throw new NodeError("not_registered", `no process is registered as '${destination.name}' on this node`);
          process.deliver(asReceived(message, this.terms));
          return RESOLVED;
        }
      } else {
        const to = destination.kind === "pid" ? destination.pid : destination.alias;
        peer = to.node.name;
        if (peer === this.name) {
          if (destination.kind === "alias") {
            const alias = this.aliases.get(refKey(destination.alias)); // an inactive alias: dropped, as in BEAM
            alias?.process.deliver(asReceived(message, this.terms), priority && alias.priority);
          } else {
            // Priority counts only through a priority alias: to a pid it is an ordinary message, as in BEAM.
            this.mailboxes.get(mailboxKey(destination.pid))?.deliver(asReceived(message, this.terms)); // a dead pid: dropped, as in BEAM
          }
          return RESOLVED;
        }
      }
      // Connected (the usual case): straight to the connection, so a held send keeps only its encoded frame.
      const connection = this.connections.get(peer);
      if (connection) return this.sendOn(connection, from, destination, message, priority);
      return this.connectionForSend(peer, message).then((made) => this.sendOn(made, from, destination, message, priority));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /**
   * Sends on `connection` as BEAM's dist.c does: to a peer with DFLAG_ALTACT_SIG (OTP 28+), alias sends and priority
   * sends go as ALTACT_SIG_SEND; to older peers alias sends go as ALIAS_SEND, and a priority send is refused with
   * NodeError `unsupported` (thrown; the caller makes it a rejection).
   */
  private sendOn(connection: DistConnection, from: Pid, destination: CheckedDestination, message: Encodable, priority: boolean): Promise<void> {
    const prio = priority ? ALTACT_FLAG.PRIO : 0;
    switch (destination.kind) {
      case "alias": {
        const to = destination.alias;
        if (this.altact(connection, priority, "a priority message")) {
          return this.sendControl(connection, "ALTACT_SIG_SEND", { flags: ALTACT_FLAG.ALIAS | prio, from, to }, message);
        }
        return this.sendControl(connection, "ALIAS_SEND", { from, alias: to }, message);
      }
      case "pid": {
        const to = destination.pid;
        if (priority && this.altact(connection, priority, "a priority message")) {
          return this.sendControl(connection, "ALTACT_SIG_SEND", { flags: prio, from, to }, message);
        }
        return this.sendControl(connection, "SEND_SENDER", { from, to }, message);
      }
      case "name": {
        const to = atom(destination.name);
        if (priority && this.altact(connection, priority, "a priority message")) {
          return this.sendControl(connection, "ALTACT_SIG_SEND", { flags: ALTACT_FLAG.NAME | prio, from, to }, message);
        }
        return this.sendControl(connection, "REG_SEND", { from, toName: to }, message);
      }
    }
  }

  /**
   * The connection a send to `peer` goes on. While it is being made, the message counts against maxQueuedBytes (by
   * its encoded size), as BEAM counts messages queued for a pending connection against its busy limit: sends that
   * do not wait cannot pile up without bound behind a connection attempt either.
   */
  private async connectionForSend(peer: string, message: Encodable): Promise<DistConnection> {
    const existing = this.connections.get(peer);
    if (existing) return existing;
    const size = encode(message, this.terms).length;
    const waiting = this.waitingForConnection.get(peer) ?? 0;
    const cap = this.options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (waiting > 0 && waiting + size > cap) {
      this.closedTotals.sendsRefused++;
      throw new DistError(
        "busy",
        `${waiting} bytes of sends wait for the connection to ${peer} to come up already (maxQueuedBytes ${cap}): ` +
          `await each send to be held back instead, or raise maxQueuedBytes`,
      );
    }
    this.waitingForConnection.set(peer, waiting + size);
    try {
      return await this.connection(peer);
    } finally {
      const left = (this.waitingForConnection.get(peer) ?? size) - size;
      if (left > 0) this.waitingForConnection.set(peer, left);
      else this.waitingForConnection.delete(peer);
    }
  }

  /** Bytes of sends waiting for a connection attempt, by peer (see connectionForSend). */
  private readonly waitingForConnection = new Map<string, number>();

  /**
   * Whether `connection`'s peer takes ALTACT_SIG_SEND (DFLAG_ALTACT_SIG, OTP 28+). When it does not and the signal
   * needs it (`required`), throws a NodeError `unsupported` that says so: sending it another way would silently
   * lose what makes it `what`.
   */
  private altact(connection: DistConnection, required: boolean, what: string, instead = "send it without the priority option"): boolean {
    if ((connection.flags & DFLAG.ALTACT_SIG) !== 0n) return true;
    if (!required) return false;
    throw new NodeError(
      "unsupported",
      `cannot send ${what} to ${connection.peerName}: it does not advertise DFLAG_ALTACT_SIG (OTP 28 and later do), ` +
        `so it cannot receive one; ${instead}, or upgrade that node to OTP 28+`,
    );
  }

  /** Control messages counted per connection, each way (see controlStats). */
  private readonly controlCounts = new WeakMap<DistConnection, ControlStats>();

  private countsOf(connection: DistConnection): ControlStats {
    let counts = this.controlCounts.get(connection);
    if (!counts) this.controlCounts.set(connection, (counts = { in: {}, out: {}, unknown: {} }));
    return counts;
  }

  /**
   * Builds a control message, counts it, and sends it (with its payload) on `connection` (see DistConnection.send;
   * `force` queues it even past maxQueuedBytes).
   */
  private sendControl(connection: DistConnection, kind: ControlKind, fields: Record<string, Encodable>, payload?: Encodable, force = false): Promise<void> {
    const control = makeControl(kind, fields);
    const counts = this.countsOf(connection).out;
    counts[kind] = (counts[kind] ?? 0) + 1;
    return connection.send(control, payload, force);
  }

  /**
   * Sends a signal this node sends by itself (exit signals of an exiting process, links, monitors, protocol
   * answers): queued even when the connection is busy (these are few and small, and BEAM never drops them), and
   * never throwing or rejecting. One that cannot go (the connection closed meanwhile, a reason that cannot be
   * encoded) is counted in stats().signalsFailed and reported by the `signalFailed` event.
   */
  private signal(connection: DistConnection, kind: ControlKind, fields: Record<string, Encodable>, payload?: Encodable): void {
    const failed = (error: unknown): void => {
      this.signalsFailed++;
      if (this.listenerCount("signalFailed") > 0) this.emit("signalFailed", connection.peerName, kind, error as Error);
    };
    try {
      this.sendControl(connection, kind, fields, payload, true).catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  private signalsFailed = 0;

  /**
   * The control messages exchanged with `peer` on its current connection, by kind, each way (undefined when not
   * connected): which messages that release uses, e.g. ALTACT_SIG_SEND (OTP 28+) or ALIAS_SEND for alias sends.
   */
  controlStats(peer: NodeName): ControlStats | undefined {
    const connection = this.connections.get(nodeNameOf(peer));
    if (!connection) return undefined;
    const counts = this.countsOf(connection);
    return { in: { ...counts.in }, out: { ...counts.out }, unknown: { ...counts.unknown } };
  }

  /**
   * A control message the node cannot act on: counted, and reported the first time its tag comes on this
   * connection (the event, else the console), so that a peer speaking a newer protocol is visible, not silent.
   */
  private unusableControl(connection: DistConnection, error: UnusableControlError): void {
    const unknown = this.countsOf(connection).unknown;
    const seen = unknown[error.tag] ?? 0;
    unknown[error.tag] = seen + 1;
    if (seen > 0) return;
    if (this.listenerCount("unknownControl") > 0) {
      this.emit("unknownControl", connection.peerName, error.tag, error);
    } else {
      console.warn(
        `erldist: ${connection.peerName} sent a control message this node cannot act on, and it was ignored ` +
          `(as BEAM ignores one): ${error.message}. Later ones with tag ${error.tag} on this connection are only ` +
          `counted (controlStats(peer).unknown); listen to the node's unknownControl event to handle them yourself.`,
      );
    }
  }

  /**
   * A gen_server in TypeScript: registers `name` so that BEAM code can `gen_server:call({Name, 'this@node'}, Req)`
   * and `gen_server:cast`. Requests are handled one at a time, in order, as a gen_server does; `call` may be async
   * and its value is the reply. A handler that throws does not take the server down: the caller gets
   * `{error, <<Message>>}` and the node emits `serverError`. Returns the server's process (exit() stops it).
   */
  serve(name: string, handlers: ServerHandlers): ErlProcess {
    const server = this.spawn();
    this.register(name, server);
    const run = async () => {
      for await (const message of server) {
        try {
          if (message instanceof Tuple && message.length === 3 && message.elements[0] === atom("$gen_call")) {
            const [, fromAndTag, request] = message.elements;
            const [from, tag] = (fromAndTag as Tuple).elements;
            let reply: Encodable;
            try {
              reply = handlers.call ? await handlers.call(request, from as Pid) : tuple(atom("error"), atom("no_call_handler"));
            } catch (err) {
              this.emit("serverError", name, err as Error);
              reply = tuple(atom("error"), String((err as Error)?.message ?? err));
            }
            // As gen:reply/2: an OTP 24+ caller's tag [alias | Alias] names where the reply goes, so that a reply
            // after the caller gave up is dropped instead of left in its mailbox.
            const replyTo = tag instanceof ImproperList && tag.elements.length === 1 && tag.elements[0] === atom("alias") && tag.tail instanceof Reference ? tag.tail : (from as Pid);
            await server.send(replyTo, tuple(tag as Encodable, reply)).catch(() => {});
          } else if (message instanceof Tuple && message.length === 2 && message.elements[0] === atom("$gen_cast")) {
            await handlers.cast?.(message.elements[1]);
          } else {
            await handlers.info?.(message);
          }
        } catch (err) {
          this.emit("serverError", name, err as Error);
        }
      }
    };
    void run();
    return server;
  }

  /** Starts a process: a pid BEAM can send to, with a mailbox to receive from. */
  spawn(): ErlProcess {
    if (this.stopped) throw new NodeError("stopped", "this node is stopped");
    const process = new ErlProcess(this.makePid(), this);
    this.mailboxes.set(mailboxKey(process.pid), process);
    return process;
  }

  /** Registers a process under a name, so that BEAM can send to `{Name, 'this@node'}`. */
  register(name: string, process: ErlProcess): void {
    if (!process.alive) throw new NodeError("exited", `process ${process.pid} has exited`);
    const holder = this.registered.get(name);
    if (holder && holder !== process) throw new NodeError("name_taken", `'${name}' is registered already (to ${holder.pid})`);
    this.registered.set(name, process);
  }

  /** Frees a registered name; true if it was registered. */
  unregister(name: string): boolean {
    return this.registered.delete(name);
  }

  /** The pid registered under `name` on this node, if any. */
  whereis(name: string): Pid | undefined {
    return this.registered.get(name)?.pid;
  }

  /**
   * @internal A process exited: forget its mailbox, names, aliases and monitors, then send exit signals to its
   * links and 'DOWN' to its watchers. The tables are freed first and every signal is sent by signal(), which
   * never throws: nothing a signal does can leave the process half torn down.
   */
  processExited(process: ErlProcess, reason: Encodable, links: Pid[]): void {
    this.mailboxes.delete(mailboxKey(process.pid));
    for (const [name, holder] of this.registered) if (holder === process) this.registered.delete(name);
    for (const [key, holder] of this.aliases) if (holder.process === process) this.aliases.delete(key);
    for (const monitor of [...this.monitors.values()]) if (monitor.process === process) this.demonitorFrom(process, monitor.ref);
    const watchers = this.watchers.get(process)?.values() ?? [];
    this.watchers.delete(process);
    for (const watcher of watchers) {
      const connection = this.connections.get(watcher.peer);
      if (!connection?.open) continue;
      const fields = { fromProc: watcher.toProc as Encodable, to: watcher.from, ref: watcher.ref };
      if ((connection.flags & DFLAG.EXIT_PAYLOAD) !== 0n) this.signal(connection, "PAYLOAD_MONITOR_P_EXIT", fields, reason);
      else this.signal(connection, "MONITOR_P_EXIT", { ...fields, reason });
    }
    for (const target of links) {
      if (target.node.name === this.name) {
        this.mailboxes.get(mailboxKey(target))?.exitSignal(process.pid, asReceived(reason, this.terms), true);
        continue;
      }
      const connection = this.connections.get(target.node.name);
      if (!connection?.open) continue;
      if ((connection.flags & DFLAG.EXIT_PAYLOAD) !== 0n) {
        this.signal(connection, "PAYLOAD_EXIT", { from: process.pid, to: target }, reason);
      } else {
        this.signal(connection, "EXIT", { from: process.pid, to: target, reason });
      }
    }
  }

  /** @internal Links a local process to `target` (see ErlProcess.link). */
  async linkFrom(process: ErlProcess, target: Pid): Promise<void> {
    if (target.node.name === this.name) {
      const other = this.mailboxes.get(mailboxKey(target));
      if (other) other.addLink(process.pid);
      else process.exitSignal(target, atom("noproc"), true);
      return;
    }
    let connection: DistConnection;
    try {
      connection = await this.connection(target.node.name);
    } catch {
      process.exitSignal(target, atom("noconnection"), true);
      return;
    }
    this.signal(connection, "LINK", { from: process.pid, to: target });
  }

  /**
   * @internal exit/2 (exit/3 with priority) from a local process (see ErlProcess.exitProcess). To an alias or with
   * priority it travels as ALTACT_SIG_SEND with the EXIT flag and the reason as payload, as OTP 28's dist.c sends
   * it; a peer without DFLAG_ALTACT_SIG cannot take that, so the call is refused with `unsupported` (BEAM drops an
   * exit to an alias on such a peer without a word).
   */
  async exitFrom(process: ErlProcess, target: Pid | Reference, reason: Encodable, options: ExitOptions = {}): Promise<void> {
    const priority = options.priority === true;
    const prio = priority ? ALTACT_FLAG.PRIO : 0;
    if (target instanceof Reference) {
      if (target.node.name === this.name) {
        const alias = this.aliases.get(refKey(target)); // an inactive alias: dropped, as in BEAM
        alias?.process.exitSignal(process.pid, asReceived(reason, this.terms), false, priority && alias.priority);
        return;
      }
      const connection = await this.connection(target.node.name);
      this.altact(connection, true, "an exit signal to an alias", "send it to the process's pid instead");
      await this.sendControl(connection, "ALTACT_SIG_SEND", { flags: ALTACT_FLAG.EXIT | ALTACT_FLAG.ALIAS | prio, from: process.pid, to: target }, reason);
      return;
    }
    if (target.node.name === this.name) {
      // Priority counts only through a priority alias: to a pid this is an ordinary exit signal, as in BEAM.
      this.mailboxes.get(mailboxKey(target))?.exitSignal(process.pid, asReceived(reason, this.terms), false);
      return;
    }
    const connection = await this.connection(target.node.name);
    if (priority && this.altact(connection, true, "a priority exit signal")) {
      await this.sendControl(connection, "ALTACT_SIG_SEND", { flags: ALTACT_FLAG.EXIT | prio, from: process.pid, to: target }, reason);
    } else if ((connection.flags & DFLAG.EXIT_PAYLOAD) !== 0n) {
      await this.sendControl(connection, "PAYLOAD_EXIT2", { from: process.pid, to: target }, reason);
    } else {
      await this.sendControl(connection, "EXIT2", { from: process.pid, to: target, reason });
    }
  }

  /** @internal Removes a link a local process holds (UNLINK_ID; the peer acknowledges). */
  unlinkFrom(process: ErlProcess, target: Pid): void {
    if (target.node.name === this.name) {
      this.mailboxes.get(mailboxKey(target))?.dropLink(process.pid);
      return;
    }
    const connection = this.connections.get(target.node.name);
    if (connection?.open) this.signal(connection, "UNLINK_ID", { id: this.nextUnlinkId++, from: process.pid, to: target });
  }

  private nextUnlinkId = 1;

  /** @internal Monitors a remote process for a local one (see ErlProcess.monitor). */
  async monitorFrom(process: ErlProcess, target: Pid | readonly [name: string | Atom, node: NodeName]): Promise<Reference> {
    const ref = this.makeRef();
    const checked = checkDestination(target);
    if (checked.kind === "alias" || (checked.kind === "name" && checked.node === undefined)) {
      throw new NodeError("bad_argument", "monitor takes a Pid or [name, node]");
    }
    const [toProc, peer, targetTerm]: [Encodable, string, Encodable] =
      checked.kind === "pid"
        ? [checked.pid, checked.pid.node.name, checked.pid]
        : [atom(checked.name), checked.node!, tuple(atom(checked.name), atom(checked.node!))];
    let connection: DistConnection;
    try {
      connection = await this.connection(peer);
    } catch {
      // As in Erlang: monitoring something on a node that cannot be reached fires at once with noconnection.
      process.deliver(down(ref, targetTerm, atom("noconnection"), this.terms));
      return ref;
    }
    this.monitors.set(refKey(ref), { process, target: targetTerm, toProc, peer, ref });
    this.signal(connection, "MONITOR_P", { from: process.pid, toProc, ref });
    return ref;
  }

  /** @internal Removes a monitor a local process holds. */
  demonitorFrom(process: ErlProcess, ref: Reference): void {
    const monitor = this.monitors.get(refKey(ref));
    if (!monitor || monitor.process !== process) return;
    this.monitors.delete(refKey(ref));
    const connection = this.connections.get(monitor.peer);
    if (connection?.open) this.signal(connection, "DEMONITOR_P", { from: process.pid, toProc: monitor.toProc, ref });
  }

  /**
   * gen_server:call: sends `{'$gen_call', {From, Tag}, Request}` to `dest` (a pid or `[name, node]`), monitors it,
   * and resolves with the reply. Rejects with a CallError: `timeout`, `noproc`, `noconnection`, or `exit` with the
   * server's exit reason.
   */
  async call(dest: Pid | readonly [name: string | Atom, node: NodeName], request: Encodable, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<Term> {
    const timeout = options.timeout ?? 5000;
    const caller = this.spawn();
    try {
      const mref = await caller.monitor(dest);
      // As OTP 24+ gen:call does: the tag [alias | Alias] makes the server reply to an alias of the caller
      // (ALIAS_SEND), so a reply arriving after a timeout is dropped instead of queued.
      const alias = caller.alias();
      const tag = improperList([atom("alias")], alias);
      await caller.send(dest, tuple(atom("$gen_call"), tuple(caller.pid, tag), request)).catch(pathFromRequest("{2}"));
      const isReply = (m: Term) => m instanceof Tuple && m.length === 2 && equals(m.elements[0], tag);
      const isDown = (m: Term) => m instanceof Tuple && m.length === 5 && m.elements[0] === atom("DOWN") && equals(m.elements[1], mref);
      let answer: Term;
      try {
        answer = await caller.receive((m) => isReply(m) || isDown(m), { timeout, signal: options.signal });
      } catch (err) {
        if (err instanceof NodeError && err.code === "timeout") {
          throw new CallError("timeout", `no reply from ${describe(dest)} within ${timeout} ms (timeout)`, undefined, { cause: err });
        }
        throw err;
      }
      const [, , , , reason] = (answer as Tuple).elements;
      if (isDown(answer)) {
        const code = reason === atom("noproc") ? "noproc" : reason === atom("noconnection") ? "noconnection" : "exit";
        const what = code === "exit" ? "exited during the call" : code === "noproc" ? "does not exist" : "is not reachable";
        throw new CallError(code, `${describe(dest)} ${what}: ${explainCallError({ code, reason })}`, reason);
      }
      caller.demonitor(mref);
      return (answer as Tuple).elements[1];
    } finally {
      caller.exit();
    }
  }

  /**
   * gen_server:cast: sends `{'$gen_cast', Request}` (connecting if needed); never waits for the server. The
   * contract of send: a bad destination throws at the call, and the promise may be ignored.
   */
  cast(dest: Pid | readonly [name: string | Atom, node: NodeName], request: Encodable): Promise<void> {
    return ignorable(this.send(dest, tuple(atom("$gen_cast"), request)).catch(pathFromRequest("{1}")));
  }

  /**
   * rpc:call: runs `module:fn(...args)` on `peer` through its rex server and resolves with the result. What the
   * call prints (io:format and friends) goes to `onOutput` as text. `{badrpc, Reason}` becomes a CallError
   * `badrpc` with that reason.
   */
  async rpc(
    peer: NodeName,
    module: string,
    fn: string,
    args: Encodable[],
    options: { timeout?: number; onOutput?: (text: string) => void } = {},
  ): Promise<Term> {
    peer = nodeNameOf(peer);
    const leader = this.groupLeader(peer, options.onOutput ?? (() => {}));
    try {
      const result = await this.call(["rex", peer], tuple(atom("call"), atom(module), atom(fn), args, leader.pid), {
        timeout: options.timeout ?? 30_000,
      }).catch(pathFromRequest("{3}"));
      if (result instanceof Tuple && result.length === 2 && result.elements[0] === atom("badrpc")) {
        const reason = result.elements[1];
        throw new CallError("badrpc", `rpc ${module}:${fn}/${args.length} on ${peer} failed: ${explainCallError({ code: "badrpc", reason })}`, reason);
      }
      return result;
    } finally {
      leader.exit();
    }
  }

  /**
   * erpc:call: runs `module:fn(...args)` on `peer` in a process spawned for it (SPAWN_REQUEST, as erpc does) and
   * resolves with the value. A remote exception becomes a CallError `exception` with `errorClass`, `reason` and
   * (for errors) `stacktrace`; a node that cannot be reached, `noconnection`; no result in time, `timeout`. What
   * the call prints goes to `onOutput`.
   */
  async erpc(
    peer: NodeName,
    module: string,
    fn: string,
    args: Encodable[],
    options: { timeout?: number; onOutput?: (text: string) => void } = {},
  ): Promise<Term> {
    peer = nodeNameOf(peer);
    const timeout = options.timeout ?? 30_000;
    const caller = this.spawn();
    const leader = this.groupLeader(peer, options.onOutput ?? (() => {}));
    const reqId = this.makeRef();
    const resultTag = this.makeRef();
    const key = refKey(reqId);
    try {
      let connection: DistConnection;
      try {
        connection = await this.connection(peer);
      } catch (err) {
        throw new CallError("noconnection", `erpc to ${peer}: the node cannot be reached (noconnection): ${(err as Error).message}`, atom("noconnection"), { cause: err });
      }
      // The spawned process is monitored with the request id as the reference, as erpc does.
      this.monitors.set(key, { process: caller, target: atom("undefined"), toProc: atom("undefined"), peer, ref: reqId });
      this.spawnRequests.set(key, caller);
      await this.sendControl(
        connection,
        "SPAWN_REQUEST",
        {
          reqId,
          from: caller.pid,
          groupLeader: leader.pid,
          mfa: tuple(atom("erpc"), atom("execute_call"), 4),
          optList: [atom("monitor")],
        },
        [resultTag, atom(module), atom(fn), args],
      ).catch(pathFromRequest("[3]"));
      const mine = (m: Term) => m instanceof Tuple && (m.elements[0] === atom("DOWN") || m.elements[0] === atom("spawn_reply")) && equals(m.elements[1], reqId);
      let answer: Tuple;
      try {
        answer = (await caller.receive(mine, { timeout })) as Tuple;
      } catch (err) {
        if (err instanceof NodeError && err.code === "timeout") throw new CallError("timeout", `erpc ${module}:${fn}/${args.length} on ${peer}: no result within ${timeout} ms (timeout)`, undefined, { cause: err });
        throw err;
      }
      if (answer.elements[0] === atom("spawn_reply")) {
        throw new CallError("notsup", `erpc ${module}:${fn}/${args.length}: ${peer} could not spawn the call: ${formatReason(answer.elements[3])}`, answer.elements[3]);
      }
      return erpcResult(answer.elements[4], resultTag, `${module}:${fn}/${args.length} on ${peer}`);
    } finally {
      this.monitors.delete(key);
      this.spawnRequests.delete(key);
      leader.exit();
      caller.exit();
    }
  }

  /** Active aliases of this node's processes, by reference, with whether each is a priority alias. */
  private readonly aliases = new Map<string, { process: ErlProcess; priority: boolean }>();

  /** @internal A new alias for a local process (see ErlProcess.alias). */
  aliasFor(process: ErlProcess, options: AliasOptions = {}): Reference {
    const alias = this.makeRef();
    this.aliases.set(refKey(alias), { process, priority: options.priority === true });
    return alias;
  }

  /** @internal Deactivates an alias of a local process. */
  unaliasFrom(process: ErlProcess, alias: Reference): boolean {
    const key = refKey(alias);
    if (this.aliases.get(key)?.process !== process) return false;
    return this.aliases.delete(key);
  }

  /** Processes waiting for the SPAWN_REPLY of their request, by request id. */
  private readonly spawnRequests = new Map<string, ErlProcess>();

  /** Like rpc, and also returns what the call printed. */
  async rpcWithOutput(peer: NodeName, module: string, fn: string, args: Encodable[], options: { timeout?: number } = {}): Promise<{ value: Term; output: string }> {
    let output = "";
    const value = await this.rpc(peer, module, fn, args, { ...options, onOutput: (text) => (output += text) });
    return { value, output };
  }

  /**
   * A group leader for remote calls: answers the Erlang I/O protocol, handing printed text to `onOutput`.
   * Formatting requests ({put_chars, Enc, Mod, Fun, Args}, what io:format sends) are formatted by the peer itself.
   */
  private groupLeader(peer: string, onOutput: (text: string) => void): ErlProcess {
    const leader = this.spawn();
    const serve = async () => {
      for await (const message of leader) {
        if (!(message instanceof Tuple) || message.length !== 4 || message.elements[0] !== atom("io_request")) continue;
        const [, from, replyAs, request] = message.elements;
        let reply: Encodable = atom("ok");
        try {
          const requests = request instanceof Tuple && request.elements[0] === atom("requests") ? (request.elements[1] as Term[]) : [request];
          for (const one of requests) await this.ioRequest(peer, one, onOutput);
        } catch {
          reply = tuple(atom("error"), atom("request"));
        }
        if (from instanceof Pid) await leader.send(from, tuple(atom("io_reply"), replyAs as Encodable, reply)).catch(() => {});
      }
    };
    void serve();
    return leader;
  }

  private async ioRequest(peer: string, request: Term, onOutput: (text: string) => void): Promise<void> {
    if (!(request instanceof Tuple) || request.elements[0] !== atom("put_chars")) throw new Error("unsupported io request");
    const fields = request.elements;
    // {put_chars, Encoding, ...} says how the characters are encoded; the old {put_chars, Chars} is latin-1 bytes.
    const encoding = fields.length === 2 || fields[1] === atom("latin1") ? "latin1" : "unicode";
    if (fields.length === 3) return onOutput(iolistToString(fields[2], encoding));
    if (fields.length === 2) return onOutput(iolistToString(fields[1], encoding));
    if (fields.length === 5) {
      const [, , mod, fun, args] = fields;
      const text = await this.rpc(peer, (mod as Atom).name, (fun as Atom).name, args as Encodable[]);
      return onOutput(iolistToString(text, encoding));
    }
    throw new Error("unsupported put_chars");
  }

  /**
   * Runs `hook` when the node stops, before its connections close (discovery loops and other services built on the
   * node use it). Returns a function that removes the hook.
   */
  onStop(hook: () => unknown): () => void {
    this.stopHooks.add(hook);
    return () => this.stopHooks.delete(hook);
  }

  /** Closes the connection to `peer`; true if there was one. */
  disconnect(peer: NodeName): boolean {
    const connection = this.connections.get(nodeNameOf(peer));
    if (!connection) return false;
    connection.close();
    return true;
  }

  /** As net_adm:ping/1: connects if needed and asks the peer's net_kernel; "pong" if it answers, else "pang". */
  async ping(peer: NodeName, options: { timeout?: number } = {}): Promise<PingResult> {
    peer = nodeNameOf(peer); // a malformed name is an error, not a pang
    try {
      const reply = await this.call(["net_kernel", peer], tuple(atom("is_auth"), atom(this.name)), { timeout: options.timeout ?? 7000 });
      return reply === atom("yes") ? "pong" : "pang";
    } catch {
      return "pang";
    }
  }

  /** A new pid of this node. */
  private makePid(): Pid {
    const id = this.nextPid++;
    return new Pid(atom(this.name), id & 0x7fff, id >>> 15, this.creation);
  }

  private makeRef(): Reference {
    const n = this.nextRef++;
    return new Reference(atom(this.name), this.creation, [n & 0x3ffff, Math.floor(n / 0x40000) >>> 0, randomInt(0, 0xffffffff)]);
  }

  /** Delivers an incoming control message: to a pid's mailbox, or to the services every node provides. */
  private route(connection: DistConnection, control: Term, payload: Term | undefined): void {
    let message: ControlMessage;
    try {
      message = parseControl(control, payload);
    } catch (err) {
      // A tuple with a tag: ignored and reported, as BEAM's dist.c ignores and logs an invalid message.
      if (err instanceof UnusableControlError) return this.unusableControl(connection, err);
      // Not a control message at all: the peer is at fault; only its connection closes.
      connection.close(err as DistError);
      return;
    }
    const counts = this.countsOf(connection).in;
    counts[message.kind] = (counts[message.kind] ?? 0) + 1;
    // Every *_TT kind (and ALTACT_SIG_SEND with the TOKEN flag) acts exactly as its untraced kind: the seq_trace
    // token is ignored, as this node runs no seq_trace (a trace ends at its boundary).
    switch (message.kind) {
      case "SEND":
      case "SEND_TT":
      case "SEND_SENDER":
      case "SEND_SENDER_TT": {
        const to = message.fields.to;
        if (to instanceof Pid && to.node.name === this.name) this.mailboxes.get(mailboxKey(to))?.deliver(message.payload!);
        return;
      }
      case "REG_SEND":
      case "REG_SEND_TT": {
        const { from, toName } = message.fields;
        if (!(toName instanceof Atom)) return;
        const process = this.registered.get(toName.name);
        if (process) process.deliver(message.payload!);
        else if (toName.name === "net_kernel" && from instanceof Pid) this.netKernel(connection, from, message.payload);
        return; // to a name nobody has: dropped, as BEAM drops it
      }
      case "MONITOR_P": {
        // A monitor of something this node does not run fires at once with noproc, as BEAM's would: a
        // gen_server:call to a missing name on this node then fails fast instead of waiting for its timeout.
        const { from, toProc, ref } = message.fields;
        const watched = toProc instanceof Atom ? this.registered.get(toProc.name) : this.localProcess(toProc);
        if (watched && from instanceof Pid && ref instanceof Reference) {
          const list = this.watchers.get(watched) ?? new Map();
          list.set(refKey(ref), { from, ref, toProc, peer: connection.peerName });
          this.watchers.set(watched, list);
          return;
        }
        if (!this.serves(toProc)) {
          this.signal(connection, "MONITOR_P_EXIT", { fromProc: toProc as Encodable, to: from as Encodable, ref: ref as Encodable, reason: atom("noproc") });
        }
        return;
      }
      case "DEMONITOR_P": {
        const { toProc, ref } = message.fields;
        const watched = toProc instanceof Atom ? this.registered.get(toProc.name) : this.localProcess(toProc);
        if (watched && ref instanceof Reference) this.watchers.get(watched)?.delete(refKey(ref));
        return;
      }
      case "MONITOR_P_EXIT":
      case "PAYLOAD_MONITOR_P_EXIT": {
        const { ref } = message.fields;
        const reason = message.kind === "MONITOR_P_EXIT" ? message.fields.reason : message.payload!;
        if (!(ref instanceof Reference)) return;
        const monitor = this.monitors.get(refKey(ref));
        if (!monitor) return;
        this.monitors.delete(refKey(ref));
        monitor.process.deliver(down(ref, monitor.target, reason, this.terms));
        return;
      }
      case "ALIAS_SEND":
      case "ALIAS_SEND_TT": {
        const { alias } = message.fields;
        if (alias instanceof Reference) this.aliases.get(refKey(alias))?.process.deliver(message.payload!); // inactive: dropped
        return;
      }
      case "ALTACT_SIG_SEND": {
        // OTP 28+: a message (or with EXIT, an exit signal whose reason is the payload) to an alias, a name or a
        // pid, as erl_proc_sig_queue.c handles it: to an inactive alias or a free name it is dropped, and it is
        // a priority one only when PRIO is set and it came through an active priority alias.
        const { flags, from, to } = message.fields as { flags: number; from: Pid; to: Term };
        let target: ErlProcess | undefined;
        let priorityAlias = false;
        if (to instanceof Reference) {
          const alias = this.aliases.get(refKey(to));
          target = alias?.process;
          priorityAlias = alias?.priority === true;
        } else if (to instanceof Atom) {
          target = this.registered.get(to.name);
          if (!target && to.name === "net_kernel" && (flags & ALTACT_FLAG.EXIT) === 0) this.netKernel(connection, from, message.payload);
        } else {
          target = this.localProcess(to);
        }
        const priority = priorityAlias && (flags & ALTACT_FLAG.PRIO) !== 0;
        if ((flags & ALTACT_FLAG.EXIT) !== 0) target?.exitSignal(from, message.payload!, false, priority);
        else target?.deliver(message.payload!, priority);
        return;
      }
      case "SPAWN_REPLY":
      case "SPAWN_REPLY_TT": {
        const { reqId, result } = message.fields;
        if (!(reqId instanceof Reference)) return;
        const waiting = this.spawnRequests.get(refKey(reqId));
        if (!waiting) return;
        if (result instanceof Pid) {
          const monitor = this.monitors.get(refKey(reqId));
          if (monitor) monitor.target = result;
        } else {
          this.monitors.delete(refKey(reqId));
          waiting.deliver(asReceived(tuple(atom("spawn_reply"), reqId, atom("error"), result as Encodable), this.terms));
        }
        return;
      }
      case "SPAWN_REQUEST":
      case "SPAWN_REQUEST_TT": {
        // This node runs no Erlang code: the caller gets a prompt error (erpc raises {erpc, notsup}), not silence.
        const { reqId, from } = message.fields;
        this.signal(connection, "SPAWN_REPLY", { reqId: reqId as Encodable, to: from as Encodable, flags: 0, result: atom("notsup") });
        return;
      }
      case "LINK": {
        const { from, to } = message.fields;
        const process = this.localProcess(to);
        if (process && from instanceof Pid) process.addLink(from);
        else if (!this.serves(to)) this.signal(connection, "EXIT", { from: to as Encodable, to: from as Encodable, reason: atom("noproc") });
        return;
      }
      case "UNLINK_ID": {
        const { id, from, to } = message.fields;
        // The acknowledgement goes first, before any other signal to the sender (OTP 26's rule).
        this.signal(connection, "UNLINK_ID_ACK", { id: id as Encodable, from: to as Encodable, to: from as Encodable });
        if (from instanceof Pid) this.localProcess(to)?.dropLink(from);
        return;
      }
      case "UNLINK": {
        const { from, to } = message.fields;
        if (from instanceof Pid) this.localProcess(to)?.dropLink(from);
        return;
      }
      case "EXIT":
      case "EXIT_TT":
      case "PAYLOAD_EXIT":
      case "PAYLOAD_EXIT_TT":
      case "EXIT2":
      case "EXIT2_TT":
      case "PAYLOAD_EXIT2":
      case "PAYLOAD_EXIT2_TT": {
        const { from, to } = message.fields;
        const reason = message.kind.startsWith("PAYLOAD_") ? message.payload! : this.asPayload(message.fields.reason);
        const linked = !message.kind.includes("EXIT2");
        if (from instanceof Pid) this.localProcess(to)?.exitSignal(from, reason, linked);
        return;
      }
      case "GROUP_LEADER":
        // BEAM's group_leader(GL, Pid) for an erldist pid: its processes do no I/O, so they need no group leader.
        return;
      case "UNLINK_ID_ACK":
        // The peer confirms an unlink; the link was dropped here when UNLINK_ID went out, so nothing is left to do.
        return;
      default: {
        // Every kind is handled above (tsc checks it): a kind added to the table must get a case.
        const unhandled: never = message.kind;
        return unhandled;
      }
    }
  }

  /** A term of a control tuple (decoded exactly, for routing) as payloads decode with the node's terms option. */
  private asPayload(term: Term): Term {
    return this.terms.binariesAsStrings || this.terms.nilAsNull ? asReceived(term, this.terms) : term;
  }

  /** The live local process `target` names (a pid of this node), if any. */
  private localProcess(target: Term): ErlProcess | undefined {
    return target instanceof Pid && target.node.name === this.name ? this.mailboxes.get(mailboxKey(target)) : undefined;
  }

  /** True when `target` (a registered name or a pid of this node) is something this node runs. */
  private serves(target: Term): boolean {
    if (target instanceof Atom) return target.name === "net_kernel" || this.registered.has(target.name);
    if (target instanceof Pid) return target.node.name === this.name && this.mailboxes.has(mailboxKey(target));
    return false;
  }

  /** What net_kernel answers: is_auth (ping) with yes; any other call with an error, never silence. */
  private netKernel(connection: DistConnection, from: Pid, message: Term | undefined): void {
    if (!(message instanceof Tuple) || message.length !== 3 || message.elements[0] !== atom("$gen_call")) return;
    const callerAndTag = message.elements[1];
    if (!(callerAndTag instanceof Tuple) || callerAndTag.length !== 2) return;
    const [caller, tag] = callerAndTag.elements;
    if (!(caller instanceof Pid)) return;
    const request = message.elements[2];
    const isAuth = request instanceof Tuple && request.elements[0] === atom("is_auth");
    const reply: Encodable = isAuth ? atom("yes") : tuple(atom("error"), atom("not_supported"));
    // Sent to the caller's pid: gen:call's receive matches {Tag, Reply} whether the tag is an alias or not.
    this.signal(connection, "SEND_SENDER", { from, to: caller }, tuple(tag as Encodable, reply));
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
    for (const { controller } of this.pending.values()) controller.abort();
    for (const process of [...this.mailboxes.values()]) process.exit("shutdown");
    await this.registration?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections.values()) connection.close();
    await closed;
  }
}
