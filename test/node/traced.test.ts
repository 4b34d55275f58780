// Messages and signals from BEAM processes that carry a seq_trace token (seq_trace:set_token(label, 17)): BEAM sends
// them as the *_TT kinds (OTP 28+ alias sends as ALTACT_SIG_SEND with a token), and erldist must act on each exactly
// as on its untraced kind. A second erldist node advertises neither DFLAG_SEND_SENDER nor DFLAG_EXIT_PAYLOAD, so
// that BEAM sends it the older SEND_TT and EXIT_TT too. node.controlStats proves which kind came.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DFLAG, DistConnection, ERLDIST_FLAGS, initiateHandshake, makeControl, parseControl, type ControlMessage } from "../../src/dist/index.js";
import { lookupNode } from "../../src/epmd/index.js";
import { Pid, Reference, Tuple, atom, encode, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { Node, NodeError, type ControlStats, type ErlProcess } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { rejectionOf } from "../support/rejection.js";
import { otpReleaseOf } from "../support/release.js";

let epmd: Epmd;
let beam: BeamNode;
/** Default flags: BEAM sends it SEND_SENDER_TT, PAYLOAD_EXIT_TT, PAYLOAD_EXIT2. */
let node: Node;
/** Without DFLAG_SEND_SENDER and DFLAG_EXIT_PAYLOAD: BEAM sends it SEND_TT, EXIT_TT, EXIT2. */
let older: Node;
let release: number;

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd });
  const options = { cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" };
  node = await Node.start({ name: "traced@127.0.0.1", ...options });
  older = await Node.start({ name: "tracedold@127.0.0.1", ...options, withoutFlags: DFLAG.SEND_SENDER | DFLAG.EXIT_PAYLOAD });
  await node.connect(beam.name);
  await older.connect(beam.name);
  release = await otpReleaseOf(beam);
});

afterAll(async () => {
  await node?.stop();
  await older?.stop();
  await beam?.stop();
  await epmd?.stop();
});

const TIMEOUT = { timeout: 5000 };

/** Erlang source for a term (a pid, an alias...): the term itself, rebuilt from its external format. */
function lit(term: Encodable): string {
  return `binary_to_term(<<${[...encode(term)].join(",")}>>)`;
}

/** Erlang source that runs `body` in a new BEAM process carrying a seq_trace token, and returns that process's pid. */
function traced(body: string): string {
  return `spawn(fun() -> seq_trace:set_token(label, 17), ${body} end).`;
}

const isTuple = (first: string) => (m: Term) => m instanceof Tuple && m.elements[0] === atom(first);

/** How many control messages of each kind `on` received from the peer while `run` ran. */
async function received(on: Node, run: () => Promise<unknown>): Promise<(kind: string) => number> {
  const before = on.controlStats(beam.name)!;
  await run();
  const after = on.controlStats(beam.name)!;
  const count = (stats: ControlStats, kind: string) => (stats.in as Record<string, number>)[kind] ?? 0;
  return (kind) => count(after, kind) - count(before, kind);
}

/** Resolves once `p` has exited (its pending receive rejects with `exited`). */
async function exited(p: ErlProcess): Promise<void> {
  expect((await rejectionOf(p.receive(() => false), NodeError)).code).toBe("exited");
}

/** Both nodes, each with the kind BEAM sends it: [what the node is, the node, its kind]. */
const both = (modern: string, old: string): Array<[string, () => Node, string]> => [
  [`default flags, ${modern}`, () => node, modern],
  [`without SEND_SENDER and EXIT_PAYLOAD, ${old}`, () => older, old],
];

describe("traced messages", () => {
  it.each(both("SEND_SENDER_TT", "SEND_TT"))("to a pid (%s): delivered like an untraced send", async (_, on, kind) => {
    const p = on().spawn();
    const count = await received(on(), async () => {
      const sender = (await beam.eval(traced(`${lit(p.pid)} ! {traced, self()}`))) as Pid;
      expect(await p.receive(isTuple("traced"), TIMEOUT)).toEqual(tuple(atom("traced"), sender));
      await beam.eval(`${lit(p.pid)} ! untraced, ok.`);
      expect(await p.receive((m) => m === atom("untraced"), TIMEOUT)).toBe(atom("untraced"));
    });
    expect(count(kind)).toBe(1);
    expect(count(kind.replace("_TT", ""))).toBe(1);
    expect(p.queued).toBe(0);
    p.exit();
  });

  it.each(both("REG_SEND_TT", "REG_SEND_TT"))("to a registered name (%s): delivered like an untraced send", async (_, on, kind) => {
    const p = on().spawn();
    on().register("traced_inbox", p);
    const count = await received(on(), async () => {
      await beam.eval(traced(`{traced_inbox, '${on().name}'} ! by_name`));
      expect(await p.receive((m) => m === atom("by_name"), TIMEOUT)).toBe(atom("by_name"));
    });
    expect(count(kind)).toBe(1);
    p.exit();
  });

  it("to an alias: delivered like an untraced send (ALIAS_SEND_TT, or ALTACT_SIG_SEND with a token from OTP 28)", async () => {
    const p = node.spawn();
    const alias = p.alias();
    const count = await received(node, async () => {
      await beam.eval(traced(`${lit(alias)} ! to_alias`));
      expect(await p.receive((m) => m === atom("to_alias"), TIMEOUT)).toBe(atom("to_alias"));
    });
    expect(count(release >= 28 ? "ALTACT_SIG_SEND" : "ALIAS_SEND_TT")).toBe(1);
    // After unalias, a traced send to it is dropped, as an untraced one is.
    p.unalias(alias);
    await beam.eval(traced(`${lit(alias)} ! after_unalias, ${lit(p.pid)} ! marker`));
    expect(await p.receive((m) => m === atom("marker"), TIMEOUT)).toBe(atom("marker"));
    expect(p.queued).toBe(0);
    p.exit();
  });

  it("a traced gen_server call to an erldist server gets its reply", async () => {
    const server = node.serve("traced_server", { call: (request) => tuple(atom("echo"), request as Encodable) });
    const p = node.spawn();
    const count = await received(node, async () => {
      await beam.eval(traced(`${lit(p.pid)} ! {reply, gen_server:call({traced_server, '${node.name}'}, hello)}`));
      expect(await p.receive(isTuple("reply"), TIMEOUT)).toEqual(tuple(atom("reply"), tuple(atom("echo"), atom("hello"))));
    });
    // The call itself: a traced send to a name is REG_SEND_TT on every release (OTP 28 uses ALTACT_SIG_SEND for a
    // name only with the priority option). erldist's reply carries no token, and a process that receives a message
    // without one loses its own: the caller's {reply, ...} to p comes untraced.
    expect(count("REG_SEND_TT")).toBe(1);
    expect(count("SEND_SENDER")).toBe(1);
    server.exit();
    p.exit();
  });
});

describe("traced exit signals", () => {
  // OTP 25 to 29 send exit/2 without the caller's token (dist.c's erts_dsig_send_exit2 takes none), so these come as
  // PAYLOAD_EXIT2 or EXIT2; the *_TT forms, which dist.c still accepts, are tested from an erldist peer in
  // control-in.test.ts. Should a release start sending the token, either kind passes here.
  it.each(both("PAYLOAD_EXIT2", "EXIT2"))("exit/2 (%s) reaches a trapping process as {'EXIT', From, Reason}", async (_, on, kind) => {
    const p = on().spawn();
    p.trapExits = true;
    const count = await received(on(), async () => {
      const sender = (await beam.eval(traced(`exit(${lit(p.pid)}, {shutdown, traced})`))) as Pid;
      expect(await p.receive(isTuple("EXIT"), TIMEOUT)).toEqual(tuple(atom("EXIT"), sender, tuple(atom("shutdown"), atom("traced"))));
    });
    expect(count(kind) + count(`${kind}_TT`)).toBe(1);
    expect(p.alive).toBe(true);
    p.exit();
  });

  it.each(both("PAYLOAD_EXIT2", "EXIT2"))("exit/2 (%s) ends a process that does not trap exits", async (_, on, kind) => {
    const p = on().spawn();
    const count = await received(on(), async () => {
      await beam.eval(traced(`exit(${lit(p.pid)}, traced_kill)`));
      await exited(p);
    });
    expect(count(kind) + count(`${kind}_TT`)).toBe(1);
  });

  it.each(both("PAYLOAD_EXIT_TT", "EXIT_TT"))("a linked BEAM process exiting (%s) sends the link's exit signal", async (_, on, kind) => {
    const trapping = on().spawn();
    trapping.trapExits = true;
    const plain = on().spawn();
    const count = await received(on(), async () => {
      const linked = (await beam.eval(traced(`link(${lit(trapping.pid)}), link(${lit(plain.pid)}), exit(traced_boom)`))) as Pid;
      expect(await trapping.receive(isTuple("EXIT"), TIMEOUT)).toEqual(tuple(atom("EXIT"), linked, atom("traced_boom")));
      await exited(plain);
    });
    expect(count(kind)).toBe(2);
    expect(count("LINK")).toBe(2);
    expect(trapping.alive).toBe(true);
    trapping.exit();
  });
});

describe("traced spawn requests and replies", () => {
  it("a traced erpc from BEAM (SPAWN_REQUEST_TT) gets the same prompt {erpc, notsup} as an untraced one", async () => {
    const p = node.spawn();
    const erpc = `${lit(p.pid)} ! {erpc_result, try erpc:call('${node.name}', erlang, node, [], 5000) catch error:E -> E end}`;
    const count = await received(node, async () => {
      await beam.eval(traced(erpc));
      expect(await p.receive(isTuple("erpc_result"), TIMEOUT)).toEqual(tuple(atom("erpc_result"), tuple(atom("erpc"), atom("notsup"))));
      await beam.eval(`spawn(fun() -> ${erpc} end), ok.`);
      expect(await p.receive(isTuple("erpc_result"), TIMEOUT)).toEqual(tuple(atom("erpc_result"), tuple(atom("erpc"), atom("notsup"))));
    });
    expect(count("SPAWN_REQUEST_TT")).toBe(1);
    expect(count("SPAWN_REQUEST")).toBe(1);
    p.exit();
  });

  it("BEAM answers a traced spawn request with SPAWN_REPLY_TT, whose fields parse as SPAWN_REPLY's plus the token", async () => {
    // erldist never sends a trace token itself, so this one comes from a bare connection that does.
    const name = "tracedraw@127.0.0.1";
    const port = (await lookupNode(beam.name.split("@")[0], { port: epmd.port }))!.port;
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.once("connect", resolve));
    const handshake = await initiateHandshake(socket, { name, cookie: beam.cookie, creation: 5, flags: ERLDIST_FLAGS }, beam.name);
    const connection = new DistConnection(socket, handshake);
    try {
      const messages: ControlMessage[] = [];
      connection.on("signal", (message) => messages.push(message));
      // A token as BEAM makes one ({Flags, Label, Serial, From, LastCnt}), taken from a process that dies after.
      const token = (await beam.eval("Self = self(), spawn(fun() -> seq_trace:set_token(label, 17), Self ! {token, seq_trace:get_token()} end), receive {token, T} -> T end.")) as Term;
      await beam.eval("seq_trace:set_token([]), ok."); // the token came along with the message: drop it here
      const from = new Pid(atom(name), 1, 0, 5);
      const reqId = new Reference(atom(name), 5, [1, 2, 3]);
      const request = makeControl("SPAWN_REQUEST_TT", { reqId, from, groupLeader: from, mfa: tuple(atom("erlang"), atom("node"), 0), optList: [], token: token as Encodable });
      await connection.send(request, []);
      await expect.poll(() => messages.find((m) => m.kind === "SPAWN_REPLY_TT"), TIMEOUT).toBeDefined();
      const reply = messages.find((m) => m.kind === "SPAWN_REPLY_TT")!;
      expect(reply.fields.reqId).toEqual(reqId);
      expect(reply.fields.to).toEqual(from);
      expect(reply.fields.result).toBeInstanceOf(Pid);
      expect(reply.fields.token).toBeInstanceOf(Tuple);
    } finally {
      connection.close();
    }
  });
});
