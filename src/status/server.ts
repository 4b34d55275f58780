// The status server: one HTTP server for the live page (/), its WebSocket (/live), the status document as JSON
// (/status), Prometheus metrics (/metrics), a liveness probe (/healthz: the node runs) and a readiness probe
// (/readyz: the node joined what discovery found and is not shutting down, see readiness.ts), over a node, its
// discovery loops, and the pg scopes and PubSub clients in use on it. It only reads the node's public API; the
// cookie is not on it.
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Discovery } from "../discovery/index.js";
import { scopesOf, type PgScope } from "../groups/index.js";
import type { Node } from "../node/index.js";
import type { StatusDocument } from "./document.js";
import { StatusError } from "./errors.js";
import { groupsStatus } from "./groups.js";
import { LiveChannel } from "./live.js";
import { StatusMetrics, type WatchedLoop } from "./metrics.js";
import { OtpReleases } from "./otp-release.js";
import { pagePolicy, renderPage } from "./page.js";
import { decideReadiness, type Readiness } from "./readiness.js";

export interface StatusServerOptions {
  node: Node;
  /** Discovery loops to show; more can be added later with addDiscovery(). */
  discoveries?: Discovery[];
  /** Default 8080; 0 = any free port. */
  port?: number;
  /** Default "0.0.0.0" (every IPv4 interface). */
  host?: string;
}

export interface StatusServerEvents {
  /** A fresh document was pushed to the live clients (after changes, at most every 200 ms, and every 2 s). */
  update: [document: StatusDocument];
  /** A live client connected or went away; `count` is how many are connected now. */
  clients: [count: number];
}

const DISCOVERY_EVENTS = ["lookup", "lookupFailed", "discovered", "connected", "connectFailed", "pruned", "refresh"] as const;
const SCOPE_EVENTS = ["join", "leave", "synced", "missing"] as const;

/** The URL clients on this machine reach a server listening on host:port by. */
function urlFor(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}/`;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
      reject(
        err.code === "EADDRINUSE"
          ? new StatusError("port_in_use", `cannot serve the status page on ${where}: the port is already in use; pick another port (0 = any free port)`, { cause: err })
          : new StatusError("listen_failed", `cannot serve the status page on ${where}: ${err.message}`, { cause: err }),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

type Route = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export class StatusServer extends EventEmitter<StatusServerEvents> {
  /** Where the page is, e.g. "http://127.0.0.1:8080/" (127.0.0.1 when listening on every interface). */
  readonly url: string;
  /** The port the server listens on (the one picked when port 0 was asked for). */
  readonly port: number;
  private readonly node: Node;
  private readonly http: Server;
  private readonly loops: Array<WatchedLoop & { detach: () => void }> = [];
  private readonly releases: OtpReleases;
  private readonly metrics: StatusMetrics;
  private readonly live: LiveChannel;
  private readonly routes: Record<string, Route>;
  private readonly distributionPort: number;
  private closing: Promise<void> | undefined;
  private drained = false;
  private readonly detachNode: () => void;
  /** The pg scopes whose membership changes push a document, with what stops listening to each. */
  private readonly scopes = new Map<PgScope, () => void>();

  private constructor(options: StatusServerOptions, http: Server, host: string) {
    super();
    this.node = options.node;
    this.http = http;
    this.port = (http.address() as AddressInfo).port;
    this.url = urlFor(host, this.port);
    let distributionPort = 0;
    try {
      distributionPort = this.node.port;
    } catch {
      // the node's listener is already closed
    }
    this.distributionPort = distributionPort;
    this.releases = new OtpReleases(this.node, () => this.live.changed());
    this.metrics = new StatusMetrics(this.node, () => this.loops);
    this.live = new LiveChannel(() => this.status(), {
      onPush: (doc) => this.emit("update", doc),
      onClients: (count) => this.emit("clients", count),
      wanted: () => this.listenerCount("update") > 0,
    });

    const onNodeUp = (): void => {
      this.releases.askNew();
      this.live.changed();
    };
    const onNodeDown = (name: string): void => {
      this.releases.forget(name);
      this.live.changed();
    };
    // A connection that becomes busy or drains is news too (BEAM's busy_dist_port monitor, on the page).
    const onBusyChange = (): void => this.live.changed();
    this.node.on("nodeup", onNodeUp);
    this.node.on("nodedown", onNodeDown);
    this.node.on("busy", onBusyChange);
    this.node.on("drain", onBusyChange);
    const removeStopHook = this.node.onStop(() => this.live.changed());
    this.detachNode = () => {
      this.node.off("nodeup", onNodeUp);
      this.node.off("nodedown", onNodeDown);
      this.node.off("busy", onBusyChange);
      this.node.off("drain", onBusyChange);
      removeStopHook();
    };
    this.releases.askNew();
    for (const discovery of options.discoveries ?? []) this.addDiscovery(discovery);

    this.routes = {
      "/": (_request, response) => {
        const nonce = randomBytes(16).toString("base64");
        this.send(response, 200, "text/html; charset=utf-8", renderPage(this.status(), nonce), { "Content-Security-Policy": pagePolicy(nonce) });
      },
      "/status": (_request, response) => this.send(response, 200, "application/json; charset=utf-8", `${JSON.stringify(this.status(), null, 2)}\n`),
      "/metrics": async (_request, response) => {
        const { contentType, body } = await this.metrics.scrape();
        this.send(response, 200, contentType, body);
      },
      "/healthz": (_request, response) => {
        if (this.node.running) this.send(response, 200, "text/plain; charset=utf-8", "ok");
        else this.send(response, 503, "text/plain; charset=utf-8", "node stopped");
      },
      "/readyz": (_request, response) => {
        const readiness = this.readiness();
        this.send(response, readiness.ready ? 200 : 503, "text/plain; charset=utf-8", readiness.message);
      },
      "/live": (_request, response) => this.send(response, 426, "text/plain; charset=utf-8", "a WebSocket endpoint: connect with Upgrade: websocket", { Upgrade: "websocket" }),
    };
    http.on("request", (request, response) => void this.handle(request, response));
    http.on("upgrade", (request, socket, head) => {
      if (this.path(request) === "/live") return this.live.upgrade(request, socket, head);
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    http.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
    });
  }

  /**
   * Starts serving. Rejects with a StatusError: `port_in_use` when the port is taken, `listen_failed` for any other
   * reason the server cannot listen (a privileged port, an address this machine does not have...).
   */
  static async start(options: StatusServerOptions): Promise<StatusServer> {
    const port = options.port ?? 8080;
    const host = options.host ?? "0.0.0.0";
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new StatusError("listen_failed", `the status server's port must be an integer from 0 to 65535, not ${port}`);
    }
    const http = createServer();
    await listen(http, port, host);
    return new StatusServer(options, http, host);
  }

  /** Shows (and counts in the metrics) one more discovery loop; adding the same loop twice has no effect. */
  addDiscovery(discovery: Discovery): void {
    if (this.closing || this.loops.some((loop) => loop.discovery === discovery)) return;
    const id = this.loops.length;
    const onEvent = (): void => this.live.changed();
    for (const event of DISCOVERY_EVENTS) discovery.on(event, onEvent);
    const stopCounting = this.metrics.watch({ id, discovery });
    const detach = (): void => {
      for (const event of DISCOVERY_EVENTS) discovery.off(event, onEvent);
      stopCounting();
    };
    this.loops.push({ id, discovery, detach });
    this.live.changed();
  }

  /**
   * Begins shutdown as far as probes go: from now on GET /readyz answers 503 ("not ready: shutting down"), as an OTP
   * application's prep_stop turns readiness off before it stops; the rest is served as before. close() implies it.
   */
  drain(): void {
    if (this.drained) return;
    this.drained = true;
    this.live.changed();
  }

  /** Whether drain() (or close()) was called. */
  get draining(): boolean {
    return this.drained;
  }

  /** The readiness decision GET /readyz answers with (and the document's `readiness`). */
  readiness(): Readiness {
    return decideReadiness({ running: this.node.running, draining: this.drained, discoveries: this.discoveries() });
  }

  private discoveries(): StatusDocument["discoveries"] {
    return this.loops.map(({ id, discovery }) => ({ id, ...discovery.snapshot() }));
  }

  /** The status document, as GET /status returns it. */
  status(): StatusDocument {
    const now = Date.now();
    const node = this.node;
    this.watchScopes();
    const discoveries = this.discoveries();
    return {
      generatedAt: now,
      node: {
        name: node.name,
        hidden: node.hidden,
        creation: node.creation,
        port: this.distributionPort,
        startedAt: node.startedAt,
        uptimeMs: now - node.startedAt,
        running: this.node.running,
        stats: node.stats(),
      },
      peers: node
        .peers()
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((peer) => ({ ...peer, otpRelease: this.releases.get(peer.name, peer.since) })),
      discoveries,
      readiness: decideReadiness({ running: node.running, draining: this.drained, discoveries }),
      ...groupsStatus(node),
    };
  }

  /**
   * Scopes are made on first use, maybe after this server started, so each document looks for new ones: from then
   * on their joins and leaves push a document at once (PubSub counts change with every message, and go out with the
   * periodic push instead). Scopes that stopped are let go.
   */
  private watchScopes(): void {
    if (this.closing) return;
    const current = new Set(scopesOf(this.node));
    for (const [scope, detach] of this.scopes) {
      if (current.has(scope)) continue;
      detach();
      this.scopes.delete(scope);
    }
    for (const scope of current) {
      if (this.scopes.has(scope)) continue;
      const onChange = (): void => this.live.changed();
      for (const event of SCOPE_EVENTS) scope.on(event, onChange);
      this.scopes.set(scope, () => {
        for (const event of SCOPE_EVENTS) scope.off(event, onChange);
      });
    }
  }

  /** Closes the HTTP server, every WebSocket and every timer, and stops listening to the node and the loops. */
  close(): Promise<void> {
    this.drained = true;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.detachNode();
    for (const loop of this.loops) loop.detach();
    for (const detach of this.scopes.values()) detach();
    this.scopes.clear();
    this.releases.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.live.close();
    this.http.closeAllConnections();
    await closed;
    this.metrics.close();
  }

  private path(request: IncomingMessage): string | undefined {
    try {
      return new URL(request.url ?? "/", "http://status.invalid").pathname;
    } catch {
      return undefined;
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = this.path(request);
    const route = path === undefined ? undefined : Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
    if (!route) return this.send(response, 404, "text/plain; charset=utf-8", "not found: the status server serves /, /status, /metrics, /healthz, /readyz and /live");
    if (request.method !== "GET" && request.method !== "HEAD") {
      return this.send(response, 405, "text/plain; charset=utf-8", "method not allowed: only GET (and HEAD)", { Allow: "GET, HEAD" });
    }
    try {
      await route(request, response);
    } catch (err) {
      if (!response.headersSent) this.send(response, 500, "text/plain; charset=utf-8", `status server error: ${(err as Error).message}`);
      else response.destroy();
    }
  }

  private send(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
    const bytes = Buffer.from(body, "utf8");
    response.writeHead(status, {
      "Content-Type": contentType,
      "Content-Length": bytes.length,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      ...headers,
    });
    response.end(bytes);
  }
}
