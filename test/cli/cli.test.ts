// The erldist command, run as a user runs it (the built dist/cli/main.js in a child process) against real BEAM
// nodes: help and exit codes, names, ping (and why it is pang), rpc, eval (one node and --all; unicode printed as
// erl prints it), nodes, join with its status server and a clean stop, the built-in epmd, the REPL (in the clone,
// and in an installed package without ts-node), and how the cookie is found (and never printed).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, tuple, type Term } from "../../src/etf/index.js";
import { iolistToString } from "../../src/node/index.js";
import { registerNode } from "../../src/epmd/index.js";
import { BeamNode } from "../support/beam.js";
import { EMPTY_HOME, runCli, startCli } from "../support/cli.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { installPackage } from "../support/installed.js";
import { freePort } from "../support/net.js";
import { otpReleaseOf } from "../support/release.js";

let epmd: Epmd;
let a: BeamNode;
let b: BeamNode;
let env: Record<string, string>;
let release: string; // the BEAM nodes' OTP release, as they report it

beforeAll(async () => {
  epmd = await startEpmd();
  [a, b] = await Promise.all([BeamNode.start({ epmd, alive: "clia" }), BeamNode.start({ epmd, alive: "clib" })]);
  env = { ERL_EPMD_PORT: String(epmd.port), ERLANG_COOKIE: a.cookie };
  release = String(await otpReleaseOf(a));
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await epmd?.stop();
});

const COMMANDS = ["join", "nodes", "ping", "names", "epmd", "rpc", "eval", "repl", "demo", "subscribe", "broadcast"];
const NODE_COMMANDS = ["join", "nodes", "ping", "rpc", "eval", "repl"]; // those that start a node: TLS applies
const TLS_FLAGS = ["optfile", "cert", "key", "ca", "verify", "fail-if-no-peer-cert", "server-name", "check-client-address", "versions"].map((f) => `--tls-${f}`);

/** How erl itself writes a term: io_lib:format("~tp", [Term]) on the peer, evaluated from Erlang source. */
async function erlPrints(beam: BeamNode, erlangTerm: string): Promise<string> {
  return iolistToString((await beam.eval(`io_lib:format("~tp", [${erlangTerm}]).`)) as Term);
}

describe("the erldist command", () => {
  it("has --help for every subcommand, and says what is wrong with a bad command line (exit 2, no stack trace)", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command} `);
    const helps = await Promise.all(COMMANDS.map((command) => runCli([command, "--help"])));
    helps.forEach((help, i) => {
      expect(help.code, COMMANDS[i]).toBe(0);
      expect(help.stdout).toContain(`Usage: erldist ${COMMANDS[i]}`);
    });
    const bad = await runCli(["ping", "--frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--frobnicate'.*Run 'erldist ping --help'/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const missing = await runCli(["join", "--dns", "x.test"], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--dns needs --basename");
    const duration = await runCli(["join", "--static", a.name, "--interval", "soon"], env);
    expect(duration.stderr).toContain("--interval takes a duration such as 5s");
  });

  it("lists the TLS flags once, in erldist --help; each command that starts a node points there", async () => {
    const top = await runCli(["--help"]);
    expect(top.stdout).toMatch(/^TLS distribution, for every command that starts a node/m);
    for (const flag of TLS_FLAGS) expect(top.stdout.split(`  ${flag} `).length - 1, flag).toBe(1);
    const helps = await Promise.all(NODE_COMMANDS.map((command) => runCli([command, "--help"])));
    helps.forEach((help, i) => {
      for (const flag of TLS_FLAGS) expect(help.stdout, `${NODE_COMMANDS[i]} --help`).not.toContain(flag);
      expect(help.stdout).toMatch(/^ {2}--tls-\.\.\. .*'erldist --help' lists the flags$/m);
    });
  });

  it("names: what epmd -names shows", async () => {
    const result = await runCli(["names", "--epmd-port", String(epmd.port)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^epmd: up and running on port ${epmd.port} with data:\n`));
    expect(result.stdout).toMatch(/^name clia at port \d+$/m);
    expect(result.stdout).toMatch(/^name clib at port \d+$/m);
  });

  it("ping: pong (exit 0) and pang (exit 1), as net_adm:ping/1; stderr says why it is pang", async () => {
    const pong = await runCli(["ping", a.name], env);
    expect([pong.code, pong.stdout, pong.stderr]).toEqual([0, "pong\n", ""]);
    const pang = await runCli(["ping", "nobody@127.0.0.1"], env);
    expect([pang.code, pang.stdout]).toEqual([1, "pang\n"]);
    expect(pang.stderr).toBe("erldist ping: pang (not registered): no node named 'nobody' is registered with epmd on 127.0.0.1\n");
    const cookie = await runCli(["ping", a.name], { ...env, ERLANG_COOKIE: "not-the-cookie" });
    expect([cookie.code, cookie.stdout]).toEqual([1, "pang\n"]);
    expect(cookie.stderr).toMatch(/^erldist ping: pang \(cookie rejected\): .*same cookie\n$/);
    expect(cookie.stderr).not.toContain(a.cookie);
    // A name epmd knows at a port where nothing listens (a node that died without unregistering, or a firewall).
    const deadPort = await freePort();
    const ghost = await registerNode({ name: "ghost", listenPort: deadPort, port: epmd.port });
    try {
      const unreachable = await runCli(["ping", "ghost@127.0.0.1"], env);
      expect([unreachable.code, unreachable.stdout]).toEqual([1, "pang\n"]);
      expect(unreachable.stderr).toMatch(new RegExp(`^erldist ping: pang \\(unreachable\\): cannot reach ghost@127\\.0\\.0\\.1 at 127\\.0\\.0\\.1:${deadPort}: .*ECONNREFUSED`));
    } finally {
      ghost.close();
    }
    // No epmd at all on the host: nothing runs there.
    const noEpmd = await runCli(["ping", a.name], { ...env, ERL_EPMD_PORT: String(await freePort()) });
    expect([noEpmd.code, noEpmd.stdout]).toEqual([1, "pang\n"]);
    expect(noEpmd.stderr).toMatch(/^erldist ping: pang \(epmd unreachable\): /);
    for (const result of [pang, cookie, noEpmd]) expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("rpc: arguments in Erlang syntax, the result as ~tp prints it, a failed call explained in one line", async () => {
    const sum = await runCli(["rpc", a.name, "lists", "sum", "[[1,2,3]]"], env);
    expect([sum.code, sum.stdout, sum.stderr]).toEqual([0, "6\n", ""]);
    const text = await runCli(["rpc", a.name, "lists", "reverse", '["abc"]'], env);
    expect(text.stdout).toBe('"cba"\n');
    const otp = await runCli(["rpc", a.name, "erlang", "system_info", "[otp_release]"], env);
    expect(otp.stdout).toBe(`"${release}"\n`);
    const tuple = await runCli(["rpc", a.name, "erlang", "list_to_tuple", "[[ok, 1.5, <<\"bin\">>, #{a => 1}]]"], env);
    expect(tuple.stdout).toBe('{ok,1.5,<<"bin">>,#{a => 1}}\n');
    const badSyntax = await runCli(["rpc", a.name, "lists", "sum", "[[1,2"], env);
    expect(badSyntax.code).toBe(1);
    expect(badSyntax.stderr).toMatch(/is not an Erlang term.*syntax error/);
    const notList = await runCli(["rpc", a.name, "lists", "sum", "{1}"], env);
    expect(notList.code).toBe(2);
    expect(notList.stderr).toContain("must be one Erlang list");
    const failing = await runCli(["rpc", a.name, "erlang", "binary_to_atom", "[1]"], env);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/^erldist rpc: rpc erlang:binary_to_atom\/1 on clia@127\.0\.0\.1 failed: badarg at erlang:binary_to_atom\/\d.*; badrpc reason: \{'EXIT',\{badarg,/);
    const undef = await runCli(["rpc", a.name, "lists", "no_such_function", "[]"], env);
    expect(undef.stderr).toMatch(/^erldist rpc: rpc lists:no_such_function\/0 on clia@127\.0\.0\.1 failed: undefined function lists:no_such_function\/0; /);
    for (const result of [failing, undef]) expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("rpc and eval print unicode as erl prints it (~tp), and what the remote code prints in either encoding", async () => {
    const term = `{<<"José"/utf8>>, "José", 'José', "日本", <<"日本"/utf8>>, [1.5, <<255>>]}`;
    const expected = await erlPrints(a, term);
    expect(expected).toContain('<<"José"/utf8>>'); // erl itself prints the characters, not their bytes
    const evaluated = await runCli(["eval", a.name, `${term}.`], env);
    expect([evaluated.code, evaluated.stdout, evaluated.stderr]).toEqual([0, `${expected}\n`, ""]);
    const called = await runCli(["rpc", a.name, "unicode", "characters_to_binary", '["José 日本"]'], env);
    expect(called.stdout).toBe(`${await erlPrints(a, '<<"José 日本"/utf8>>')}\n`);
    // io:format with ~ts sends unicode chardata, file:write latin-1 bytes (<<"Jos", 233>> is "José" in latin-1).
    const printed = await runCli(["eval", a.name, 'io:format("~ts~n", [<<"José 日本"/utf8>>]), file:write(standard_io, <<"Jos", 233, "\\n">>), ok.'], env);
    expect(printed.stdout).toBe("José 日本\nJosé\nok\n");
  });

  it("eval: expressions parsed and evaluated on the remote node; --all gives one result per node", async () => {
    const seq = await runCli(["eval", a.name, "lists:seq(1, 3)."], env);
    expect([seq.code, seq.stdout]).toEqual([0, "[1,2,3]\n"]);
    const where = await runCli(["eval", a.name, "X = node(), io:format(\"on ~p~n\", [X]), {X, erlang:system_info(otp_release)}."], env);
    expect(where.stdout).toBe(`on 'clia@127.0.0.1'\n{'clia@127.0.0.1',"${release}"}\n`);
    const crash = await runCli(["eval", a.name, "1/0."], env);
    expect(crash.code).toBe(1);
    expect(crash.stderr).toMatch(/^erldist eval: exception error badarith at erlang:'\/'\/2\n$/);
    const all = await runCli(["eval", "--all", "--static", `${a.name},${b.name}`, "node()."], env);
    expect(all.code).toBe(0);
    expect(all.stdout.split("\n").filter(Boolean).sort()).toEqual([`${a.name}: '${a.name}'`, `${b.name}: '${b.name}'`]);
  });

  it("nodes: a table or JSON of what discovery found; exit 1 when a node could not be connected", async () => {
    const table = await runCli(["nodes", "--epmd-scan", "127.0.0.1", "--epmd-port", String(epmd.port)], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+STATE\s+OTP$/m);
    expect(table.stdout).toMatch(new RegExp(`^${a.name.replace(/\./g, "\\.")}\\s+connected\\s+${release}$`, "m"));
    const json = await runCli(["nodes", "--static", `${a.name},nobody@127.0.0.1`, "--json", "--connect-timeout", "3s"], { ...env, MY_POD_IP: "127.0.0.1" });
    expect(json.code).toBe(1);
    const document = JSON.parse(json.stdout) as { node: string; nodes: Array<{ name: string; state: string; otpRelease: string | null; error?: string }> };
    expect(document.node).toMatch(/^erldist-[0-9a-f]{6}@127\.0\.0\.1$/); // the default name: on MY_POD_IP
    expect(document.nodes.map((n) => [n.name, n.state, n.otpRelease])).toEqual([
      [a.name, "connected", release],
      ["nobody@127.0.0.1", "backing_off", null],
    ]);
    expect(document.nodes[1].error).toMatch(/no node named 'nobody'/);
  });

  it("the cookie: from --cookie-file, ERLANG_COOKIE or ~/.erlang.cookie; a warning for --cookie; never printed", async () => {
    const none = await runCli(["ping", a.name], { ERL_EPMD_PORT: String(epmd.port) });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no cookie: pass --cookie-file <path>, set ERLANG_COOKIE, or create ~/.erlang.cookie");
    const file = join(EMPTY_HOME, "cookie-file");
    writeFileSync(file, `${a.cookie}\n`, { mode: 0o600 });
    const fromFile = await runCli(["ping", a.name, "--cookie-file", file], { ERL_EPMD_PORT: String(epmd.port) });
    expect(fromFile.stdout).toBe("pong\n");
    const onLine = await runCli(["ping", a.name, "--cookie", a.cookie], { ERL_EPMD_PORT: String(epmd.port) });
    expect(onLine.stdout).toBe("pong\n");
    expect(onLine.stderr).toContain("warning: a cookie on the command line can be read by other users");
    const wrong = await runCli(["rpc", a.name, "erlang", "node", "[]", "--cookie-file", file], { ERL_EPMD_PORT: String(epmd.port), ERLANG_COOKIE: "ignored" });
    expect(wrong.stdout).toBe("'clia@127.0.0.1'\n"); // the file wins over the environment
    const rejected = await runCli(["rpc", a.name, "erlang", "node", "[]"], { ...env, ERLANG_COOKIE: "not-the-cookie" });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/cookie/i);
    for (const result of [none, fromFile, onLine, wrong, rejected]) expect(result.stdout + result.stderr).not.toContain(a.cookie);
  });

  it("join: a hidden node that joins, logs, serves its status and readiness, and stops cleanly on SIGTERM", async () => {
    const name = "clijoin@127.0.0.1";
    // On the erl side, a process that keeps every nodedown of a hidden node with its reason (as net_kernel gives it).
    await a.eval(`
      Parent = self(),
      Pid = spawn(fun() ->
          ok = net_kernel:monitor_nodes(true, [nodedown_reason, {node_type, hidden}]),
          Parent ! {self(), armed},
          Loop = fun Loop(Downs) ->
              receive
                  {get, From} -> From ! {downs, lists:reverse(Downs)}, Loop(Downs);
                  {nodedown, Node, Info} -> Loop([{Node, proplists:get_value(nodedown_reason, Info)} | Downs]);
                  _ -> Loop(Downs)
              end
          end,
          Loop([])
      end),
      receive {Pid, armed} -> register(clijoin_downs, Pid) end.`);
    const downs = () => a.eval("clijoin_downs ! {get, self()}, receive {downs, Downs} -> Downs end.");
    const join = startCli(["join", "--static", `${a.name},${b.name}`, "--interval", "500ms", "--status-port", "0", "--status-host", "127.0.0.1", "--name", name], env);
    try {
      const out = await join.waitFor(/status page at (http:\S+)/);
      const url = /status page at (http:\S+)/.exec(out)![1];
      await join.waitFor(`connected ${b.name}`);
      await join.waitFor(`connected ${a.name}`);
      expect(await a.eval("nodes(hidden).")).toContainEqual(atom(name));
      const status = (await (await fetch(new URL("/status", url))).json()) as Record<string, unknown>;
      expect(JSON.stringify(status)).toContain(a.name);
      expect(JSON.stringify(status)).not.toContain(a.cookie);
      expect((await fetch(new URL("/healthz", url))).status).toBe(200);
      const readyz = await fetch(new URL("/readyz", url));
      expect(readyz.status).toBe(200);
      expect(await readyz.text()).toBe("ready: 2 nodes connected");
    } finally {
      const result = await join.stop("SIGTERM");
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(a.cookie);
      // In order: readiness off, discovery, the node (its connections closing: nodedown here), the status server.
      const steps = ["SIGTERM: stopping", "draining: /readyz answers 503", "discovery stopped (1 loop)", `nodedown ${a.name}`, "node stopped: unregistered from epmd, 2 connections closed", "status server closed"];
      const at = steps.map((step) => result.stdout.indexOf(step));
      expect(at.every((index) => index >= 0), result.stdout).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
    }
    // The connection was closed, not left to time out: erl says connection_closed (net_tick_timeout otherwise).
    await expect.poll(downs, { timeout: 10_000 }).toContainEqual(tuple(atom(name), atom("connection_closed")));
    expect(await a.eval("nodes(hidden).")).not.toContainEqual(atom(name));
    await a.eval("exit(whereis(clijoin_downs), kill).");
  });

  it("epmd: the built-in epmd in the foreground; erl registers with it; SIGINT stops it", async () => {
    const port = await freePort();
    const server = startCli(["epmd", "--port", String(port), "--host", "127.0.0.1"]);
    try {
      await server.waitFor(`epmd listening on port ${port}`);
      const c = await BeamNode.start({ epmd: { port }, alive: "onbuiltin" });
      await server.waitFor(/registered onbuiltin at port \d+/);
      const names = await runCli(["names", "--epmd-port", String(port)]);
      expect(names.stdout).toMatch(/^name onbuiltin at port \d+$/m);
      await c.stop();
      await server.waitFor("unregistered onbuiltin");
    } finally {
      const result = await server.stop("SIGINT");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("epmd stopped");
    }
  });

  it("repl: TypeScript with a started node in scope and top-level await", async () => {
    const input = [
      `const peer: string = "${a.name}";`,
      "(await node.rpc(peer, 'erlang', 'node', [])).name",
      "node.nodes().length",
      "tuple(atom('ok'), 1).elements.length",
      ".exit",
      "",
    ].join("\n");
    const result = await runCli(["repl", a.name], env, input);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`connected to ${a.name}`);
    expect(result.stdout).toContain(`'${a.name}'`);
    expect(result.stdout).toMatch(/\b1\n/);
    expect(result.stdout).toMatch(/\b2\n/);
    expect(result.stderr).toBe("");
  });

  it("repl in an installed package (no ts-node there): JavaScript, says so, and inputs still run in order", async () => {
    const installed = installPackage();
    try {
      const input = [
        `const peer = "${a.name}";`,
        "const answer = await node.rpc(peer, 'lists', 'sum', [[1, 2, 3]]);",
        "answer * 7",
        "(await node.rpc(peer, 'erlang', 'node', [])).name",
        ".exit",
        "",
      ].join("\n");
      const result = await runCli(["repl", a.name], env, input, { main: installed.bin, cwd: installed.dir });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("TypeScript needs ts-node, which is not installed here (npm install ts-node): this REPL takes JavaScript\n");
      expect(result.stdout).toContain(`connected to ${a.name}`);
      expect(result.stdout).toMatch(/\b42\n/); // evaluated after the await before it finished
      expect(result.stdout).toContain(`'${a.name}'`);
    } finally {
      installed.remove();
    }
  });
});
