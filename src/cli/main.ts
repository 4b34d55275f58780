#!/usr/bin/env node
// The `erldist` command. Subcommands (join, nodes, ping, names, epmd, rpc, eval, repl) arrive with the layers they
// drive; for now it reports its version and what it can do.
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const USAGE = `erldist ${pkg.version}: a Node.js Erlang node

Usage:
  erldist --version    print the version
  erldist --help       print this help

The codec is available as a library (import { encode, decode } from "erldist").
Node commands (join, nodes, ping, names, epmd, rpc, eval, repl) are not implemented yet.
`;

function main(argv: string[]): number {
  const [first] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (first === "--version" || first === "-v") {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  process.stderr.write(`erldist: unknown command '${first}'. Run 'erldist --help' for what is available.\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
