// erldist epmd: the built-in epmd, in the foreground until SIGINT/SIGTERM.
import { EpmdServer, defaultEpmdPort } from "../../epmd/index.js";
import type { Output } from "../session.js";
import { untilSignal } from "../session.js";
import { parse, parsePort, stringValue } from "../usage.js";

export const HELP = `Usage: erldist epmd [--port <port>] [--host <address>]

Runs erldist's built-in epmd in the foreground (erl nodes register with it as with OTP's epmd) until SIGINT or
SIGTERM, and logs registrations.

Options:
  --port <port>          port to listen on (default ERL_EPMD_PORT, then 4369)
  --host <address>       address to listen on (default 0.0.0.0)

Environment:
  ERL_EPMD_PORT          the default port
`;

export async function epmd(argv: string[], io: Output): Promise<number> {
  const parsed = parse("epmd", argv, { port: { type: "string" }, host: { type: "string" } });
  if (parsed.values.help) return io.out(HELP), 0;
  const portText = stringValue(parsed, "port");
  const port = portText === undefined ? defaultEpmdPort() : parsePort("--port", portText);
  const server = await EpmdServer.start({ port, host: stringValue(parsed, "host") ?? "0.0.0.0" });
  server.on("registered", (entry) => io.out(`registered ${entry.name} at port ${entry.port}\n`));
  server.on("unregistered", (name) => io.out(`unregistered ${name}\n`));
  io.out(`epmd listening on port ${server.port}\n`);
  await untilSignal();
  await server.close();
  io.out("epmd stopped\n");
  return 0;
}
