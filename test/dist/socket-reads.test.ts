// Direct reads (socket-reads.ts) on real loopback sockets: a dialled socket's bytes reach the current reader in
// order, none is lost between readers, and a chunk already handed out is never overwritten by later reads.
import { Buffer } from "node:buffer";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directReadOptions, readChunks } from "../../src/dist/socket-reads.js";

let server: Server;
let port: number;
const accepted: Socket[] = [];
const dialled: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of [...accepted, ...dialled]) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Dials the server with direct reads; resolves with both ends. */
async function pair(): Promise<{ ours: Socket; theirs: Socket }> {
  const waiting = accepted.length;
  const reads = directReadOptions({ host: "127.0.0.1", port });
  const ours = connect(reads.options);
  reads.adopt(ours);
  dialled.push(ours);
  await new Promise((resolve) => ours.once("connect", resolve));
  while (accepted.length === waiting) await new Promise((resolve) => setTimeout(resolve, 5));
  return { ours, theirs: accepted[accepted.length - 1] };
}

/** Collects what `socket` reads until `total` bytes have come. */
function collect(socket: Socket, total: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    const stop = readChunks(socket, (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= total) {
        stop();
        resolve(chunks);
      }
    });
  });
}

const pattern = (size: number, seed: number): Buffer => {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
};

describe("direct reads", () => {
  it("hands a dialled socket's bytes to its reader, and chunks handed out keep their bytes through later reads", async () => {
    const { ours, theirs } = await pair();
    const sent: Buffer[] = [];
    const received: Buffer[] = [];
    // Many small writes, each read on its own, more than a slab's worth in all, then a large one.
    for (let i = 0; i < 400; i++) {
      const piece = pattern(300, i);
      sent.push(piece);
      const got = collect(ours, piece.length);
      theirs.write(piece);
      received.push(...(await got));
    }
    const large = pattern(300_000, 7);
    sent.push(large);
    const got = collect(ours, large.length);
    theirs.write(large);
    received.push(...(await got));
    expect(Buffer.concat(received).equals(Buffer.concat(sent))).toBe(true);
  });

  it("keeps what arrives while nobody reads, and hands it to the next reader first, in order", async () => {
    const { ours, theirs } = await pair();
    theirs.write(pattern(1000, 1));
    await new Promise((resolve) => setTimeout(resolve, 50)); // read with no reader attached
    const got = collect(ours, 2000);
    theirs.write(pattern(1000, 2));
    expect(Buffer.concat(await got).equals(Buffer.concat([pattern(1000, 1), pattern(1000, 2)]))).toBe(true);
  });

  it("reads an accepted socket through its 'data' events", async () => {
    const { ours, theirs } = await pair();
    const got = collect(theirs, 500);
    ours.write(pattern(500, 3));
    expect(Buffer.concat(await got).equals(pattern(500, 3))).toBe(true);
  });
});
