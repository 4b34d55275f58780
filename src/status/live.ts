// The live page's channel: WebSocket clients at /live get the current status document when they connect, then a
// fresh one after every change (at most one per `minIntervalMs`, the last change always included) and every
// `periodMs` regardless. Clients that stop answering pings, or that cannot keep up, are dropped.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket } from "ws";
import type { StatusDocument } from "./document.js";

export interface LiveOptions {
  /** Shortest time between two pushes caused by changes (default 200 ms). */
  minIntervalMs?: number;
  /** A push at least this often, changes or not (default 2000 ms). */
  periodMs?: number;
  /** Ping period; a client that did not answer the previous ping is dropped (default 15000 ms). */
  pingMs?: number;
}

/** Bytes a client may have waiting in its send buffer before pushes to it are skipped. */
const MAX_BUFFERED = 4 * 1024 * 1024;

export class LiveChannel {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  private readonly alive = new WeakSet<WebSocket>();
  private readonly minIntervalMs: number;
  private lastPush = 0;
  private pending: NodeJS.Timeout | undefined;
  private readonly periodic: NodeJS.Timeout;
  private readonly pinger: NodeJS.Timeout;
  private closed = false;

  /**
   * `document` makes the document to push; `onPush` hears every push (with the document) and `onClients` every
   * change in the number of clients. `wanted` says whether a push is worth making when no client is connected.
   */
  constructor(
    private readonly document: () => StatusDocument,
    private readonly hooks: { onPush(doc: StatusDocument): void; onClients(count: number): void; wanted(): boolean },
    options: LiveOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 200;
    this.periodic = setInterval(() => this.push(), options.periodMs ?? 2000);
    this.pinger = setInterval(() => this.ping(), options.pingMs ?? 15_000);
    this.periodic.unref();
    this.pinger.unref();
  }

  /** Connected clients. */
  get clients(): number {
    return this.wss.clients.size;
  }

  /** Takes over an HTTP upgrade request to /live. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (client) => this.welcome(client));
  }

  /** Something changed: push soon, at most once per minIntervalMs. */
  changed(): void {
    if (this.closed || this.pending) return;
    const wait = Math.max(0, this.lastPush + this.minIntervalMs - Date.now());
    this.pending = setTimeout(() => this.push(), wait);
    this.pending.unref();
  }

  /** Pushes a fresh document to every client now. */
  push(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    if (this.closed || (this.wss.clients.size === 0 && !this.hooks.wanted())) return;
    this.lastPush = Date.now();
    const doc = this.document();
    const message = JSON.stringify({ type: "status", status: doc });
    for (const client of this.wss.clients) {
      if (client.readyState === WebSocket.OPEN && client.bufferedAmount < MAX_BUFFERED) client.send(message);
    }
    this.hooks.onPush(doc);
  }

  /** Closes every client (1001, going away; dropped if it does not finish the close handshake in time) and the timers. */
  async close(graceMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pending);
    clearInterval(this.periodic);
    clearInterval(this.pinger);
    const clients = [...this.wss.clients];
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => client.terminate(), graceMs);
            client.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
            client.close(1001, "status server closing");
          }),
      ),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private welcome(client: WebSocket): void {
    this.alive.add(client);
    client.on("pong", () => this.alive.add(client));
    client.on("error", () => client.terminate());
    client.on("message", () => undefined); // the page sends nothing that matters
    client.on("close", () => this.hooks.onClients(this.wss.clients.size));
    this.hooks.onClients(this.wss.clients.size);
    if (this.closed) return;
    client.send(JSON.stringify({ type: "status", status: this.document() }));
  }

  private ping(): void {
    for (const client of this.wss.clients) {
      if (!this.alive.has(client)) {
        client.terminate();
        continue;
      }
      this.alive.delete(client);
      client.ping();
    }
  }
}
