// The node's options, the events it emits, and what it reports about itself and its connections.
import type { ControlKind, DistConnection, DistError, TlsOptions, UnusableControlError } from "../dist/index.js";
import type { EpmdError } from "../epmd/index.js";
import type { TermOptions } from "../etf/index.js";
import type { NodeError } from "./errors.js";

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

export interface NodeEvents {
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
