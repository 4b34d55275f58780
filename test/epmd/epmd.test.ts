// The epmd layer against the real thing: the client against OTP's epmd and real erl nodes, and the built-in server
// with real erl nodes registering with it and finding each other through it.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { connect, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EpmdError,
  EpmdServer,
  defaultEpmdPort,
  listNames,
  lookupNode,
  registerNode,
} from "../../src/epmd/index.js";
import { atom, charlistToString, Tuple } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { freePort } from "../support/net.js";
import { rejectionOf } from "../support/rejection.js";

function epmdNames(port: number): string {
  return execFileSync("epmd", ["-port", String(port), "-names"]).toString();
}

/** The same, without blocking the event loop: needed when the epmd asked is the one running in this process. */
async function epmdNamesAsync(port: number): Promise<string> {
  return (await promisify(execFile)("epmd", ["-port", String(port), "-names"])).stdout;
}

const errorOf = (promise: Promise<unknown>) => rejectionOf(promise, EpmdError);

describe("epmd client, against OTP's epmd", () => {
  let epmd: Epmd;
  let beam: BeamNode;

  beforeAll(async () => {
    epmd = await startEpmd();
    beam = await BeamNode.start({ epmd });
  });
  afterAll(async () => {
    await beam?.stop();
    await epmd?.stop();
  });

  it("registers a name that epmd -names and BEAM's net_adm:names/1 list, and unregisters on close", async () => {
    const registration = await registerNode({ name: "tsnode", listenPort: 45001, port: epmd.port });
    expect(registration.creation).toBeGreaterThan(0);
    expect(registration.active).toBe(true);
    expect(epmdNames(epmd.port)).toContain("name tsnode at port 45001");
    const seenByBeam = (await beam.eval('{ok, Names} = net_adm:names("127.0.0.1"), Names.')) as Tuple[];
    expect(seenByBeam.map((t) => [charlistToString(t.elements[0] as number[]), t.elements[1]])).toContainEqual(["tsnode", 45001]);
    const { names, epmdPort } = await listNames({ port: epmd.port });
    expect(epmdPort).toBe(epmd.port);
    expect(names).toContainEqual({ name: "tsnode", port: 45001 });
    await registration.close();
    expect(registration.active).toBe(false);
    expect(epmdNames(epmd.port)).not.toContain("tsnode");
  });

  it("looks up a real erl node's port, as BEAM's own erl_epmd sees it", async () => {
    const alive = beam.name.split("@")[0];
    const found = await lookupNode(alive, { port: epmd.port });
    expect(found).toBeDefined();
    const theirs = (await beam.eval(`erl_epmd:port_please("${alive}", {127,0,0,1}).`)) as Tuple;
    expect(theirs.elements[0]).toBe(atom("port"));
    expect(found!.port).toBe(theirs.elements[1]);
    expect(found!.highestVersion).toBe(6);
    expect(found!.name).toBe(alive);
    expect(await lookupNode("nobody-here", { port: epmd.port })).toBeUndefined();
  });

  it("a real erl node finds an erldist registration through epmd", async () => {
    const registration = await registerNode({ name: "findme", listenPort: 45002, port: epmd.port });
    try {
      const theirs = (await beam.eval('erl_epmd:port_please("findme", {127,0,0,1}).')) as Tuple;
      expect(theirs.elements).toEqual([atom("port"), 45002, 6]);
    } finally {
      await registration.close();
    }
  });

  it("refuses a name that is registered already, leaving the first registration alone", async () => {
    const first = await registerNode({ name: "twice", listenPort: 45003, port: epmd.port });
    const error = await errorOf(registerNode({ name: "twice", listenPort: 45004, port: epmd.port }));
    expect(error.code).toBe("name_taken");
    expect(error.message).toMatch(/already/);
    expect((await lookupNode("twice", { port: epmd.port }))?.port).toBe(45003);
    await first.close();
  });

  it("says how to start epmd when nothing listens", async () => {
    const error = await errorOf(listNames({ port: await freePort() }));
    expect(error.code).toBe("unreachable");
    expect(error.message).toMatch(/epmd -daemon/);
    expect(error.cause).toBeDefined();
  });

  it("times out on an epmd that never answers, and honours an AbortSignal", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      expect((await errorOf(lookupNode("x", { port, timeout: 200 }))).code).toBe("timeout");
      const controller = new AbortController();
      const pending = lookupNode("x", { port, signal: controller.signal, timeout: 10_000 });
      controller.abort(new Error("user gave up"));
      expect((await errorOf(pending)).code).toBe("aborted");
      expect((await errorOf(listNames({ port, signal: AbortSignal.abort() }))).code).toBe("aborted");
    } finally {
      silent.close();
    }
  });

  it("reports a registration lost when epmd stops", async () => {
    const own = await startEpmd();
    const registration = await registerNode({ name: "fragile", listenPort: 45005, port: own.port });
    const lost = new Promise<EpmdError>((resolve) => registration.once("lost", resolve));
    await own.stop();
    expect((await lost).code).toBe("unreachable");
    expect(registration.active).toBe(false);
  });

  it("reads the epmd port from ERL_EPMD_PORT as erl does", () => {
    expect(defaultEpmdPort({})).toBe(4369);
    expect(defaultEpmdPort({ ERL_EPMD_PORT: "4400" })).toBe(4400);
    expect(() => defaultEpmdPort({ ERL_EPMD_PORT: "nope" })).toThrow(/ERL_EPMD_PORT/);
  });
});

describe("built-in epmd server, with real erl nodes", () => {
  let server: EpmdServer;
  let a: BeamNode;
  let b: BeamNode;

  beforeAll(async () => {
    server = await EpmdServer.start({ port: 0 });
    const epmd = { port: server.port, stop: async () => {} };
    [a, b] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await server?.close();
  });

  it("real erl nodes register with it and connect to each other through it", async () => {
    const names = server.names().map((n) => n.name);
    expect(names).toContain(a.name.split("@")[0]);
    expect(names).toContain(b.name.split("@")[0]);
    expect(await a.eval(`net_adm:ping('${b.name}').`)).toBe(atom("pong"));
    expect(await b.eval("nodes().")).toContainEqual(atom(a.name));
  });

  it("OTP's epmd -names (the epmd binary as a client) lists them", async () => {
    const listing = await epmdNamesAsync(server.port);
    expect(listing).toContain(`epmd: up and running on port ${server.port}`);
    expect(listing).toContain(`name ${a.name.split("@")[0]} at port`);
    expect(listing).toContain(`name ${b.name.split("@")[0]} at port`);
  });

  it("gives a creation to each registration and refuses a duplicate name", async () => {
    const registered = new Promise<{ creation: number }>((resolve) => server.once("registered", resolve));
    const mine = await registerNode({ name: "ts-on-builtin", listenPort: 45010, port: server.port });
    expect((await registered).creation).toBe(mine.creation);
    expect(mine.creation).toBeGreaterThan(0);
    expect((await errorOf(registerNode({ name: "ts-on-builtin", listenPort: 1, port: server.port }))).code).toBe("name_taken");
    const alive = a.name.split("@")[0];
    expect((await errorOf(registerNode({ name: alive, listenPort: 1, port: server.port }))).code).toBe("name_taken");
    await mine.close();
  });

  it("unregisters a node whose connection closes (the node stopped)", async () => {
    const c = await BeamNode.start({ epmd: { port: server.port } });
    const alive = c.name.split("@")[0];
    expect(server.names().map((n) => n.name)).toContain(alive);
    const gone = new Promise<string>((resolve) => server.on("unregistered", (name) => name === alive && resolve(name)));
    await c.stop();
    await gone;
    expect(await lookupNode(alive, { port: server.port })).toBeUndefined();
  });

  it("survives garbage on its port: only the offending connection closes", async () => {
    const garbage = [
      Buffer.from([0, 0]), // zero length
      Buffer.from([0xff, 0xff, 1, 2, 3]), // absurd length
      Buffer.from([0, 3, 250, 1, 2]), // unknown request
      Buffer.from([0, 5, 120, 0, 1, 77, 0]), // truncated ALIVE2
      Buffer.from("GET / HTTP/1.1\r\n\r\n"),
      Buffer.from([0]), // then silence (closed by us)
    ];
    let bad = 0;
    server.on("badRequest", () => bad++);
    for (const bytes of garbage) {
      await new Promise<void>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port: server.port }, () => {
          socket.write(bytes);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on("error", () => {});
        socket.once("close", () => resolve());
      });
    }
    expect(bad).toBeGreaterThanOrEqual(4);
    expect((await lookupNode(a.name.split("@")[0], { port: server.port }))?.port).toBeGreaterThan(0);
    expect(await b.eval(`net_adm:ping('${a.name}').`)).toBe(atom("pong"));
  });
});
