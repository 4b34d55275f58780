// The version 6 handshake and the connection, against real erl (OTP 25): both directions, hidden and visible,
// wrong cookies both ways, ticks, a peer that is killed or stops answering, and messages both ways.
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DFLAG,
  DistConnection,
  DistError,
  ERLDIST_FLAGS,
  acceptHandshake,
  initiateHandshake,
  type ControlMessage,
  type Handshake,
  type HandshakeIdentity,
} from "../../src/dist/index.js";
import { lookupNode, registerNode, type EpmdRegistration } from "../../src/epmd/index.js";
import { Pid, Tuple, atom, tuple, type Term } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd;
let beam: BeamNode;
let ticking: BeamNode; // net_ticktime 2: ticks every 0.5 s
const open: DistConnection[] = [];
let counter = 0;

beforeAll(async () => {
  epmd = await startEpmd();
  [beam, ticking] = await Promise.all([
    BeamNode.start({ epmd }),
    BeamNode.start({ epmd, args: ["-kernel", "net_ticktime", "2"] }),
  ]);
});

afterAll(async () => {
  for (const connection of open) connection.close();
  await Promise.all([beam?.stop(), ticking?.stop()]);
  await epmd?.stop();
});

function identity(overrides: Partial<HandshakeIdentity> = {}): HandshakeIdentity {
  return { name: `ts${++counter}@127.0.0.1`, cookie: beam.cookie, creation: 0x1234 + counter, flags: ERLDIST_FLAGS, ...overrides };
}

async function dial(target: BeamNode, me: HandshakeIdentity): Promise<{ handshake: Handshake; socket: Socket }> {
  const found = await lookupNode(target.name.split("@")[0], { port: epmd.port });
  const socket = connect({ host: "127.0.0.1", port: found!.port });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return { handshake: await initiateHandshake(socket, me, target.name), socket };
}

async function connectTo(target: BeamNode, me: HandshakeIdentity, tickTime = 60): Promise<DistConnection> {
  const { handshake, socket } = await dial(target, me);
  const connection = new DistConnection(socket, handshake, { tickTime });
  open.push(connection);
  return connection;
}

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, DistError);

function closed(connection: DistConnection): Promise<DistError | undefined> {
  return new Promise((resolve) => connection.once("close", resolve));
}

describe("erldist connects to erl", () => {
  it("as a hidden node: listed by nodes(hidden), not by nodes()", async () => {
    const me = identity();
    const connection = await connectTo(beam, me);
    expect(connection.peerName).toBe(beam.name);
    expect(connection.flags & DFLAG.UTF8_ATOMS).not.toBe(0n);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(me.name));
    expect(await beam.eval("nodes().")).not.toContainEqual(atom(me.name));
    connection.close();
  });

  it("as a visible node when asked: listed by nodes()", async () => {
    const me = identity({ flags: ERLDIST_FLAGS | DFLAG.PUBLISHED });
    const connection = await connectTo(beam, me);
    expect(await beam.eval("nodes().")).toContainEqual(atom(me.name));
    connection.close();
    await expect.poll(() => beam.eval("nodes()."), { timeout: 5000 }).not.toContainEqual(atom(me.name));
  });

  it("with the wrong cookie: a cookie_rejected error, and erl stays up for others", async () => {
    const error = await rejection(dial(beam, identity({ cookie: "not-the-cookie" })));
    expect(error.code).toBe("cookie_rejected");
    expect(error.message).toMatch(/cookie/);
    const connection = await connectTo(beam, identity());
    expect(connection.open).toBe(true);
    connection.close();
  });

  it("refuses to talk to a node that is not the one asked for", async () => {
    const found = await lookupNode(beam.name.split("@")[0], { port: epmd.port });
    const socket = connect({ host: "127.0.0.1", port: found!.port });
    await new Promise((resolve) => socket.once("connect", resolve));
    const error = await rejection(initiateHandshake(socket, identity(), "someone-else@127.0.0.1"));
    expect(error.code).toBe("name_mismatch");
  });

  it("times out a handshake with a peer that never answers", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const socket = connect({ host: "127.0.0.1", port: (silent.address() as { port: number }).port });
      await new Promise((resolve) => socket.once("connect", resolve));
      expect((await rejection(initiateHandshake(socket, identity({ timeout: 300 })))).code).toBe("timeout");
    } finally {
      silent.close();
    }
  });

  it("carries messages both ways (REG_SEND)", async () => {
    const me = identity();
    const connection = await connectTo(beam, me);
    const received = new Promise<ControlMessage>((resolve) => connection.once("signal", resolve));
    await beam.eval(`erlang:send({inbox, '${me.name}'}, {hello, [1, 2.0, <<"bin">>]}), ok.`);
    const message = await received;
    expect(message.tag).toBe(6); // REG_SEND
    expect(message.kind === "REG_SEND" && message.fields.toName).toBe(atom("inbox"));
    const payload = message.payload;
    expect(((payload as Tuple).elements[0] as Term)).toBe(atom("hello"));

    await beam.eval(
      "ets:new(got, [named_table, public]), register(inbox, spawn(fun() -> receive M -> ets:insert(got, {m, M}) end end)), ok.",
    );
    const from = new Pid(atom(me.name), 1, 0, me.creation);
    connection.send(tuple(6, from, atom(""), atom("inbox")), tuple(atom("from_node"), "héllo"));
    await expect.poll(() => beam.eval("ets:lookup(got, m)."), { timeout: 5000 }).toHaveLength(1);
    const [stored] = (await beam.eval("ets:lookup(got, m).")) as Tuple[];
    expect((stored.elements[1] as Tuple).elements[0]).toBe(atom("from_node"));
    connection.close();
  });
});

describe("erl connects to erldist", () => {
  let server: Server;
  let registration: EpmdRegistration;
  let me: HandshakeIdentity;
  const accepted: Array<Promise<Handshake>> = [];

  beforeAll(async () => {
    me = identity({ name: "tsacceptor@127.0.0.1" });
    server = createServer((socket) => {
      const result = acceptHandshake(socket, me);
      result.then((handshake) => open.push(new DistConnection(socket, handshake)), () => {});
      accepted.push(result);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    registration = await registerNode({ name: "tsacceptor", listenPort: (server.address() as { port: number }).port, port: epmd.port });
  });

  afterAll(async () => {
    await registration?.close();
    server?.close();
  });

  it("net_kernel:connect_node/1 from erl reaches the erldist node through epmd", async () => {
    expect(await beam.eval(`net_kernel:connect_node('${me.name}').`)).toBe(true);
    const handshake = await accepted.at(-1)!;
    expect(handshake.peerName).toBe(beam.name);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(me.name));
  });

  it("erl with the wrong cookie is refused with cookie_rejected, and the acceptor keeps serving", async () => {
    const before = accepted.length;
    expect(await ticking.eval(`erlang:set_cookie('${me.name}', wrong), net_kernel:connect_node('${me.name}').`)).toBe(false);
    expect(accepted.length).toBe(before + 1);
    const error = await rejection(accepted.at(-1)!);
    expect(error.code).toBe("cookie_rejected");
    expect(await ticking.eval(`erlang:set_cookie('${me.name}', '${beam.cookie}'), net_kernel:connect_node('${me.name}').`)).toBe(true);
  });
});

describe("ticks and failure detection (net_ticktime 2)", () => {
  it("an idle connection survives three tick periods", async () => {
    const me = identity({ cookie: ticking.cookie });
    const connection = await connectTo(ticking, me, 2);
    let error: DistError | undefined;
    connection.once("close", (e) => (error = e));
    await new Promise((r) => setTimeout(r, 6500));
    expect(error).toBeUndefined();
    expect(connection.open).toBe(true);
    expect(await ticking.eval("nodes(hidden).")).toContainEqual(atom(me.name));
    connection.close();
  }, 20_000);

  it("a peer that stops answering (SIGSTOP) is detected as down within net_ticktime", async () => {
    const frozen = await BeamNode.start({ epmd, args: ["-kernel", "net_ticktime", "2"] });
    try {
      const connection = await connectTo(frozen, identity({ cookie: frozen.cookie }), 2);
      const down = closed(connection);
      const stoppedAt = Date.now();
      process.kill(frozen.pid!, "SIGSTOP");
      const error = await down;
      expect(error?.code).toBe("timeout");
      expect(Date.now() - stoppedAt).toBeLessThan(4000);
    } finally {
      process.kill(frozen.pid!, "SIGCONT");
      await frozen.stop();
    }
  }, 20_000);

  it("a peer killed with kill -9 is seen going down", async () => {
    const doomed = await BeamNode.start({ epmd });
    const connection = await connectTo(doomed, identity({ cookie: doomed.cookie }));
    const down = closed(connection);
    process.kill(doomed.pid!, "SIGKILL");
    expect((await down)?.code).toBe("closed");
    await doomed.stop();
  });
});

describe("distribution headers, the atom cache and fragments (from erl)", () => {
  it("negotiates headers and fragments, and decodes atom cache references across messages", async () => {
    const me = identity();
    const connection = await connectTo(beam, me);
    expect(connection.flags & DFLAG.DIST_HDR_ATOM_CACHE).not.toBe(0n);
    expect(connection.flags & DFLAG.FRAGMENTS).not.toBe(0n);
    const payloads: Term[] = [];
    connection.on("signal", (message) => payloads.push(message.payload!));
    await beam.eval(
      `[erlang:send({inbox, '${me.name}'}, {N, N > 0, list_to_atom("a" ++ integer_to_list(N rem 3)), ok, 'héllo'}) || N <- lists:seq(1, 30)], ok.`,
    );
    await expect.poll(() => payloads.length).toBe(30);
    expect(connection.stats.atomCacheRefsIn).toBeGreaterThan(30); // BEAM did use the cache
    payloads.forEach((payload, i) => {
      const n = i + 1;
      expect((payload as Tuple).elements).toEqual([n, true, atom(`a${n % 3}`), atom("ok"), atom("héllo")]);
    });
    connection.close();
  });

  it("reassembles a message BEAM splits into fragments (1 MiB)", async () => {
    const me = identity();
    const connection = await connectTo(beam, me);
    const received = new Promise<Term>((resolve) => connection.once("signal", (message) => resolve(message.payload!)));
    await beam.eval(
      `erlang:send({inbox, '${me.name}'}, {big, binary:copy(<<"0123456789abcdef">>, 65536), [list_to_atom("k" ++ integer_to_list(I)) || I <- lists:seq(1, 100)]}), ok.`,
    );
    const payload = (await received) as Tuple;
    expect(connection.stats.fragmentsIn).toBeGreaterThan(1);
    expect(payload.elements[0]).toBe(atom("big"));
    const data = payload.elements[1] as Buffer;
    expect(data.length).toBe(1 << 20);
    expect(data.subarray(0, 16).toString()).toBe("0123456789abcdef");
    expect(data.subarray(-16).toString()).toBe("0123456789abcdef");
    expect(payload.elements[2]).toEqual(Array.from({ length: 100 }, (_, i) => atom(`k${i + 1}`)));
    connection.close();
  });
});

describe("the statuses erl answers with", () => {
  it("not_allowed: erl restricted by net_kernel:allow/1 refuses, with a clear error", async () => {
    const strict = await BeamNode.start({ epmd });
    try {
      await strict.eval("net_kernel:allow(['only-this@127.0.0.1']).");
      const error = await rejection(dial(strict, identity({ cookie: strict.cookie })));
      expect(error.code).toBe("not_allowed");
      expect(error.message).toMatch(/does not allow/);
    } finally {
      await strict.stop();
    }
  });

  it("alive: erl still holds a connection for this name; erldist asks it to replace the old one", async () => {
    const me = identity();
    const first = await connectTo(beam, me);
    const firstClosed = closed(first);
    const second = await connectTo(beam, me); // same name while the first connection is up
    expect(second.open).toBe(true);
    expect((await firstClosed)?.code).toBe("closed");
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(me.name));
    second.close();
  });
});
