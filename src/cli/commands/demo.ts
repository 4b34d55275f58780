// erldist demo (what `npm start` runs): three real BEAM nodes on 127.0.0.1 registered with erldist's built-in epmd,
// joined by a hidden erldist node through the epmd-scan discovery, an rpc on each, and the status page, until
// Ctrl-C; then every child is stopped.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { EpmdServer } from "../../epmd/index.js";
import { Node } from "../../index.js";
import { StatusServer } from "../../status/index.js";
import { atom, type Atom } from "../../etf/index.js";
import { iolistToString } from "../../node/index.js";
import { type Output, untilSignal } from "../session.js";
import { CommandError, UsageError, parse, parsePort, stringValue } from "../usage.js";

export const HELP = `Usage: erldist demo [--nodes <n>] [--status-port <port>]

The local demo (npm start): starts <n> (default 3) BEAM nodes on 127.0.0.1 with erldist's built-in epmd, joins them
as a hidden node through the epmd-scan discovery, runs an rpc on each, prints what it found and the status page's
address, and runs until Ctrl-C, then stops every node it started. Needs erl on the PATH.

Options:
  --nodes <n>            how many BEAM nodes (1-10, default 3)
  --status-port <port>   the status page's port (default 8080; a free one if 8080 is taken)

Environment:
  (none: the demo makes its own cookie and picks a free epmd port)
`;

function erlAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn("erl", ["-noshell", "-eval", "halt()."], { stdio: "ignore" });
    probe.once("error", () => resolve(false));
    probe.once("exit", (code) => resolve(code === 0));
  });
}

/** A BEAM node that halts when its stdin closes, so it never outlives the demo. */
function startBeam(name: string, cookie: string, epmdPort: number): ChildProcess {
  return spawn(
    "erl",
    [
      "-noshell",
      "-name", name,
      "-setcookie", cookie,
      "-start_epmd", "false",
      "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
      "-eval", 'spawn(fun() -> io:get_line(""), erlang:halt() end)',
    ],
    // Its own process group: Ctrl-C in the terminal reaches the demo, which stops the node by closing its stdin
    // (a BEAM node that got the SIGINT itself would stop in its break menu instead).
    { stdio: ["pipe", "ignore", "inherit"], env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) }, detached: true },
  );
}

async function stopBeam(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new CommandError(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function demo(argv: string[], io: Output): Promise<number> {
  const parsed = parse("demo", argv, { nodes: { type: "string" }, "status-port": { type: "string" } });
  if (parsed.values.help) return io.out(HELP), 0;
  const count = Number(stringValue(parsed, "nodes") ?? 3);
  if (!Number.isInteger(count) || count < 1 || count > 10) throw new UsageError("--nodes takes a number from 1 to 10");
  const statusText = stringValue(parsed, "status-port");
  const statusPort = statusText === undefined ? 8080 : parsePort("--status-port", statusText);
  if (!(await erlAvailable())) {
    throw new CommandError(
      "erl was not found on the PATH: the demo runs real BEAM nodes. Install Erlang/OTP (Debian/Ubuntu: apt-get install -y erlang-nox; macOS: brew install erlang) and run npm start again",
    );
  }
  const cookie = randomBytes(16).toString("hex");
  const beams: ChildProcess[] = [];
  let epmd: EpmdServer | undefined;
  let node: Node | undefined;
  let status: StatusServer | undefined;
  try {
    epmd = await EpmdServer.start({ port: 0, host: "127.0.0.1" });
    const names = Array.from({ length: count }, (_, i) => `demo${i + 1}@127.0.0.1`);
    io.out(`Starting ${count} BEAM nodes on 127.0.0.1 with erldist's built-in epmd (port ${epmd.port})...\n`);
    for (const name of names) beams.push(startBeam(name, cookie, epmd.port));
    const server = epmd;
    await waitFor("the BEAM nodes' registration with epmd", 60_000, () => (server.names().length >= count ? true : undefined));

    node = await Node.start({ name: "erldist-demo@127.0.0.1", cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
    const discovery = node.discover({ epmdScan: { hosts: ["127.0.0.1"], port: epmd.port, match: /^demo\d+$/ }, interval: 2000 });
    const joined = node;
    await waitFor("joining every BEAM node", 30_000, async () => {
      await discovery.refresh();
      return names.every((n) => joined.nodes().includes(n)) ? true : undefined;
    });
    // The BEAM nodes cluster among themselves too (as a real cluster's own discovery would make them).
    for (const [i, from] of names.entries()) {
      for (const to of names.slice(i + 1)) await node.rpc(from, "net_kernel", "connect_node", [atom(to)]);
    }

    io.out(`\nerldist node ${node.name} joined them as a hidden node through the epmd scan:\n`);
    for (const name of names) {
      const release = iolistToString(await node.rpc(name, "erlang", "system_info", [atom("otp_release")]));
      const visible = ((await node.rpc(name, "erlang", "nodes", [])) as Atom[]).map((a) => a.name).sort();
      const hidden = ((await node.rpc(name, "erlang", "nodes", [atom("hidden")])) as Atom[]).map((a) => a.name);
      const processes = await node.rpc(name, "erlang", "system_info", [atom("process_count")]);
      io.out(
        `  ${name}  OTP ${release}, ${String(processes)} processes; its nodes(): ${visible.join(", ") || "none"}; nodes(hidden): ${hidden.join(", ")}\n`,
      );
    }
    try {
      status = await StatusServer.start({ node, discoveries: [discovery], port: statusPort, host: "127.0.0.1" });
    } catch {
      status = await StatusServer.start({ node, discoveries: [discovery], port: 0, host: "127.0.0.1" });
      io.out(`(port ${statusPort} is taken: the status page is on another port)\n`);
    }
    io.out(`\nstatus page: ${status.url}\nPress Ctrl-C to stop.\n`);
    await untilSignal();
    io.out("\nStopping...\n");
    return 0;
  } finally {
    await status?.close();
    await node?.stop();
    await Promise.all(beams.map(stopBeam));
    await epmd?.close();
    if (beams.length > 0) io.out("Stopped every node the demo started.\n");
  }
}
