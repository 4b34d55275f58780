// Terms for people, against a real Elixir node of the release under test: a node started with
// terms: { binariesAsStrings, nilAsNull } gets Elixir strings as JS strings (other binaries as Buffers) and nil as
// null in messages, call replies, rpc/erpc results and exit reasons, and what it sends back is === on the Elixir
// side; the struct and keyword helpers against %URI{}, Keyword and String.split's options; EncodeError paths
// through send, call and cast; and what a string sent where BEAM expects an atom does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Atom,
  EncodeError,
  Pid,
  Tuple,
  atom,
  encode,
  isKeyword,
  isStruct,
  keyword,
  keywordToObject,
  mapToObject,
  struct,
  tuple,
  type Encodable,
  type Term,
} from "../../src/etf/index.js";
import { CallError, Node } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd | undefined;
let beam: BeamNode | undefined; // the Elixir node
let node: Node | undefined; // terms: { binariesAsStrings: true, nilAsNull: true }
let plain: Node | undefined; // the defaults, for contrast

beforeAll(async () => {
  // One by one, so that afterAll stops whatever started even if a later start fails.
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd, elixir: true });
  const common = { cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" };
  node = await Node.start({ name: "termsnode@127.0.0.1", ...common, terms: { binariesAsStrings: true, nilAsNull: true } });
  plain = await Node.start({ name: "plainterms@127.0.0.1", ...common });
});

afterAll(async () => {
  await node?.stop();
  await plain?.stop();
  await beam?.stop();
  await epmd?.stop();
});

const peer = () => beam!.name;

/**
 * Evaluates Elixir source on the peer through `on`'s rpc (Code.eval_string with `binding` as its variables): the
 * binding goes out and the value comes back as that node's terms setting has them.
 */
async function ex(source: string, binding: Record<string, Encodable> = {}, on: Node = node!): Promise<Term> {
  const vars = Object.entries(binding).map(([name, value]) => tuple(atom(name), value));
  return ((await on.rpc(peer(), "Elixir.Code", "eval_string", [source, vars])) as Tuple).elements[0];
}

const isTagged = (tag: string) => (m: Term): m is Tuple => m instanceof Tuple && m.at(0) === atom(tag);

describe("a node with terms: { binariesAsStrings, nilAsNull }", () => {
  const sample = `{:terms, self(), "héllo", <<255, 0, 1>>, nil, [nil, "a", :nil_not], %{"key" => "v", <<255>> => nil, name: nil}, ""}`;

  it("receives Elixir strings as strings, other binaries as Buffers, nil as null; sent back, they are === in Elixir", async () => {
    const p = node!.spawn();
    // The Elixir side sends the sample, then waits for it to come back and compares with === itself.
    const verdict = ex(`send(to, ${sample}); receive do {:echo, echoed} -> echoed === ${sample} after 10_000 -> :no_echo end`, { to: p.pid });
    verdict.catch(() => undefined); // awaited below; it must not count as unhandled meanwhile
    const message = await p.receive(isTagged("terms"), { timeout: 10_000 }); // a Tuple, by the type guard
    const [, from, text, bytes, nil, list, map, empty] = message.elements;
    expect(text).toBe("héllo");
    expect(bytes).toEqual(Buffer.from([255, 0, 1]));
    expect(nil).toBe(null);
    expect(list).toEqual([null, "a", atom("nil_not")]);
    expect(map).toEqual(new Map<Term, Term>([["key", "v"], [atom("name"), null], [Buffer.from([255]), null]]));
    expect(empty).toBe("");
    await p.send(from as Pid, tuple(atom("echo"), message));
    expect(await verdict).toBe(true);
    p.exit();
  });

  it("the same message reaches a node with the defaults as Buffers and the atom nil, and also goes back ===", async () => {
    const p = plain!.spawn();
    const verdict = ex(`send(to, ${sample}); receive do {:echo, echoed} -> echoed === ${sample} after 10_000 -> :no_echo end`, { to: p.pid }, plain);
    verdict.catch(() => undefined);
    const message = await p.receive(isTagged("terms"), { timeout: 10_000 });
    expect(message.elements.slice(2, 5)).toEqual([Buffer.from("héllo"), Buffer.from([255, 0, 1]), atom("nil")]);
    await p.send(message.elements[1] as Pid, tuple(atom("echo"), message));
    expect(await verdict).toBe(true);
    p.exit();
  });

  it("a binary arrives as a string exactly when Elixir's String.valid?/1 says it is one", async () => {
    const bins = `["", "abc", "é", "🎉", <<0xEF, 0xBB, 0xBF>>, <<"a", 0, "b">>, <<0xEF, 0xBF, 0xBE>>, <<0xC3>>, <<0xFF>>,
      <<0xC0, 0x80>>, <<0xED, 0xA0, 0x80>>, <<0xF4, 0x90, 0x80, 0x80>>, <<"abc", 0xE9>>, :binary.copy("x", 100_000),
      :binary.copy(<<0xE9>>, 1000)]`;
    const [values, valid] = ((await ex(`bins = ${bins}; {bins, Enum.map(bins, &String.valid?/1)}`)) as Tuple).elements as [Term[], boolean[]];
    expect(values.map((value) => typeof value === "string")).toEqual(valid);
    expect(valid).toContain(false);
    // And every one goes back as the very binary it was.
    expect(await ex(`bins === ${bins}`, { bins: values as Encodable })).toBe(true);
  });

  it("applies to call replies: nil and strings in what an Elixir GenServer answers, and structs among them", async () => {
    await beam!.call("Elixir.Counter", "start", [atom("terms_store"), 0]);
    expect(await node!.call(["terms_store", peer()], atom("point"))).toBe(null);
    expect(await plain!.call(["terms_store", peer()], atom("point"))).toBe(atom("nil"));
    const point = struct("Point", { x: 1, y: null, label: "héllo" });
    expect(await node!.call(["terms_store", peer()], tuple(atom("put_point"), point))).toBe(atom("stored"));
    const stored = await node!.call(["terms_store", peer()], atom("point"));
    expect(isStruct(stored, "Point")).toBe(true);
    expect(mapToObject(stored)).toEqual({ __struct__: atom("Elixir.Point"), x: 1, y: null, label: "héllo" });
    expect(await ex(`p === %Point{x: 1, y: nil, label: "héllo"}`, { p: stored as Encodable })).toBe(true);
  });

  it("applies to rpc and erpc results, and to the reason of an erpc exception", async () => {
    expect(await node!.rpc(peer(), "Elixir.String", "upcase", ["héllo"])).toBe("HÉLLO");
    expect(await node!.erpc(peer(), "Elixir.Map", "get", [new Map(), atom("x")])).toBe(null);
    expect(await node!.erpc(peer(), "Elixir.Map", "get", [{ a: "x" }, atom("a")])).toBe("x");
    expect(await node!.rpc(peer(), "Elixir.String", "split", ["a b"])).toEqual(["a", "b"]);
    expect(await plain!.rpc(peer(), "Elixir.String", "upcase", ["héllo"])).toEqual(Buffer.from("HÉLLO"));
    const error = await rejectionOf(node!.erpc(peer(), "Elixir.ErldistPeer", "boom", [7]), CallError);
    expect(error.errorClass).toBe("error");
    expect(mapToObject(error.reason as Term)).toMatchObject({ __struct__: atom("Elixir.ErldistPeer.Boom"), message: "boom 7", code: 7 });
  });

  it("applies to what an Elixir GenServer.call asks of a server erldist serves, and to its reply", async () => {
    const seen: Term[] = [];
    const server = node!.serve("terms_calc", {
      call: (request) => {
        seen.push(request);
        const [, text] = (request as Tuple).elements;
        return tuple((text as string).toUpperCase(), null);
      },
    });
    try {
      expect(await ex(`GenServer.call({:terms_calc, n}, {:upcase, "héllo", nil}) === {"HÉLLO", nil}`, { n: atom(node!.name) })).toBe(true);
      expect(seen).toEqual([tuple(atom("upcase"), "héllo", null)]);
    } finally {
      server.exit();
    }
  });

  it("applies to local sends too, as they would arrive over the wire", async () => {
    const p = node!.spawn();
    node!.register("terms_local", p);
    await node!.send(p.pid, tuple(Buffer.from("héllo"), atom("nil"), Buffer.from([255])));
    expect(await p.receive()).toEqual(tuple("héllo", null, Buffer.from([255])));
    await node!.send("terms_local", [null, "x"]);
    expect(await p.receive()).toEqual([null, "x"]);
    p.exit();
  });

  it("applies to exit reasons: nil as null in 'EXIT' messages, and a string reason stays a string as it goes on", async () => {
    const victim = () => ex(`spawn(fn -> receive do {:exit, r} -> exit(r) end end)`) as Promise<Pid>;
    const trapping = node!.spawn();
    trapping.trapExits = true;
    const first = await victim();
    await trapping.link(first);
    await trapping.send(first, tuple(atom("exit"), null));
    expect((await trapping.receive(isTagged("EXIT"), { timeout: 10_000 })).elements).toEqual([atom("EXIT"), first, null]);
    trapping.exit();

    // Not trapping: the process ends with the reason as received, a string, and BEAM sees that very reason.
    const p = node!.spawn();
    const second = await victim();
    await p.link(second);
    const down = ex(
      `ref = Process.monitor(p); send(v, {:exit, "bye"}); receive do {:DOWN, ^ref, :process, _, r} -> r after 10_000 -> :no_down end`,
      { p: p.pid, v: second },
    );
    expect(await down).toBe("bye");
    expect(p.alive).toBe(false);
    expect(p.reason).toBe("bye");
  });
});

describe("Elixir helpers against Elixir", () => {
  it("a struct built with struct() is a %URI{} in Elixir: pattern match, is_struct/2, URI.to_string/1", async () => {
    // Every field the peer's %URI{} has (they differ between Elixir versions), the ones not given as nil.
    const fields = ((await ex("Map.keys(%URI{}) -- [:__struct__]")) as Atom[]).map((key) => key.name);
    const given: Record<string, Encodable> = { scheme: "https", host: "example.com", port: 443, path: "/x" };
    const uri = struct("URI", Object.fromEntries(fields.map((name) => [name, given[name] ?? null])));
    const check = `match?(%URI{host: "example.com"}, u) and is_struct(u, URI) and URI.to_string(u) === "https://example.com/x"`;
    expect(await ex(check, { u: uri })).toBe(true);
    // struct() writes missing fields as nil itself, so this works on a node with the default terms too.
    expect(await ex(check, { u: uri }, plain)).toBe(true);
  });

  it("a %URI{} from Elixir is a struct of URI, readable as an object, and goes back the same", async () => {
    const uri = await node!.rpc(peer(), "Elixir.URI", "parse", ["https://example.com:8443/a?q=1"]);
    expect(isStruct(uri)).toBe(true);
    expect(isStruct(uri, "URI")).toBe(true);
    expect(isStruct(uri, "Elixir.Point")).toBe(false);
    const fields = mapToObject(uri);
    expect(fields).toMatchObject({ scheme: "https", host: "example.com", port: 8443, path: "/a", query: "q=1", fragment: null });
    expect(await ex(`u === URI.parse("https://example.com:8443/a?q=1")`, { u: uri as Encodable })).toBe(true);
    // Changed in JS and rebuilt with struct(), from the decoded fields.
    const moved = struct("URI", { ...fields, host: "example.org" });
    expect(await node!.rpc(peer(), "Elixir.URI", "to_string", [moved])).toBe("https://example.org:8443/a?q=1");
  });

  it("keyword lists both ways: keyword() is a keyword list in Elixir, and Elixir's read back as objects", async () => {
    const kw = keyword({ a: 1, b: "two", c: null, left_out: undefined });
    expect(await ex(`Keyword.keyword?(kw) and kw === [a: 1, b: "two", c: nil] and Keyword.get(kw, :b) === "two"`, { kw })).toBe(true);
    // As the options of a real Elixir function, from a node with the default terms.
    expect(await plain!.rpc(peer(), "Elixir.String", "split", ["a,b,,c", ",", keyword({ trim: true })])).toEqual(["a", "b", "c"].map((s) => Buffer.from(s)));
    const pairs = keyword([["a", 1], ["a", 2]]);
    expect(await ex(`kw === [a: 1, a: 2] and Keyword.get_values(kw, :a) === [1, 2]`, { kw: pairs })).toBe(true);

    const fromElixir = await ex(`[a: 1, b: "x", a: 3, none: nil]`);
    expect(isKeyword(fromElixir)).toBe(true);
    const object = keywordToObject(fromElixir);
    expect(object).toEqual({ a: 1, b: "x", none: null });
    expect(await ex(`Keyword.get(kw, :a)`, { kw: fromElixir as Encodable })).toBe(object.a); // first wins, as Keyword.get
    expect(isKeyword(await ex(`%{a: 1}`))).toBe(false);
  });

  it("mapToObject reads atom-keyed and string-keyed Elixir maps", async () => {
    expect(mapToObject(await ex(`%{"name" => "ada", "langs" => ["elixir"]}`))).toEqual({ name: "ada", langs: ["elixir"] });
    expect(mapToObject(await ex(`%{name: "ada", born: 1815, died: nil}`))).toEqual({ name: "ada", born: 1815, died: null });
  });
});

describe("EncodeError paths through the node", () => {
  const bad = { a: null } as unknown as Encodable; // no Erlang form without nilAsNull
  const pathOf = (term: unknown): string => {
    try {
      encode(term as Encodable);
    } catch (err) {
      return (err as EncodeError).path;
    }
    throw new Error("expected an EncodeError");
  };

  it("send and p.send report the path encode() reports, to remote and local destinations, connected or not", async () => {
    expect(pathOf(bad)).toBe(".a");
    const remote = (await ex("spawn(fn -> receive do _ -> :ok end end)", {}, plain)) as Pid;
    const local = plain!.spawn();
    plain!.register("path_local", local);
    const p = plain!.spawn();
    const attempts: Array<[string, () => Promise<void>]> = [
      ["node.send to a remote pid", () => plain!.send(remote, bad)],
      ["node.send to a remote name", () => plain!.send(["Elixir.Counter", peer()], bad)],
      ["p.send to a remote pid", () => p.send(remote, bad)],
      ["node.send to a local pid", () => plain!.send(local.pid, bad)],
      ["p.send to a local name", () => p.send("path_local", bad)],
      ["p.send to a local alias", () => p.send(local.alias(), bad)],
    ];
    for (const [what, attempt] of attempts) {
      const error = await rejectionOf(attempt(), EncodeError);
      expect([what, error.path]).toEqual([what, ".a"]);
      expect(error.message).toMatch(/at \.a .*null has no Erlang form/);
    }
    // Not connected: the message is encoded (and refused) before the connection is made.
    plain!.disconnect(peer());
    expect((await rejectionOf(p.send(remote, bad), EncodeError)).path).toBe(".a");
    expect(local.queued).toBe(0);
    p.exit();
    local.exit();
  });

  it("call and cast report the request's path, not one inside {'$gen_call', From, Request}; rpc and erpc the arguments'", async () => {
    const counter = ["Elixir.Counter", peer()] as const;
    await beam!.call("Elixir.Counter", "start", [atom("Elixir.Counter"), 0]).catch(() => undefined); // may run already
    const nested = tuple(atom("add"), [1, { a: null }]) as unknown as Encodable;
    expect(pathOf(nested)).toBe("{1}[1].a");
    expect((await rejectionOf(plain!.call(counter, bad), EncodeError)).path).toBe(".a");
    expect((await rejectionOf(plain!.call(counter, nested), EncodeError)).path).toBe("{1}[1].a");
    expect((await rejectionOf(plain!.cast(counter, bad), EncodeError)).path).toBe(".a");
    expect((await rejectionOf(plain!.call(counter, null as unknown as Encodable), EncodeError)).path).toBe("");
    expect(pathOf([bad])).toBe("[0].a");
    expect((await rejectionOf(plain!.rpc(peer(), "Elixir.Map", "keys", [bad]), EncodeError)).path).toBe("[0].a");
    expect((await rejectionOf(plain!.erpc(peer(), "Elixir.Map", "keys", [bad]), EncodeError)).path).toBe("[0].a");
    // Nothing was sent: the server is there, and answers.
    expect(typeof (await plain!.call(counter, atom("get")))).toBe("number");
  });

  it("with nilAsNull, null goes and an undefined field is left out; undefined elsewhere still fails with its path", async () => {
    expect(await ex(`m === %{a: nil}`, { m: { a: null, b: undefined } })).toBe(true);
    const p = node!.spawn();
    const remote = (await ex("spawn(fn -> receive do _ -> :ok end end)")) as Pid;
    const error = await rejectionOf(p.send(remote, { list: [1, undefined] } as unknown as Encodable), EncodeError);
    expect(error.path).toBe(".list[1]");
    const cast = await rejectionOf(node!.cast(["Elixir.Counter", peer()], tuple(undefined as unknown as Encodable)), EncodeError);
    expect(cast.path).toBe("{0}");
    p.exit();
  });
});

describe("strings where BEAM expects atoms", () => {
  it("a string request is a binary: a GenServer matching the atom :get crashes with function_clause, and says so", async () => {
    await beam!.call("Elixir.Counter", "start", [atom("strict_counter"), 5]);
    expect(await plain!.call(["strict_counter", peer()], atom("get"))).toBe(5);
    const error = await rejectionOf(plain!.call(["strict_counter", peer()], "get"), CallError);
    expect(error.code).toBe("exit");
    const [reason, stack] = (error.reason as Tuple).elements as [Term, Tuple[]];
    expect(reason).toBe(atom("function_clause"));
    // The top frame is the callback with the arguments it got: the request is the binary <<"get">>.
    const [module, fn, args] = stack[0].elements as [Atom, Atom, Term[]];
    expect([module, fn, args[0]]).toEqual([atom("Elixir.Counter"), atom("handle_call"), Buffer.from("get")]);
    expect(error.message).toContain("get");
    // The server is gone (it crashed), and the peer's crash report shows the binary it got.
    expect((await rejectionOf(plain!.call(["strict_counter", peer()], atom("get")), CallError)).code).toBe("noproc");
    await expect.poll(() => beam!.output, { timeout: 10_000 }).toMatch(/Generic server strict_counter terminating\s+\*\* Last message in was <<"get">>/);
    // An Elixir app runs Elixir's Logger, which says it the Elixir way.
    expect(await ex(`{:ok, _} = Application.ensure_all_started(:logger); :ok`, {}, plain)).toEqual(atom("ok"));
    await beam!.call("Elixir.Counter", "start", [atom("strict_counter"), 5]);
    await rejectionOf(plain!.call(["strict_counter", peer()], "get"), CallError);
    await expect.poll(() => beam!.output, { timeout: 10_000 }).toMatch(/no function clause matching in Counter\.handle_call\/3/);
  });

  it("names and module names may be strings (they are made atoms), but a message's tuple tag may not", async () => {
    expect(await plain!.rpc(peer(), "Elixir.String", "length", ["abc"])).toBe(3); // rpc's module and function: atoms
    expect(await plain!.call(["Elixir.Counter", peer()], tuple(atom("add"), 0))).toEqual(expect.any(Number));
    // {"add", 1} is {<<"add">>, 1}: no handle_call clause of Counter matches it either.
    await beam!.call("Elixir.Counter", "start", [atom("strict_counter2"), 0]);
    const error = await rejectionOf(plain!.call(["strict_counter2", peer()], tuple("add", 1)), CallError);
    expect(((error.reason as Tuple).elements[0] as Atom).name).toBe("function_clause");
  });
});
