// erldist join: a long-running hidden node with discovery loops and the status server, until SIGTERM/SIGINT.
import { DISCOVERY_HELP, DISCOVERY_OPTIONS, discoveryOptions, epmdPort } from "../discovery-flags.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { StatusServer } from "../../status/index.js";
import { startNode, stopSession, untilSignal, type Output, type Session } from "../session.js";
import { UsageError, parse, parsePort, stringValue } from "../usage.js";

export const HELP = `Usage: erldist join [discovery options] [--status-port <port>] [options]

Runs a hidden Erlang node that joins the cluster the discovery options describe and keeps up as nodes come and go,
with the status page (HTML, /status JSON, /metrics, /healthz) on --status-port. Logs each discovery event. Stops
cleanly on SIGTERM or SIGINT: discovery first, then the connections.

  erldist join --dns erlclu-headless.erlclu.svc.cluster.local --basename erlclu --status-port 8080

Options:
  --status-port <port>   the status server's port (default 8080; 0 picks a free one)
  --status-host <address>  the status server's address (default 0.0.0.0)
  --no-status            no status server
  --listen-host <address>  the distribution listener's address (default 0.0.0.0)

${DISCOVERY_HELP}

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

function stamp(): string {
  return new Date().toISOString();
}

export async function join(argv: string[], io: Output): Promise<number> {
  const parsed = parse("join", argv, {
    ...IDENTITY_OPTIONS,
    ...DISCOVERY_OPTIONS,
    "status-port": { type: "string" },
    "status-host": { type: "string" },
    "no-status": { type: "boolean" },
    "listen-host": { type: "string" },
  });
  if (parsed.values.help) return io.out(HELP), 0;
  if (parsed.positionals.length > 0) throw new UsageError(`join takes no arguments besides options, not '${parsed.positionals[0]}'`);
  const loopsOptions = discoveryOptions(parsed, epmdPort(parsed));
  if (loopsOptions.length === 0) throw new UsageError("join needs a discovery option: --dns, --static or --epmd-scan");
  const statusPortText = stringValue(parsed, "status-port");
  const statusPort = statusPortText === undefined ? 8080 : parsePort("--status-port", statusPortText);
  let session: Session | undefined;
  let status: StatusServer | undefined;
  const log = (text: string): void => io.out(`${stamp()} ${text}\n`);
  try {
    session = await startNode(parsed, io, { register: true, listenHost: stringValue(parsed, "listen-host") });
    const node = session.node;
    log(`node ${node.name} started (${node.hidden ? "hidden" : "visible"}, distribution port ${node.port})`);
    node.on("nodeup", (name) => log(`nodeup ${name}`));
    node.on("nodedown", (name, reason) => log(`nodedown ${name}: ${reason.message}`));
    node.on("acceptFailed", (error, from) => log(`refused a connection from ${from}: ${error.message}`));
    const loops = loopsOptions.map((options) => {
      const loop = node.discover(options);
      const source = loop.source.description;
      loop.on("discovered", (name) => log(`discovered ${name} (${source})`));
      loop.on("connected", (name, timing) => log(`connected ${name} in ${timing.durationMs} ms`));
      loop.on("connectFailed", (name, error, detail) => log(`connect to ${name} failed: ${error.message}; retry in ${detail.retryInMs} ms`));
      loop.on("pruned", (name, detail) => log(`pruned ${name} (${detail.reason}${detail.disconnected ? ", disconnected" : ""})`));
      loop.on("lookupFailed", (error) => log(`lookup failed: ${error.message}; nothing disconnected`));
      return loop;
    });
    if (!parsed.values["no-status"]) {
      status = await StatusServer.start({ node, discoveries: loops, port: statusPort, host: stringValue(parsed, "status-host") ?? "0.0.0.0" });
      log(`status page at ${status.url}`);
    }
    const signal = await untilSignal();
    log(`${signal}: stopping`);
    return 0;
  } finally {
    await status?.close();
    await stopSession(session);
  }
}
