// Fuzzing the handshake and the framing: random and mutated bytes from a fake peer never crash the process;
// each attempt ends in a typed DistError, and only that connection closes (a real erl still connects after).
import fc from "fast-check";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DistConnection,
  DistError,
  ERLDIST_FLAGS,
  acceptHandshake,
  initiateHandshake,
  type HandshakeIdentity,
} from "../../src/dist/index.js";
import { registerNode, type EpmdRegistration } from "../../src/epmd/index.js";
import { atom } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

const me: HandshakeIdentity = { name: "fuzzed@127.0.0.1", cookie: "erldist-test-cookie", creation: 77, flags: ERLDIST_FLAGS, timeout: 500 };

function packet2(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]);
}

/** A plausible opening of a handshake (a version 6 name message), to mutate. */
const validName = packet2(
  Buffer.concat([Buffer.from([0x4e]), Buffer.from("000000010d07df84", "hex"), Buffer.from([0, 0, 0, 5, 0, 10]), Buffer.from("x@127.0.0.1")]),
);

const garbage = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
  fc
    .tuple(fc.nat(validName.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(validName.length))
    .map(([at, value, cut]) => {
      const bytes = Buffer.from(validName);
      bytes[at] = value;
      return bytes.subarray(0, Math.max(cut, 1));
    }),
);

let epmd: Epmd;
let server: Server;
let registration: EpmdRegistration;
let beam: BeamNode;
/** What each accepted connection came to: a DistConnection, or the error its handshake failed with. */
const outcomes: Array<Promise<DistConnection | unknown>> = [];

beforeAll(async () => {
  epmd = await startEpmd();
  server = createServer((socket) => {
    const outcome = acceptHandshake(socket, me).then(
      (handshake) => new DistConnection(socket, handshake),
      (error: unknown) => error,
    );
    outcomes.push(outcome);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  registration = await registerNode({ name: "fuzzed", listenPort: (server.address() as { port: number }).port, port: epmd.port });
  beam = await BeamNode.start({ epmd });
});

afterAll(async () => {
  for (const outcome of outcomes) void outcome.then((c) => c instanceof DistConnection && c.close());
  await beam?.stop();
  await registration?.close();
  server?.close();
  await epmd?.stop();
});

function send(bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: "127.0.0.1", port: (server.address() as { port: number }).port }, () => {
      socket.end(bytes);
    });
    socket.on("error", () => {});
    socket.on("data", () => {});
    socket.once("close", () => resolve());
  });
}

describe("handshake fuzzing", () => {
  it("the acceptor turns 300 garbage openings into DistErrors and keeps accepting real nodes", async () => {
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        const before = outcomes.length;
        await send(bytes);
        await expect.poll(() => outcomes.length).toBeGreaterThan(before);
        expect(await outcomes.at(-1)).toBeInstanceOf(DistError);
      }),
      { numRuns: 300 },
    );
    expect(await beam.eval("net_kernel:connect_node('fuzzed@127.0.0.1').")).toBe(true);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom("fuzzed@127.0.0.1"));
  }, 60_000);

  it("the initiator turns 300 garbage answers into DistErrors", async () => {
    let reply = Buffer.alloc(0);
    const liar = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end(reply));
    });
    await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
    try {
      await fc.assert(
        fc.asyncProperty(garbage, fc.constantFrom("sok", "snok", "salive", "s"), async (bytes, status) => {
          reply = Buffer.concat([packet2(Buffer.from(status)), bytes]);
          const socket = connect({ host: "127.0.0.1", port: (liar.address() as { port: number }).port });
          await new Promise((resolve) => socket.once("connect", resolve));
          const error = await initiateHandshake(socket, me).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(error).toBeInstanceOf(DistError);
        }),
        { numRuns: 300 },
      );
    } finally {
      liar.close();
    }
  }, 60_000);
});

describe("framing fuzzing", () => {
  it("garbage packets after a real handshake close only that connection, with a DistError", async () => {
    // A real erl node connects to the acceptor; then a second, fake peer that completed the handshake with the
    // right cookie (our own initiator) sends garbage frames. The erl connection must stay up throughout.
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 60 }),
          // Distribution headers (68), fragment starts (69) and continuations (70) with random insides.
          fc.tuple(fc.constantFrom(68, 69, 70, 112), fc.uint8Array({ maxLength: 60 })).map(([tag, rest]) => Uint8Array.from([131, tag, ...rest])),
        ),
        async (body) => {
        const before = outcomes.length;
        const socket = connect({ host: "127.0.0.1", port: (server.address() as { port: number }).port });
        await new Promise((resolve) => socket.once("connect", resolve));
        await initiateHandshake(socket, { ...me, name: "faker@127.0.0.1" }, "fuzzed@127.0.0.1");
        await expect.poll(() => outcomes.length).toBeGreaterThan(before);
        const connection = (await outcomes.at(-1)) as DistConnection;
        expect(connection).toBeInstanceOf(DistConnection);
        const down = new Promise<DistError | undefined>((resolve) => connection.once("close", resolve));
        const frame = Buffer.alloc(4 + body.length);
        frame.writeUInt32BE(body.length, 0);
        Buffer.from(body).copy(frame, 4);
        socket.write(frame);
        socket.end();
        const error = await down;
        expect(error).toBeInstanceOf(DistError);
        },
      ),
      { numRuns: 200 },
    );
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom("fuzzed@127.0.0.1"));
  }, 60_000);
});
