// erldist ping <node>: as net_adm:ping/1, and on stderr why it is pang.
import { EpmdError } from "../../epmd/index.js";
import { CodedError } from "../../common/coded-error.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { UsageError, parse } from "../usage.js";

export const HELP = `Usage: erldist ping <node> [options]

Connects to <node> and asks its net_kernel, as net_adm:ping/1 does; prints pong (exit status 0) or pang (1).
With pang, stderr says why, from the connection's error:

  erldist ping: pang (not registered): no node named 'app' is registered with epmd on 10.0.0.7
  erldist ping: pang (cookie rejected): app@10.0.0.7 rejected this node's cookie ...
  erldist ping: pang (unreachable): cannot reach app@10.0.0.7 at 10.0.0.7:41234: connect ECONNREFUSED ...
  erldist ping: pang (epmd unreachable): ...    (no epmd answers on that host: no node runs there)

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

/** A short name for why a connection failed: the error's code in words (epmd's own failures say epmd). */
export function connectFailure(err: unknown): string {
  if (err instanceof EpmdError) return `epmd ${err.code.replace(/_/g, " ")}`;
  if (err instanceof CodedError) return String(err.code).replace(/_/g, " ");
  return "error";
}

export async function ping(argv: string[], io: Output): Promise<number> {
  const parsed = parse("ping", argv, IDENTITY_OPTIONS);
  if (parsed.values.help) return io.out(HELP), 0;
  if (parsed.positionals.length !== 1) throw new UsageError("ping takes one node name, e.g. erldist ping app@10.0.0.7");
  const peer = parsed.positionals[0];
  if (!/^[^@\s]+@[^@\s]+$/.test(peer)) throw new UsageError(`ping takes a node name such as app@10.0.0.7, not '${peer}'`);
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    try {
      await session.node.connect(peer);
    } catch (err) {
      // net_adm:ping says only pang; the reason is what a person needs to fix it.
      io.out("pang\n");
      io.err(`erldist ping: pang (${connectFailure(err)}): ${(err as Error).message}`);
      return 1;
    }
    const answer = await session.node.ping(peer);
    io.out(`${answer}\n`);
    if (answer === "pang") io.err(`erldist ping: pang: connected to ${peer}, but its net_kernel did not answer is_auth`);
    return answer === "pong" ? 0 : 1;
  } finally {
    await stopSession(session);
  }
}
