// erldist ping <node>: as net_adm:ping/1.
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { UsageError, parse } from "../usage.js";

export const HELP = `Usage: erldist ping <node> [options]

Connects to <node> and asks its net_kernel, as net_adm:ping/1 does; prints pong (exit status 0) or pang (1).

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

export async function ping(argv: string[], io: Output): Promise<number> {
  const parsed = parse("ping", argv, IDENTITY_OPTIONS);
  if (parsed.values.help) return io.out(HELP), 0;
  if (parsed.positionals.length !== 1) throw new UsageError("ping takes one node name, e.g. erldist ping app@10.0.0.7");
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const answer = await session.node.ping(parsed.positionals[0]);
    io.out(`${answer}\n`);
    return answer === "pong" ? 0 : 1;
  } finally {
    await stopSession(session);
  }
}
