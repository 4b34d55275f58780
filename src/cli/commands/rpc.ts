// erldist rpc <node> <module> <function> '<args>': rpc:call/4, with the arguments in Erlang syntax (or Elixir's).
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { describeCallError, parseTerm, pretty } from "../remote-erlang.js";
import { elixirModule, evaluateElixir, inspectElixir } from "../remote-elixir.js";
import { CallError } from "../../node/index.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { CommandError, UsageError, parse, parseDuration, stringValue } from "../usage.js";
import type { Encodable, Term } from "../../etf/index.js";

export const HELP = `Usage: erldist rpc <node> <module> <function> ['<args>'] [options]

Calls <module>:<function>(Args...) on <node> through rpc:call/4 and prints the result as ~tp prints it there.
<args> is one Erlang list of the arguments, in Erlang term syntax (default []):

  erldist rpc app@10.0.0.7 lists sum '[[1,2,3]]'        prints 6
  erldist rpc app@10.0.0.7 erlang system_info '[otp_release]'

With --elixir, Elixir syntax: <module> as Elixir writes it (Enum is Elixir.Enum, :lists the Erlang module),
<args> one Elixir list, evaluated on the node, and the result printed with that node's inspect:

  erldist rpc --elixir app@10.0.0.7 Enum sum '[[1, 2, 3]]'
  erldist rpc --elixir app@10.0.0.7 String upcase '["josé"]'   prints "JOSÉ"

Options:
  --elixir               Elixir syntax for <module>, <args> and the result (the node must run Elixir)
  --timeout <duration>   how long to wait for the result (default 30s)

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

export async function rpc(argv: string[], io: Output): Promise<number> {
  const parsed = parse("rpc", argv, { ...IDENTITY_OPTIONS, timeout: { type: "string" }, elixir: { type: "boolean" } });
  if (parsed.values.help) return io.out(HELP), 0;
  const [peer, moduleText, fnText, argsText = "[]", ...extra] = parsed.positionals;
  if (fnText === undefined || extra.length > 0) {
    throw new UsageError(`rpc takes <node> <module> <function> and, optionally, one ${parsed.values.elixir ? "Elixir" : "Erlang"} list of arguments`);
  }
  const elixir = Boolean(parsed.values.elixir);
  const module = elixir ? elixirModule(moduleText) : moduleText;
  const fn = elixir ? fnText.replace(/^:/, "") : fnText;
  const timeoutText = stringValue(parsed, "timeout");
  const timeout = timeoutText === undefined ? 30_000 : parseDuration("--timeout", timeoutText);
  let session: Session | undefined;
  let what = `rpc ${moduleText}:${fnText} on ${peer}`;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    await node.connect(peer);
    let args: Term;
    if (elixir) {
      args = (await evaluateElixir(node, peer, argsText, { onOutput: io.out, onWarning: io.err }, timeout)).value;
      if (!Array.isArray(args)) throw new UsageError(`the arguments must be one Elixir list, e.g. '[[1, 2, 3]]', not ${argsText}`);
    } else {
      args = await parseTerm(node, peer, argsText);
      if (!Array.isArray(args)) throw new UsageError(`the arguments must be one Erlang list, e.g. '[[1,2,3]]', not ${argsText}`);
    }
    what = elixir ? `rpc ${moduleText}.${fn}/${args.length} on ${peer}` : `rpc ${module}:${fn}/${args.length} on ${peer}`;
    const value = await node.rpc(peer, module, fn, args as Encodable[], { timeout, onOutput: io.out });
    io.out(`${elixir ? await inspectElixir(node, peer, value) : await pretty(node, peer, value)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CallError) throw new CommandError(describeCallError(what, err, elixir ? "elixir" : "erlang"), { cause: err });
    throw err;
  } finally {
    await stopSession(session);
  }
}
