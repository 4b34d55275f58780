// CallError messages say why, against real erl and a real Elixir node: each message carries the Erlang reason as
// `format` writes it (cut at REASON_LIMIT characters plus "…"), says which function is undefined (with the
// Elixir alias hint), gives an exception's class, reason and top stack frame, and a server's exit reason. Where the
// peer has words of its own for the same thing (erl_error:format_exception, Kernel.inspect), the message is
// compared with them rather than with a string one release prints.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, tuple, type Encodable, type Term, Tuple } from "../../src/etf/index.js";
import { format } from "../../src/etf/format.js";
import { CallError, Node, REASON_LIMIT, explainCallError, formatReason, iolistToString } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { rejectionOf } from "../support/rejection.js";

let epmd: Epmd | undefined;
let erl: BeamNode; // plain Erlang
let elixir: BeamNode; // with Elixir and the fixtures in test/fixtures/elixir
let node: Node;

beforeAll(async () => {
  epmd = await startEpmd();
  [erl, elixir] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd, elixir: true })]);
  node = await Node.start({ name: "errors@127.0.0.1", cookie: erl.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  await erl.eval("kv_server:start(kv), ok.");
});

afterAll(async () => {
  await node?.stop();
  await Promise.all([erl?.stop(), elixir?.stop()]);
  await epmd?.stop();
});

/** What erl itself says of an exception (erl_error:format_exception/3, OTP 24+): lines, terms spread over several. */
async function erlSays(beam: BeamNode, errorClass: string, reason: unknown, stack: unknown): Promise<string> {
  return iolistToString(await beam.call("erl_error", "format_exception", [atom(errorClass), reason as Encodable, stack as Encodable]));
}

/** The first location erl writes, "(file, line N)" before OTP 29 and "(file:N)" since: [file, line]. */
function erlLocation(text: string): [string, number] {
  const match = /\(([^\s(),]+)(?:, line |:)(\d+)\)/.exec(text);
  if (!match) throw new Error(`no location in ${text}`);
  return [match[1], Number(match[2])];
}

/** erl's "in function  M:F/A (file, line N)" line: the top frame it names, and where. */
function erlTopFrame(text: string): { mfa: string; file: string; line: number } {
  const where = text.split("\n").find((line) => /^\s+in function\s/.test(line));
  if (!where) throw new Error(`no "in function" line in ${text}`);
  const [file, line] = erlLocation(where);
  return { mfa: /in function\s+(\S+)/.exec(where)![1], file, line };
}

/** The line of a fixture's source that contains `text` (1-based), so that no line number is written down here. */
function lineOf(fixture: string, text: string): number {
  const source = readFileSync(fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url)), "utf8").split("\n");
  const index = source.findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`${text} is not in ${fixture}`);
  return index + 1;
}

/** The reason as the message must carry it: format's one line, cut at REASON_LIMIT characters plus "…". */
function cut(term: unknown): string {
  const chars = [...format(term as Term, { lineLength: Infinity })];
  return chars.length > REASON_LIMIT ? `${chars.slice(0, REASON_LIMIT).join("")}…` : chars.join("");
}

describe("badrpc undef says which function is undefined", () => {
  it("an Erlang function that does not exist, named as erl names it", async () => {
    const error = await rejectionOf(node.rpc(erl.name, "lists", "no_such_function", [1]), CallError);
    expect(error.code).toBe("badrpc");
    const [, exit] = (error.reason as Tuple).elements as [Term, Tuple];
    const [, stack] = exit.elements;
    const [first] = (await erlSays(erl, "error", atom("undef"), stack)).split("\n");
    expect(first).toMatch(/^exception error: undefined function /);
    expect(error.message).toContain(`rpc lists:no_such_function/1 on ${erl.name} failed: ${first.replace(/^exception error: /, "")}`);
    expect(error.message).not.toContain("did you mean");
    expect(error.message).toContain(`badrpc reason: ${cut(error.reason)}`);
  });

  it("an Elixir module named without Elixir. (Enum, String.Chars): did you mean 'Elixir.Enum'?", async () => {
    const sum = await rejectionOf(node.rpc(elixir.name, "Enum", "sum", [[1, 2, 3]]), CallError);
    const [, exit] = (sum.reason as Tuple).elements as [Term, Tuple];
    const [first] = (await erlSays(elixir, "error", atom("undef"), exit.elements[1])).split("\n");
    expect(sum.message).toContain(`${first.replace(/^exception error: /, "")} (did you mean 'Elixir.Enum'?)`);
    // And the module it suggests is the one that works.
    expect(await node.rpc(elixir.name, "Elixir.Enum", "sum", [[1, 2, 3]])).toBe(6);

    const chars = await rejectionOf(node.rpc(elixir.name, "String.Chars", "to_string", [1]), CallError);
    expect(chars.message).toContain("undefined function 'String.Chars':to_string/1 (did you mean 'Elixir.String.Chars'?)");
    expect(await node.rpc(elixir.name, "Elixir.String.Chars", "to_string", [1])).toEqual(Buffer.from("1"));
    // A missing function of a real Elixir module gets no hint.
    const missing = await rejectionOf(node.rpc(elixir.name, "Elixir.Enum", "no_such_function", []), CallError);
    expect(missing.message).toContain("undefined function 'Elixir.Enum':no_such_function/0; badrpc reason: ");
    // In Elixir syntax, as the command's --elixir writes it.
    expect(explainCallError(sum, "elixir")).toMatch(/^undefined function :Enum\.sum\/1 \(did you mean Enum\?\)/);
  });

  it("erpc says it too, with the class", async () => {
    const error = await rejectionOf(node.erpc(elixir.name, "Enum", "sum", [[1]]), CallError);
    expect(error.code).toBe("exception");
    expect(error.message).toContain(`erpc Enum:sum/1 on ${elixir.name} raised error undef: undefined function 'Enum':sum/1 (did you mean 'Elixir.Enum'?)`);
  });
});

describe("an erpc exception gives its class, reason and top stack frame", () => {
  it("an Erlang function_clause, at the frame and line erl names", async () => {
    const error = await rejectionOf(node.erpc(erl.name, "kv_server", "handle_cast", [atom("bad"), new Map()]), CallError);
    expect([error.code, error.errorClass, error.reason]).toEqual(["exception", "error", atom("function_clause")]);
    const [file, line] = erlLocation(await erlSays(erl, "error", error.reason, error.stacktrace));
    expect(line).toBe(lineOf("kv_server.erl", "handle_cast({put"));
    expect(error.message).toBe(`erpc kv_server:handle_cast/2 on ${erl.name} raised error function_clause: no function clause matching kv_server:handle_cast/2 (${file}:${line})`);
  });

  it("an Elixir exception: the struct in Elixir syntax, and where it was raised", async () => {
    const error = await rejectionOf(node.erpc(elixir.name, "Elixir.ErldistPeer", "boom", [7]), CallError);
    expect(error.errorClass).toBe("error");
    // erl: "  in function  'Elixir.ErldistPeer':boom/1 (test/fixtures/elixir/erldist_peer.ex, line 55)"
    const top = erlTopFrame(await erlSays(elixir, "error", error.reason, error.stacktrace));
    expect(top.line).toBe(lineOf("elixir/erldist_peer.ex", "def boom("));
    const struct = formatReason(error.reason);
    expect(error.message).toBe(`erpc Elixir.ErldistPeer:boom/1 on ${elixir.name} raised error ${struct} at ${top.mfa} (${top.file}:${top.line})`);
    // Named as the peer's inspect names it (the field order is the struct definition's, which only the peer knows).
    const inspected = iolistToString(await elixir.call("Elixir.Kernel", "inspect", [error.reason as Encodable]));
    expect(struct.slice(0, struct.indexOf("{"))).toBe(inspected.slice(0, inspected.indexOf("{")));
    expect(struct).toContain('message: "boom 7"');
  });

  it("throw and exit keep their class; a raise with no frame of its own names erlang:error/1", async () => {
    const thrown = await rejectionOf(node.erpc(erl.name, "erlang", "throw", [tuple(atom("ball"), 1)]), CallError);
    expect(thrown.message).toMatch(new RegExp(`raised throw \\{ball,1\\}( at |$)`));
    const exited = await rejectionOf(node.erpc(erl.name, "erlang", "exit", [atom("bye")]), CallError);
    expect(exited.message).toMatch(/raised exit bye( at |$)/);
  });
});

describe("a server's exit reason during a call", () => {
  it("an Elixir GenServer sent \"get\" where it matches :get: the clause, the request, the exit reason cut short", async () => {
    await elixir.call("Elixir.Counter", "start", [atom("Elixir.StringCounter"), 0]);
    const error = await rejectionOf(node.call(["Elixir.StringCounter", elixir.name], Buffer.from("get")), CallError);
    expect(error.code).toBe("exit");
    const [reason, stack] = (error.reason as Tuple).elements;
    expect(reason).toBe(atom("function_clause"));
    const says = await erlSays(elixir, "error", reason, stack);
    // erl: no function clause matching 'Elixir.Counter':handle_call(<<"get">>, {...}, ...) (…counter.ex, line 12)
    expect(says).toContain(`'Elixir.Counter':handle_call(${format(Buffer.from("get"))},`);
    const [file, line] = erlLocation(says);
    expect(line).toBe(lineOf("elixir/counter.ex", "def handle_call(:get"));
    expect(error.message).toContain(`Elixir.StringCounter on ${elixir.name} exited during the call: no clause of 'Elixir.Counter':handle_call/3 (${file}:${line}) matches the request <<"get">>`);
    // The reason (with its stack) is longer than the limit: its first REASON_LIMIT characters, then "…".
    expect([...format(error.reason as Term, { lineLength: Infinity })].length).toBeGreaterThan(REASON_LIMIT);
    expect(error.message.endsWith(`; exit reason: ${cut(error.reason)}`)).toBe(true);
    expect(cut(error.reason).endsWith("…")).toBe(true);
    expect(explainCallError(error, "elixir")).toContain(`no clause of Counter.handle_call/3 (${file}:${line}) matches the request "get"`);
  });

  it("a gen_server that stops with a reason: the reason; a missing name: noproc", async () => {
    await erl.eval("kv_server:start(doomed), ok.");
    const stopped = await rejectionOf(node.call(["doomed", erl.name], tuple(atom("crash"), tuple(atom("shutdown"), atom("tested")))), CallError);
    expect(stopped.message).toBe(`doomed on ${erl.name} exited during the call: {shutdown,tested}`);
    const missing = await rejectionOf(node.call(["nobody_here", erl.name], atom("get")), CallError);
    expect(missing.message).toBe(`nobody_here on ${erl.name} does not exist: noproc`);
  });

  it("an rpc into Elixir that raises: the exception as Elixir inspects it, where, and the badrpc reason", async () => {
    const error = await rejectionOf(node.rpc(elixir.name, "Elixir.ErldistPeer", "fail", ["bad input"]), CallError);
    const [, exit] = (error.reason as Tuple).elements as [Term, Tuple];
    const [exception, stack] = exit.elements;
    const inspected = iolistToString(await elixir.call("Elixir.Kernel", "inspect", [exception as Encodable]));
    const top = erlTopFrame(await erlSays(elixir, "error", exception, stack));
    expect(top.line).toBe(lineOf("elixir/erldist_peer.ex", "def fail("));
    // %ArgumentError{message: "bad input"}: one field, so the peer's inspect and format agree on all of it.
    expect(error.message).toContain(`failed: ${inspected} at ${top.mfa} (${top.file}:${top.line}); badrpc reason: `);
    expect(error.message.endsWith(cut(error.reason))).toBe(true);
  });
});

describe("formatReason", () => {
  it("cuts at REASON_LIMIT code points, never inside a character", () => {
    const long = "é".repeat(REASON_LIMIT * 2);
    const text = formatReason(Buffer.from(long));
    expect([...text].length).toBe(REASON_LIMIT + 1);
    expect(text.endsWith("…")).toBe(true);
    expect(formatReason(atom("short"))).toBe("short");
  });

  it("a huge reason (a server state of 64 MiB, a million-element list) is cut from its beginning, not formatted whole", () => {
    const state = tuple(atom("state"), Buffer.alloc(64 * 1024 * 1024, "a"), Array.from({ length: 1_000_000 }, (_, i) => i));
    const text = formatReason(state);
    expect(text).toBe(`{state,<<"${"a".repeat(REASON_LIMIT - 10)}…`);
    expect(formatReason(Array.from({ length: 1_000_000 }, () => 7))).toBe(`[${"7,".repeat(REASON_LIMIT / 2)}`.slice(0, REASON_LIMIT) + "…");
  });
});
