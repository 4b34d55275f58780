// epmd client: register this node (ALIVE2, the socket held for the node's lifetime), look up a node's port
// (PORT_PLEASE2) and list names (NAMES), as OTP's erl_epmd does.
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { withDeadline, type Expiry } from "../common/deadline.js";
import { EpmdError } from "./errors.js";
import { epmdPortFromEnv } from "./port.js";
import {
  NAMES_REQ,
  NODE_TYPE_NORMAL,
  alive2Request,
  frameRequest,
  parseAlive2Response,
  parseNamesResponse,
  parsePort2Response,
  portPlease2Request,
  type NameEntry,
  type NodeRegistration,
} from "./protocol.js";

// The name the port reader had before it moved to port.ts, kept for existing callers.
export { epmdPortFromEnv as defaultEpmdPort } from "./port.js";

/** Where epmd is, and how long to wait for it. */
export interface EpmdOptions {
  /** Host of the epmd to ask (default 127.0.0.1). */
  host?: string;
  /** Its port (default: ERL_EPMD_PORT, then 4369). */
  port?: number;
  /** Milliseconds to wait for a complete answer (default 5000). */
  timeout?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT = 5000;

function target(options: EpmdOptions): { host: string; port: number; where: string } {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? epmdPortFromEnv();
  return { host, port, where: `${host.includes(":") ? `[${host}]` : host}:${port}` };
}

/**
 * Runs one request under its deadline (the options' timeout and signal, until `read` has the answer): connects to
 * epmd, sends the request and lets `read` take the answer from the socket. Every failure is an EpmdError that says
 * what to do, and destroys the socket; once `read` resolves, the socket is the caller's (or closed).
 */
function request<T>(body: Buffer, options: EpmdOptions, read: (socket: Socket, where: string) => Promise<T>): Promise<T> {
  const { host, port, where } = target(options);
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const expired = (expiry: Expiry): EpmdError =>
    expiry.why === "timeout"
      ? new EpmdError("timeout", `epmd at ${where} did not answer within ${timeout} ms`)
      : new EpmdError("aborted", `epmd request to ${where} aborted`, { cause: expiry.reason });
  return withDeadline({ timeout, signal: options.signal }, expired, (signal) => {
    const socket = connect({ host, port });
    return new Promise<T>((resolve, reject) => {
      let connected = false;
      const onAbort = (): void => void socket.destroy(); // the deadline has rejected already
      const fail = (error: Error): void => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        reject(error);
      };
      const onError = (err: NodeJS.ErrnoException): void =>
        fail(
          connected
            ? new EpmdError("protocol", `the connection to epmd at ${where} failed: ${err.message}`, { cause: err })
            : new EpmdError(
                "unreachable",
                `epmd is not reachable at ${where} (${err.code ?? err.message}). Start it with 'epmd -daemon' ` +
                  "(any distributed erl also starts it), point erldist at the right one (host/port, ERL_EPMD_PORT), " +
                  "or run without epmd (epmd: false) with fixed ports.",
                { cause: err },
              ),
        );
      signal.addEventListener("abort", onAbort, { once: true });
      socket.on("error", onError);
      socket.once("connect", () => {
        connected = true;
        socket.write(frameRequest(body));
        read(socket, where).then((answer) => {
          signal.removeEventListener("abort", onAbort);
          socket.off("error", onError); // a kept socket (a registration) listens for its own errors
          resolve(answer);
        }, fail);
      });
    });
  });
}

/** Sends a request whose answer epmd ends by closing the connection; resolves with the whole answer. */
function exchange(body: Buffer, options: EpmdOptions): Promise<{ data: Buffer; where: string }> {
  return request(
    body,
    options,
    (socket, where) =>
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => chunks.push(chunk));
        socket.once("close", () => resolve({ data: Buffer.concat(chunks), where }));
      }),
  );
}

/**
 * Asks epmd for a node's distribution port (PORT_PLEASE2). `name` is the part before '@'. Resolves with the
 * registration, or undefined when no node of that name is registered there.
 */
export async function lookupNode(name: string, options: EpmdOptions = {}): Promise<NodeRegistration | undefined> {
  const { data, where } = await exchange(portPlease2Request(name), options);
  if (data.length === 0) throw new EpmdError("protocol", `epmd at ${where} closed the connection without answering PORT_PLEASE2_REQ`);
  return parsePort2Response(data);
}

/** Lists the nodes registered with epmd (NAMES), as `epmd -names` and net_adm:names/1 show them. */
export async function listNames(options: EpmdOptions = {}): Promise<{ epmdPort: number; names: NameEntry[] }> {
  const { data } = await exchange(Buffer.from([NAMES_REQ]), options);
  return parseNamesResponse(data);
}

/** What to register (ALIVE2). */
export interface RegisterOptions extends EpmdOptions {
  /** The node's local name (before '@'). */
  name: string;
  /** The distribution listen port. */
  listenPort: number;
  /** Node type byte (default 77, which OTP registers for hidden nodes too: hiddenness is a handshake flag). */
  nodeType?: number;
  extra?: Buffer;
}

/**
 * A node's registration with epmd. It lasts as long as the connection: `close()` unregisters; if epmd goes away,
 * the registration emits `lost` (with the reason) and the node is no longer findable by name.
 */
export class EpmdRegistration extends EventEmitter<{ lost: [error: EpmdError] }> {
  private closing = false;

  constructor(
    /** The registered local name. */
    readonly name: string,
    /** The creation epmd gave this incarnation of the node (goes into every pid, reference and port it makes). */
    readonly creation: number,
    /** Where the epmd is. */
    readonly where: string,
    private readonly socket: Socket,
  ) {
    super();
    socket.on("data", () => {}); // epmd sends nothing more; keep the socket flowing
    socket.once("close", () => {
      if (!this.closing) {
        this.emit("lost", new EpmdError("unreachable", `epmd at ${where} closed the registration of '${name}' (did epmd stop?)`));
      }
    });
    socket.on("error", () => {}); // reported through close
    socket.unref(); // an idle registration must not keep the process alive on its own
  }

  /** True while the registration holds. */
  get active(): boolean {
    return !this.closing && !this.socket.destroyed;
  }

  /** Unregisters (closes the connection) and resolves once it is closed. */
  close(): Promise<void> {
    this.closing = true;
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
      this.socket.destroySoon?.();
    });
  }
}

/**
 * Registers a node with epmd (ALIVE2_REQ, distribution versions 6 to 6) and keeps the connection open, as the
 * registration lasts only as long as it. Rejects with EpmdError `name_taken` when the name is registered already.
 */
export async function registerNode(options: RegisterOptions): Promise<EpmdRegistration> {
  const body = alive2Request({
    name: options.name,
    port: options.listenPort,
    nodeType: options.nodeType ?? NODE_TYPE_NORMAL,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 6,
    extra: options.extra,
  });
  return request(
    body,
    options,
    (socket, where) =>
      new Promise<EpmdRegistration>((resolve, reject) => {
        let received: Buffer = Buffer.alloc(0);
        const finish = (): void => {
          socket.off("data", onData);
          socket.off("close", onClose);
        };
        const onData = (chunk: Buffer): void => {
          received = Buffer.concat([received, chunk]);
          let answer;
          try {
            answer = parseAlive2Response(received);
          } catch (err) {
            finish();
            reject(err);
            return;
          }
          if (answer === undefined) return;
          finish();
          if (answer.result !== 0) {
            reject(
              new EpmdError(
                "name_taken",
                `epmd at ${where} refused to register '${options.name}' (result ${answer.result}): a node with that ` +
                  "name is registered there already. Choose another name, or stop the other node.",
              ),
            );
            return;
          }
          resolve(new EpmdRegistration(options.name, answer.creation, where, socket));
        };
        const onClose = (): void => {
          finish();
          reject(new EpmdError("protocol", `epmd at ${where} closed the connection without answering ALIVE2_REQ`));
        };
        socket.on("data", onData);
        socket.once("close", onClose);
      }),
  );
}
