// A built-in epmd: real erl nodes register with it (ALIVE2) and find each other through it (PORT_PLEASE2), and
// `epmd -names` lists them (NAMES). A registration lasts as long as its connection. Garbage on the port closes
// only the connection that sent it.
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { randomInt } from "node:crypto";
import { epmdPortFromEnv } from "./port.js";
import {
  ALIVE2_REQ,
  ALIVE2_RESP,
  ALIVE2_X_RESP,
  DUMP_REQ,
  KILL_REQ,
  NAMES_REQ,
  PORT2_RESP,
  PORT_PLEASE2_REQ,
  STOP_REQ,
  namesResponse,
  parseAlive2Request,
  port2Response,
  type NodeRegistration,
} from "./protocol.js";

export interface EpmdServerOptions {
  /** Port to listen on (default: ERL_EPMD_PORT, then 4369; 0 = any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1; "0.0.0.0" or "::" for every interface). */
  host?: string;
  /** Milliseconds a connection may take to send its request (default 10 s). */
  requestTimeout?: number;
}

interface ServerEvents {
  registered: [registration: NodeRegistration & { creation: number }];
  unregistered: [name: string];
  /** A connection sent something that is not an epmd request; it was closed. */
  badRequest: [reason: string];
}

/** The largest request epmd accepts (its own limit is about this size too). */
const MAX_REQUEST = 1024;

export class EpmdServer extends EventEmitter<ServerEvents> {
  private readonly server: Server;
  private readonly nodes = new Map<string, { registration: NodeRegistration; socket: Socket; creation: number }>();
  private readonly sockets = new Set<Socket>();
  private nextCreation = randomInt(1, 0x7fffffff);

  private constructor(private readonly requestTimeout: number) {
    super();
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Starts an epmd server and resolves once it listens. */
  static async start(options: EpmdServerOptions = {}): Promise<EpmdServer> {
    const server = new EpmdServer(options.requestTimeout ?? 10_000);
    const port = options.port ?? epmdPortFromEnv();
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", reject);
      server.server.listen(port, options.host ?? "127.0.0.1", () => {
        server.server.off("error", reject);
        resolve();
      });
    });
    return server;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The registered nodes, as NAMES lists them. */
  names(): Array<{ name: string; port: number }> {
    return [...this.nodes.values()].map(({ registration }) => ({ name: registration.name, port: registration.port }));
  }

  /** Stops listening and closes every connection (which unregisters every node). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => {}); // a peer resetting the connection is its own business
    socket.setTimeout(this.requestTimeout, () => socket.destroy());
    let received: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (length === 0 || length > MAX_REQUEST) return this.reject(socket, `request length ${length}`);
      if (received.length < 2 + length) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      this.handle(socket, received.subarray(2, 2 + length));
    };
    socket.on("data", onData);
  }

  private reject(socket: Socket, reason: string): void {
    this.emit("badRequest", reason);
    socket.destroy();
  }

  private handle(socket: Socket, request: Buffer): void {
    switch (request[0]) {
      case ALIVE2_REQ:
        return this.register(socket, request);
      case PORT_PLEASE2_REQ: {
        const found = this.nodes.get(request.toString("utf8", 1));
        socket.end(found ? port2Response(found.registration) : Buffer.from([PORT2_RESP, 1]));
        return;
      }
      case NAMES_REQ:
        socket.end(namesResponse(this.port, this.names()));
        return;
      case DUMP_REQ:
        socket.end(namesResponse(this.port, []));
        return;
      case KILL_REQ:
      case STOP_REQ:
        // Real epmd refuses these unless started with -relaxed_command_check; so does this one.
        socket.end(Buffer.from("NO"));
        return;
      default:
        return this.reject(socket, `unknown request tag ${request[0]}`);
    }
  }

  private register(socket: Socket, request: Buffer): void {
    let registration: NodeRegistration;
    try {
      registration = parseAlive2Request(request);
    } catch (err) {
      return this.reject(socket, (err as Error).message);
    }
    if (this.nodes.has(registration.name) || registration.name === "") {
      socket.end(Buffer.from([ALIVE2_X_RESP, 1]));
      return;
    }
    const creation = this.nextCreation;
    this.nextCreation = (this.nextCreation % 0x7fffffff) + 1; // never 0: creation 0 is reserved
    this.nodes.set(registration.name, { registration, socket, creation });
    socket.once("close", () => {
      if (this.nodes.get(registration.name)?.socket === socket) {
        this.nodes.delete(registration.name);
        this.emit("unregistered", registration.name);
      }
    });
    socket.on("data", () => {}); // nothing more is expected; ignore it rather than stall the connection
    let answer: Buffer;
    if (registration.highestVersion >= 6) {
      answer = Buffer.alloc(6);
      answer[0] = ALIVE2_X_RESP;
      answer.writeUInt32BE(creation, 2);
    } else {
      // A node older than OTP 23 expects ALIVE2_RESP with a 16-bit creation.
      answer = Buffer.alloc(4);
      answer[0] = ALIVE2_RESP;
      answer.writeUInt16BE(creation & 0xffff || 1, 2);
    }
    socket.write(answer);
    this.emit("registered", { ...registration, creation });
  }
}
