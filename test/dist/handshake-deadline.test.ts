// The handshake's deadline without a BEAM peer: against a local server that accepts and never answers, the
// handshake ends with DistError timeout or aborted (the caller's reason as cause), and the socket is destroyed.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistError } from "../../src/dist/errors.js";
import { initiateHandshake, type HandshakeIdentity } from "../../src/dist/handshake.js";
import { ERLDIST_FLAGS } from "../../src/dist/flags.js";
import { rejectionOf } from "../support/rejection.js";

let silent: Server;
const accepted = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => void accepted.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const socket of accepted) socket.destroy(); // never read, so they would not see the other side close
  await new Promise((resolve) => silent.close(resolve));
});

async function connected(): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port: (silent.address() as { port: number }).port });
  await new Promise((resolve) => socket.once("connect", resolve));
  return socket;
}

function identity(extra: Partial<HandshakeIdentity>): HandshakeIdentity {
  return { name: "deadline@127.0.0.1", cookie: "c", creation: 1, flags: ERLDIST_FLAGS, ...extra };
}

describe("the handshake's deadline", () => {
  it("times out with DistError timeout and destroys the socket", async () => {
    const socket = await connected();
    const error = await rejectionOf(initiateHandshake(socket, identity({ timeout: 20 })), DistError);
    expect(error.code).toBe("timeout");
    expect(error.message).toBe("the handshake did not complete within 20 ms");
    expect(socket.destroyed).toBe(true);
  });

  it("ends with DistError aborted, the signal's reason as cause, when the caller aborts", async () => {
    const socket = await connected();
    const controller = new AbortController();
    const pending = initiateHandshake(socket, identity({ signal: controller.signal, timeout: 60_000 }));
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const error = await rejectionOf(pending, DistError);
    expect(error.code).toBe("aborted");
    expect(error.cause).toBe(reason);
    expect(socket.destroyed).toBe(true);
  });

  it("ends at once with aborted for a signal aborted already", async () => {
    const socket = await connected();
    const error = await rejectionOf(initiateHandshake(socket, identity({ signal: AbortSignal.abort("before") })), DistError);
    expect(error.code).toBe("aborted");
    expect(error.cause).toBe("before");
    expect(socket.destroyed).toBe(true);
  });
});
