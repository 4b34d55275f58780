// The connection table on its own, two of them on loopback (no epmd: each dials the other's port): one entry per
// peer, the simultaneous-connect rule, the cap on sends waiting for a connection, and the totals. (Against real
// erl, the same rules are proven in node.test.ts: "connection races and epmd-less peers".)
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DistError, ERLDIST_FLAGS, tcpTransport, type DistConnection } from "../../src/dist/index.js";
import { NodeError } from "../../src/node/errors.js";
import { ConnectionTable } from "../../src/node/connection-table.js";
import { rejectionOf } from "../support/rejection.js";

const COOKIE = "table-test-cookie";
const open: Array<{ table: ConnectionTable; server: Server }> = [];

interface Side {
  name: string;
  table: ConnectionTable;
  ups: string[];
  downs: string[];
  port: number;
}

/** A table listening on loopback; `peerPort` is where the other side listens. */
async function side(name: string, peerPort: () => number, maxQueuedBytes?: number): Promise<Side> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const ups: string[] = [];
  const downs: string[] = [];
  const table = new ConnectionTable(
    name,
    {
      identity: () => ({ name, cookie: COOKIE, creation: 1, flags: ERLDIST_FLAGS }),
      transport: tcpTransport,
      epmd: false,
      peerPort,
      connectTimeout: 3000,
      connection: { maxQueuedBytes },
    },
    { up: (c) => ups.push(c.peerName), down: (peer) => downs.push(peer), acceptFailed: () => undefined },
  );
  server.on("connection", (socket: Socket) => table.accept(socket));
  open.push({ table, server });
  return { name, table, ups, downs, port: (server.address() as { port: number }).port };
}

async function pair(): Promise<[Side, Side]> {
  let bPort = 0;
  const a = await side("a@127.0.0.1", () => bPort);
  const b = await side("b@127.0.0.1", () => a.port);
  bPort = b.port;
  return [a, b];
}

afterEach(async () => {
  for (const { table, server } of open.splice(0)) {
    table.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe("the connection table", () => {
  it("connects once per peer: callers at the same time share the attempt, and both sides list the connection", async () => {
    const [a, b] = await pair();
    const [one, two] = await Promise.all([a.table.connect(b.name), a.table.connect(b.name)]);
    expect(one).toBe(two);
    expect(a.table.open(b.name)).toBe(one);
    await expect.poll(() => b.table.open(a.name)?.peerName).toBe(a.name);
    expect(a.table.up().map((e) => [e.peer, e.hidden])).toEqual([[b.name, true]]);
    expect([a.ups, b.ups]).toEqual([[b.name], [a.name]]);
    expect(await a.table.connect(b.name)).toBe(one); // up already: at once
  });

  it("simultaneous connects from both sides end with one connection each way, as OTP's rule decides", async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await pair();
      const [fromA, fromB] = await Promise.all([a.table.connect(b.name), b.table.connect(a.name)]);
      expect(a.table.open(b.name)).toBe(fromA);
      expect(b.table.open(a.name)).toBe(fromB);
      expect([a.ups, b.ups]).toEqual([[b.name], [a.name]]);
      expect([fromA.open, fromB.open]).toEqual([true, true]);
    }
  });

  it("does not connect to itself, nor once stopped", async () => {
    const [a, b] = await pair();
    expect((await rejectionOf(a.table.connect(a.name), NodeError)).code).toBe("bad_name");
    a.table.stopDialing();
    expect((await rejectionOf(a.table.connect(b.name), NodeError)).code).toBe("stopped");
  });

  it("a closed connection leaves the table, calls down once, and counts in the totals", async () => {
    const [a, b] = await pair();
    const connection: DistConnection = await a.table.connect(b.name);
    await expect.poll(() => b.table.open(a.name)).toBeDefined();
    b.table.open(a.name)!.close();
    await expect.poll(() => a.downs).toEqual([b.name]);
    expect(connection.open).toBe(false);
    expect(a.table.open(b.name)).toBeUndefined();
    expect(a.table.up()).toEqual([]);
    expect(a.table.totals()).toMatchObject({ connectionsUp: 1, connectionsDown: 1 });
  });

  it("sends waiting for a connection to come up count against maxQueuedBytes", async () => {
    // A peer that accepts and never answers the handshake: the connection stays pending.
    const silent = createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const a = await side("a@127.0.0.1", () => (silent.address() as { port: number }).port, 1000);
      const first = a.table.connectForSend("quiet@127.0.0.1", 800);
      first.catch(() => undefined);
      const refused = await rejectionOf(a.table.connectForSend("quiet@127.0.0.1", 400), DistError);
      expect(refused.code).toBe("busy");
      expect(refused.message).toMatch(/800 bytes of sends wait for the connection to quiet@127\.0\.0\.1/);
      expect(a.table.totals().sendsRefused).toBe(1);
      a.table.close();
      expect((await rejectionOf(first, NodeError)).code).toBe("stopped");
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
