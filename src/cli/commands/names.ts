// erldist names [host]: what `epmd -names` shows.
import { listNames } from "../../epmd/index.js";
import { epmdPort } from "../discovery-flags.js";
import type { Output } from "../session.js";
import { UsageError, parse } from "../usage.js";

export const HELP = `Usage: erldist names [host] [--epmd-port <port>]

Lists the nodes registered with epmd on <host> (default 127.0.0.1), as \`epmd -names\` does.

Options:
  --epmd-port <port>     epmd's port (default ERL_EPMD_PORT, then 4369)

Environment:
  ERL_EPMD_PORT          epmd's port (default 4369)
`;

export async function names(argv: string[], io: Output): Promise<number> {
  const parsed = parse("names", argv, { "epmd-port": { type: "string" } });
  if (parsed.values.help) return io.out(HELP), 0;
  if (parsed.positionals.length > 1) throw new UsageError("names takes at most one host");
  const host = parsed.positionals[0] ?? "127.0.0.1";
  const answer = await listNames({ host, port: epmdPort(parsed) });
  io.out(`epmd: up and running on port ${answer.epmdPort} with data:\n`);
  for (const entry of answer.names) io.out(`name ${entry.name} at port ${entry.port}\n`);
  return 0;
}
