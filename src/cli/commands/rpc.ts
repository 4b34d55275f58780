// erldist rpc <node> <module> <function> '<args>': rpc:call/4, with the arguments in Erlang syntax.
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { describeCallError, parseTerm, pretty } from "../remote-erlang.js";
import { CallError } from "../../node/index.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { CommandError, UsageError, parse, parseDuration, stringValue } from "../usage.js";
import type { Encodable } from "../../etf/index.js";

export const HELP = `Usage: erldist rpc <node> <module> <function> ['<args>'] [options]

Calls <module>:<function>(Args...) on <node> through rpc:call/4 and prints the result as ~p prints it.
<args> is one Erlang list of the arguments, in Erlang term syntax (default []):

  erldist rpc app@10.0.0.7 lists sum '[[1,2,3]]'        prints 6
  erldist rpc app@10.0.0.7 erlang system_info '[otp_release]'

Options:
  --timeout <duration>   how long to wait for the result (default 30s)

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

export async function rpc(argv: string[], io: Output): Promise<number> {
  const parsed = parse("rpc", argv, { ...IDENTITY_OPTIONS, timeout: { type: "string" } });
  if (parsed.values.help) return io.out(HELP), 0;
  const [peer, module, fn, argsText = "[]", ...extra] = parsed.positionals;
  if (fn === undefined || extra.length > 0) throw new UsageError("rpc takes <node> <module> <function> and, optionally, one Erlang list of arguments");
  const timeoutText = stringValue(parsed, "timeout");
  const timeout = timeoutText === undefined ? 30_000 : parseDuration("--timeout", timeoutText);
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    await node.connect(peer);
    const args = await parseTerm(node, peer, argsText);
    if (!Array.isArray(args)) throw new UsageError(`the arguments must be one Erlang list, e.g. '[[1,2,3]]', not ${argsText}`);
    const value = await node.rpc(peer, module, fn, args as Encodable[], { timeout, onOutput: io.out });
    io.out(`${await pretty(node, peer, value)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CallError && session) throw new CommandError(`rpc to ${peer} failed: ${await describeCallError(session.node, peer, err)}`, { cause: err });
    throw err;
  } finally {
    await stopSession(session);
  }
}
