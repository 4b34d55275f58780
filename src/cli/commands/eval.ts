// erldist eval (<node> | --all [discovery flags]) '<expression>.': evaluate Erlang (or Elixir) on the remote node(s).
import { DISCOVERY_HELP, DISCOVERY_OPTIONS, discoveryOptions, epmdPort } from "../discovery-flags.js";
import { describeCallError, evaluate, pretty } from "../remote-erlang.js";
import { evaluateElixir } from "../remote-elixir.js";
import { CallError, type Node } from "../../node/index.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { CommandError, UsageError, parse, parseDuration, stringValue } from "../usage.js";
import { discoverOnce } from "./nodes.js";

export const HELP = `Usage: erldist eval <node> '<expressions>.' [options]
       erldist eval --all [discovery options] '<expressions>.' [options]

Parses the expressions and evaluates them on the remote node (erl_scan, erl_parse and erl_eval run there, through
erpc), and prints the value as ~tp prints it there. With --all: on every node the discovery options find, one line
per node (\`<node>: <value>\`). What the expressions print is shown too.

  erldist eval app@10.0.0.7 'lists:seq(1, 3).'
  erldist eval --all --dns app-headless.prod.svc.cluster.local --basename app 'length(processes()).'

With --elixir the code is Elixir, evaluated on the node by its Elixir (Code.string_to_quoted, Code.eval_quoted)
and printed with its inspect; compiler warnings go to stderr:

  erldist eval --elixir app@10.0.0.7 'Enum.map(1..3, &(&1 * 2))'

Options:
  --elixir               the code is Elixir (the node must run Elixir)
  --all                  evaluate on every discovered node
  --timeout <duration>   how long each evaluation may take (default 30s)

${DISCOVERY_HELP}

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

export async function evalCommand(argv: string[], io: Output): Promise<number> {
  const parsed = parse("eval", argv, { ...IDENTITY_OPTIONS, ...DISCOVERY_OPTIONS, all: { type: "boolean" }, elixir: { type: "boolean" }, timeout: { type: "string" } });
  if (parsed.values.help) return io.out(HELP), 0;
  const timeoutText = stringValue(parsed, "timeout");
  const timeout = timeoutText === undefined ? 30_000 : parseDuration("--timeout", timeoutText);
  const all = Boolean(parsed.values.all);
  const expected = all ? 1 : 2;
  if (parsed.positionals.length !== expected) {
    throw new UsageError(all ? "eval --all takes one expression (in quotes)" : "eval takes a node name and one expression (in quotes), or --all");
  }
  const expression = parsed.positionals[expected - 1];
  const loopsOptions = discoveryOptions(parsed, epmdPort(parsed));
  if (all && loopsOptions.length === 0) throw new UsageError("eval --all needs a discovery option: --dns, --static or --epmd-scan");
  if (!all && loopsOptions.length > 0) throw new UsageError("discovery options go with --all");
  const elixir = Boolean(parsed.values.elixir);
  // The value as the peer prints it: ~tp for Erlang, inspect for Elixir. A failed remote call is one line.
  const run = async (node: Node, peer: string, onOutput: (text: string) => void): Promise<string> => {
    try {
      if (elixir) return (await evaluateElixir(node, peer, expression, { onOutput, onWarning: (text) => io.err(all ? `${peer}: ${text}` : text) }, timeout)).inspected;
      return await pretty(node, peer, await evaluate(node, peer, expression, onOutput, timeout));
    } catch (err) {
      if (err instanceof CallError) throw new CommandError(describeCallError(`evaluating on ${peer}`, err, elixir ? "elixir" : "erlang"), { cause: err });
      throw err;
    }
  };
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    if (!all) {
      const peer = parsed.positionals[0];
      await node.connect(peer);
      io.out(`${await run(node, peer, io.out)}\n`);
      return 0;
    }
    const rows = await discoverOnce(node, loopsOptions.map((options) => node.discover(options)));
    if (rows.length === 0) {
      io.err("no nodes found\n");
      return 1;
    }
    const results = await Promise.all(
      rows.map(async (row) => {
        if (row.state !== "connected") return { name: row.name, ok: false, text: `not connected (${row.error ?? row.state})` };
        try {
          return { name: row.name, ok: true, text: await run(node, row.name, (text) => io.out(`${row.name}: ${text}`)) };
        } catch (err) {
          return { name: row.name, ok: false, text: `error: ${(err as Error).message}` };
        }
      }),
    );
    for (const result of results) (result.ok ? io.out : io.err)(`${result.name}: ${result.text}\n`);
    return results.every((r) => r.ok) ? 0 : 1;
  } finally {
    await stopSession(session);
  }
}
