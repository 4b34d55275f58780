// erldist against a real Elixir peer, on each release's own Elixir: GenServers both ways, structs both ways, rpc and
// erpc into Elixir modules (with Elixir exceptions), and how the Elixir node lists erldist. The fixtures are in
// test/fixtures/elixir (compiled per release by the global setup).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Atom, Pid, Tuple, atom, equals, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { CallError, Node } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { stopErlAndNode } from "../support/erl-and-node.js";
import { elixirLibDir, otpRelease } from "../support/fixtures.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd | undefined;
let beam: BeamNode; // the Elixir node
let plain: BeamNode | undefined; // a visible plain-Erlang node, to contrast with erldist in Node.list()
let node: Node;
let elixirVersion: string;

beforeAll(async () => {
  // Assigned one by one, so that afterAll stops whatever started even if a later start fails.
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd, elixir: true });
  plain = await BeamNode.start({ epmd, cookie: beam.cookie });
  node = await Node.start({ name: "elixirtest@127.0.0.1", cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  elixirVersion = text(await beam.call("Elixir.System", "version", []));
});

afterAll(async () => {
  await plain?.stop();
  await stopErlAndNode({ epmd, beam, node });
});

/** Evaluates Elixir source on the peer (Code.eval_string, with `binding` as its variables) and returns the value. */
async function ex(source: string, binding: Record<string, Encodable> = {}): Promise<Term> {
  const vars = Object.entries(binding).map(([name, value]) => tuple(atom(name), value));
  return ((await beam.call("Elixir.Code", "eval_string", [source, vars])) as Tuple).elements[0];
}

function text(term: Term): string {
  if (!Buffer.isBuffer(term)) throw new Error(`expected a binary, got ${String(term)}`);
  return term.toString("utf8");
}

/** A decoded map's value under an atom key. */
function field(term: Term, key: string): Term | undefined {
  if (!(term instanceof Map)) throw new Error(`expected a map, got ${String(term)}`);
  return (term as Map<Term, Term>).get(atom(key));
}

const me = () => atom(node.name);

describe("the Elixir peer", () => {
  it("runs the release's own Elixir, with the elixir application started", async () => {
    expect(elixirVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(text(await beam.call("Elixir.System", "otp_release", []))).toBe(otpRelease());
    // Loaded from the lib directory the release's `elixir` command reports, not some other Elixir.
    expect(text(await ex("to_string(:code.lib_dir(:elixir))"))).toBe(elixirLibDir());
    const started = (await ex("for {:elixir, _, vsn} <- Application.started_applications(), do: to_string(vsn)")) as Term[];
    expect(started.map(text)).toEqual([elixirVersion]);
  });
});

describe("erldist calling and casting an Elixir GenServer", () => {
  let counter: Pid;

  beforeAll(async () => {
    const started = (await beam.call("Elixir.Counter", "start", [atom("Elixir.Counter"), 0])) as Tuple;
    expect(started.elements[0]).toBe(atom("ok"));
    counter = started.elements[1] as Pid;
  });

  it("calls it by registered name (an atom or a string) and by pid", async () => {
    expect(await node.call([atom("Elixir.Counter"), beam.name], tuple(atom("add"), 5))).toBe(5);
    expect(await node.call(["Elixir.Counter", beam.name], atom("get"))).toBe(5);
    expect(await node.call(counter, tuple(atom("add"), 2))).toBe(7);
    expect(equals(await ex("Process.whereis(Counter)"), counter)).toBe(true);
  });

  it("casts to it by name and by pid, and the Elixir state changes", async () => {
    const before = (await node.call(counter, atom("get"))) as number;
    await node.cast([atom("Elixir.Counter"), beam.name], tuple(atom("add"), 10));
    await node.cast(counter, tuple(atom("add"), 100));
    // Casts from one sender arrive in order, so once the call (sent after them) answers both are applied.
    expect(await node.call(counter, atom("get"))).toBe(before + 110);
    expect(await ex("GenServer.call(Counter, :get)")).toBe(before + 110);
  });

  it("a missing Elixir name fails with noproc, a GenServer that stops with its exit reason", async () => {
    const missing = await rejectionOf(node.call([atom("Elixir.NoSuchServer"), beam.name], atom("get")), CallError);
    expect(missing.code).toBe("noproc");
    await beam.call("Elixir.Counter", "start", [atom("doomed_counter"), 0]);
    const stopped = await rejectionOf(node.call(["doomed_counter", beam.name], tuple(atom("stop"), tuple(atom("shutdown"), atom("tested")))), CallError);
    expect(stopped.code).toBe("exit");
    expect(stopped.reason).toEqual(tuple(atom("shutdown"), atom("tested")));
  });
});

describe("Elixir calling and casting a gen_server erldist serves", () => {
  const casts: Term[] = [];
  let releaseHang: (() => void) | undefined;
  let server: ReturnType<Node["serve"]>;

  beforeAll(() => {
    server = node.serve("calc", {
      call: async (request, from) => {
        if (request === atom("whoami")) return from;
        if (request === atom("hang")) {
          await new Promise<void>((resolve) => (releaseHang = resolve));
          return atom("late");
        }
        const [op, a, b] = (request as Tuple).elements as [Term, number, number];
        if (op === atom("add")) return a + b;
        if (op === atom("fail")) throw new Error("asked to fail");
        return tuple(atom("unknown"), request);
      },
      cast: (request) => void casts.push(request),
    });
  });

  afterAll(() => {
    releaseHang?.(); // a failed test must not leave the server waiting
    server.exit();
  });

  it("GenServer.call({name, node}, request) gets the reply, and the caller's own pid is the from", async () => {
    expect(await ex("GenServer.call({:calc, node}, {:add, 2, 40})", { node: me() })).toBe(42);
    expect(await ex("GenServer.call({:calc, node}, :whoami) == self()", { node: me() })).toBe(true);
    const many = await ex("for i <- 1..20, do: GenServer.call({:calc, node}, {:add, i, i})", { node: me() });
    expect(many).toEqual(Array.from({ length: 20 }, (_, i) => 2 * (i + 1)));
  });

  it("GenServer.call by the server's pid works too", async () => {
    expect(await beam.call("Elixir.ErldistPeer", "call", [server.pid, tuple(atom("add"), 1, 2)])).toBe(3);
  });

  it("GenServer.cast returns :ok and the request reaches the handler, in order", async () => {
    casts.length = 0;
    expect(await ex("for i <- 1..3, do: GenServer.cast({:calc, node}, {:note, i})", { node: me() })).toEqual([atom("ok"), atom("ok"), atom("ok")]);
    await beam.call("Elixir.ErldistPeer", "cast", [server.pid, tuple(atom("note"), 4)]);
    await expect.poll(() => casts.length, { timeout: 10_000 }).toBe(4);
    expect(casts).toEqual([1, 2, 3, 4].map((i) => tuple(atom("note"), i)));
  });

  it("Elixir sees the exits GenServer.call raises (noproc, timeout), and a reply after the timeout is dropped", async () => {
    const noproc = (await beam.call("Elixir.ErldistPeer", "try_call", [tuple(atom("nobody"), me()), atom("x")])) as Tuple;
    expect(noproc.elements[0]).toBe(atom("exit"));
    const [reason, where] = (noproc.elements[1] as Tuple).elements as [Term, Tuple];
    expect(reason).toBe(atom("noproc"));
    expect(where.elements.slice(0, 2)).toEqual([atom("Elixir.GenServer"), atom("call")]);

    const [caller, timedOut] = ((await beam.call("Elixir.ErldistPeer", "call_and_linger", [tuple(atom("calc"), me()), atom("hang"), 200])) as Tuple).elements as [Pid, Tuple];
    expect(timedOut.elements[0]).toBe(atom("exit"));
    expect((timedOut.elements[1] as Tuple).elements[0]).toBe(atom("timeout"));
    releaseHang?.(); // the handler now answers, too late
    // Requests are served in order, so once this reply is here the late one has been sent and delivered (or dropped).
    expect(await ex("GenServer.call({:calc, node}, {:add, 1, 1})", { node: me() })).toBe(2);
    expect(await beam.call("Elixir.ErldistPeer", "mailbox_of", [caller])).toEqual([]);
  });

  it("a handler that throws answers {:error, message} and the server goes on", async () => {
    const failed = await ex("GenServer.call({:calc, node}, {:fail, 0, 0})", { node: me() });
    expect(failed).toEqual(tuple(atom("error"), Buffer.from("asked to fail")));
    expect(await ex("GenServer.call({:calc, node}, {:add, 1, 1})", { node: me() })).toBe(2);
  });
});

describe("structs", () => {
  const jsPoint = (x: number, y: number, label: Encodable = atom("nil")) => ({ __struct__: atom("Elixir.Point"), x, y, label });

  it("%Point{} from Elixir arrives as a map with __struct__ and every field", async () => {
    const point = await node.rpc(beam.name, "Elixir.Point", "new", [1, 2]);
    expect(point).toBeInstanceOf(Map);
    expect(field(point, "__struct__")).toBe(atom("Elixir.Point"));
    expect([field(point, "x"), field(point, "y"), field(point, "label")]).toEqual([1, 2, atom("nil")]);
    // Exactly the struct's keys, as the peer itself lists them.
    const keys = ((await ex("Map.keys(%Point{x: 0, y: 0})")) as Atom[]).map((k) => k.name).sort();
    expect([...(point as Map<Atom, Term>).keys()].map((k) => k.name).sort()).toEqual(keys);
  });

  it("a struct built in JS is the struct in Elixir (pattern match), a map without __struct__ is not", async () => {
    expect(await node.rpc(beam.name, "Elixir.Point", "describe", [jsPoint(3, 4, "js")])).toEqual(tuple(atom("point"), 3, 4, Buffer.from("js")));
    const bare = await node.erpc(beam.name, "Elixir.Point", "describe", [{ x: 3, y: 4, label: atom("nil") }]);
    expect((bare as Tuple).elements[0]).toBe(atom("not_a_point"));
    // Struct update syntax (%Point{p | ...}) works on it only if it is a real %Point{}.
    const moved = await node.erpc(beam.name, "Elixir.Point", "move", [jsPoint(1, 1), 10, 20]);
    expect([field(moved, "__struct__"), field(moved, "x"), field(moved, "y")]).toEqual([atom("Elixir.Point"), 11, 21]);
  });

  it("a struct decoded from Elixir goes back as the same struct", async () => {
    const point = await node.rpc(beam.name, "Elixir.Point", "new", [5, 6, "back"]);
    expect(await node.rpc(beam.name, "Elixir.Point", "describe", [point as Encodable])).toEqual(tuple(atom("point"), 5, 6, Buffer.from("back")));
    expect(await ex("p == %Point{x: 5, y: 6, label: \"back\"}", { p: point as Encodable })).toBe(true);
  });

  it("structs through GenServer calls both ways: into an Elixir GenServer, and as the reply of erldist's", async () => {
    await beam.call("Elixir.Counter", "start", [atom("point_store"), 0]);
    expect(await node.call(["point_store", beam.name], tuple(atom("put_point"), jsPoint(7, 8)))).toBe(atom("stored"));
    expect(await ex("match?(%Point{x: 7, y: 8, label: nil}, GenServer.call(:point_store, :point))")).toBe(true);
    const refused = (await node.call(["point_store", beam.name], tuple(atom("put_point"), { x: 7, y: 8 }))) as Tuple;
    expect(refused.elements[0]).toBe(atom("not_a_point"));

    const server = node.serve("point_maker", { call: (request) => jsPoint((request as Tuple).elements[0] as number, (request as Tuple).elements[1] as number, "made") });
    try {
      const reply = await beam.call("Elixir.ErldistPeer", "point_reply", [tuple(atom("point_maker"), me()), tuple(9, 10)]);
      expect(reply).toEqual(tuple(atom("matched"), 9, 10, Buffer.from("made")));
    } finally {
      server.exit();
    }
  });
});

describe("rpc and erpc into Elixir modules", () => {
  it("calls Elixir.String, Elixir.Enum and a fixture module", async () => {
    expect(text(await node.rpc(beam.name, "Elixir.String", "upcase", ["héllo wörld"]))).toBe("HÉLLO WÖRLD");
    expect(await node.erpc(beam.name, "Elixir.String", "split", ["a,b,c", ","])).toEqual(["a", "b", "c"].map((s) => Buffer.from(s)));
    expect(await node.rpc(beam.name, "Elixir.Enum", "sum", [[1, 2, 3, 4]])).toBe(10);
    expect(await node.erpc(beam.name, "Elixir.Enum", "zip", [[1, 2], [atom("a"), atom("b")]])).toEqual([tuple(1, atom("a")), tuple(2, atom("b"))]);
    expect(await node.erpc(beam.name, "Elixir.Enum", "sort", [[3, 1, 2]])).toEqual([1, 2, 3]);
    // A fixture function that itself calls the Counter GenServer: the same count erldist's own call sees.
    const count = await node.call([atom("Elixir.Counter"), beam.name], atom("get"));
    expect(await node.erpc(beam.name, "Elixir.ErldistPeer", "call", [atom("Elixir.Counter"), atom("get")])).toBe(count);
  });

  it("erpc: an Elixir exception comes back as class error with the exception struct and its stack", async () => {
    const error = await rejectionOf(node.erpc(beam.name, "Elixir.ErldistPeer", "boom", [7]), CallError);
    expect(error.code).toBe("exception");
    expect(error.errorClass).toBe("error");
    expect(field(error.reason as Term, "__struct__")).toBe(atom("Elixir.ErldistPeer.Boom"));
    expect(field(error.reason as Term, "__exception__")).toBe(true);
    expect([text(field(error.reason as Term, "message")!), field(error.reason as Term, "code")]).toEqual(["boom 7", 7]);
    const frames = error.stacktrace as Tuple[];
    expect(frames.some((frame) => frame.elements[0] === atom("Elixir.ErldistPeer") && frame.elements[1] === atom("boom"))).toBe(true);
    // The struct survives the trip back: Elixir still treats it as an exception.
    expect(await node.erpc(beam.name, "Elixir.ErldistPeer", "exception?", [error.reason as Encodable])).toBe(true);
    expect(text(await node.erpc(beam.name, "Elixir.ErldistPeer", "message_of", [error.reason as Encodable]))).toBe("boom 7");
  });

  it("erpc: a standard library exception (KeyError from Keyword.fetch!) keeps the message the peer gives it", async () => {
    const error = await rejectionOf(node.erpc(beam.name, "Elixir.Keyword", "fetch!", [[tuple(atom("a"), 1)], atom("missing")]), CallError);
    expect(error.errorClass).toBe("error");
    expect(field(error.reason as Term, "__struct__")).toBe(atom("Elixir.KeyError"));
    expect(field(error.reason as Term, "key")).toBe(atom("missing"));
    // The wording differs between Elixir versions: compare with what this peer says when it raises it itself.
    const own = text(await ex("try do Keyword.fetch!([a: 1], :missing) rescue e -> Exception.message(e) end"));
    expect(text(await node.erpc(beam.name, "Elixir.ErldistPeer", "message_of", [error.reason as Encodable]))).toBe(own);
  });

  it("erpc: an error Elixir raises as a raw Erlang reason normalizes on the peer as its own rescue does", async () => {
    // Map.fetch! leaves the raising to :maps.get ({:badkey, k}; it is `rescue` that makes a KeyError of it), so
    // what arrives is whatever the peer's version raises: the peer normalizes it.
    const error = await rejectionOf(node.erpc(beam.name, "Elixir.Map", "fetch!", [new Map(), atom("missing")]), CallError);
    expect(error.errorClass).toBe("error");
    const own = text(await ex("try do Map.fetch!(%{}, :missing) rescue e -> Exception.message(e) end"));
    const message = await node.erpc(beam.name, "Elixir.ErldistPeer", "normalized_message", [error.reason as Encodable, error.stacktrace as Encodable]);
    expect(text(message)).toBe(own);
  });

  it("erpc: Elixir's throw and exit keep their class and value", async () => {
    const thrown = await rejectionOf(node.erpc(beam.name, "Elixir.ErldistPeer", "throw_it", [tuple(atom("ball"), 1)]), CallError);
    expect([thrown.errorClass, thrown.reason]).toEqual(["throw", tuple(atom("ball"), 1)]);
    const exited = await rejectionOf(node.erpc(beam.name, "Elixir.ErldistPeer", "exit_with", [atom("bye")]), CallError);
    expect([exited.errorClass, exited.reason]).toEqual(["exit", atom("bye")]);
  });

  it("rpc: an Elixir exception is {badrpc, {'EXIT', {%ArgumentError{}, stack}}}", async () => {
    const error = await rejectionOf(node.rpc(beam.name, "Elixir.ErldistPeer", "fail", ["bad input"]), CallError);
    expect(error.code).toBe("badrpc");
    const [tag, exit] = (error.reason as Tuple).elements as [Term, Tuple];
    expect(tag).toBe(atom("EXIT"));
    const [exception, stack] = exit.elements;
    expect(field(exception, "__struct__")).toBe(atom("Elixir.ArgumentError"));
    expect(text(field(exception, "message")!)).toBe("bad input");
    expect(Array.isArray(stack)).toBe(true);
  });
});

describe("how the Elixir node lists erldist", () => {
  const list = async (...args: Encodable[]) => ((await beam.call("Elixir.Node", "list", args)) as Atom[]).map((a) => a.name);

  it("Node.list(:hidden) has erldist, Node.list() has the visible nodes but not erldist", async () => {
    await node.connect(beam.name);
    expect(await ex("Node.connect(other)", { other: atom(plain!.name) })).toBe(true);
    expect(await list(atom("hidden"))).toContain(node.name);
    expect(await list()).toContain(plain!.name);
    expect(await list()).not.toContain(node.name);
    expect(await list(atom("connected"))).toEqual(expect.arrayContaining([node.name, plain!.name]));
  });

  it("also when the Elixir node is the one that connects (Node.connect to erldist)", async () => {
    node.disconnect(beam.name);
    await expect.poll(() => list(atom("hidden")), { timeout: 10_000 }).not.toContain(node.name);
    expect(await ex("Node.connect(erldist)", { erldist: me() })).toBe(true);
    expect(await list(atom("hidden"))).toContain(node.name);
    expect(await list()).not.toContain(node.name);
    expect(node.nodes()).toContain(beam.name);
  });
});
