#!/usr/bin/env node
// The `erldist` command: subcommands for joining a cluster, looking at it, and scripting it. Errors are printed
// without stack traces (ERLDIST_DEBUG=1 shows them): exit status 2 for a wrong command line, 1 when the command
// could not do its job. The top layer: it may import every other one (commands/ each import what they need).
import { readFileSync } from "node:fs";
import { UsageError } from "./usage.js";
import { TLS_HELP } from "./identity.js";
import type { Output } from "./session.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const USAGE = `erldist ${pkg.version}: a Node.js Erlang node

Usage: erldist <command> [options]     (erldist <command> --help for each)

Commands:
  join       run a hidden node that joins a cluster (DNS, SRV, static or epmd-scan discovery) with a status page
  nodes      discover and connect, print the nodes (name, state, OTP release), exit
  ping       ping a node, as net_adm:ping/1
  names      list the nodes registered with epmd on a host, as epmd -names
  epmd       run the built-in epmd
  rpc        call a function on a node (arguments in Erlang syntax; --elixir: Elixir's) and print the result
  eval       evaluate Erlang (--elixir: Elixir) on a node, or on every discovered node
  subscribe  print what is broadcast on Phoenix.PubSub topics, one line per message, until stopped or --count
  broadcast  broadcast a term (Erlang syntax; --elixir: Elixir's) on a Phoenix.PubSub topic
  repl       an interactive REPL with a started node
  demo       the local demo (npm start): three BEAM nodes joined by erldist, with the status page

Options:
  --help, -h       print this help
  --version, -v    print the version

${TLS_HELP}
`;

type Command = (argv: string[], io: Output) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  join: async () => (await import("./commands/join.js")).join,
  nodes: async () => (await import("./commands/nodes.js")).nodes,
  ping: async () => (await import("./commands/ping.js")).ping,
  names: async () => (await import("./commands/names.js")).names,
  epmd: async () => (await import("./commands/epmd.js")).epmd,
  rpc: async () => (await import("./commands/rpc.js")).rpc,
  eval: async () => (await import("./commands/eval.js")).evalCommand,
  subscribe: async () => (await import("./commands/subscribe.js")).subscribe,
  broadcast: async () => (await import("./commands/broadcast.js")).broadcast,
  repl: async () => (await import("./commands/repl.js")).replCommand,
  demo: async () => (await import("./commands/demo.js")).demo,
};

const io: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    io.out(USAGE);
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-v") {
    io.out(`${pkg.version}\n`);
    return 0;
  }
  const load = COMMANDS[first];
  if (!load) {
    io.err(`erldist: unknown command '${first}'. Run 'erldist --help' for what is available.`);
    return 2;
  }
  try {
    return await (await load())(rest, io);
  } catch (err) {
    if (process.env.ERLDIST_DEBUG) io.err(String((err as Error).stack ?? err));
    io.err(`erldist ${first}: ${(err as Error).message ?? String(err)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Sockets and timers are closed by now; exit anyway so a stray handle cannot keep the command alive.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    io.err(`erldist: ${String(err)}`);
    process.exit(1);
  },
);
