// erldist join: a long-running hidden node with discovery loops and the status server, until SIGTERM/SIGINT. Then it
// stops in the order a Kubernetes pod wants: readiness off first (/readyz 503), then discovery and the node (its
// connections closed, so BEAM peers see nodedown connection_closed at once), then the status server.
import type { Discovery } from "../../discovery/index.js";
import { DISCOVERY_HELP, DISCOVERY_OPTIONS, discoveryOptions, epmdPort } from "../discovery-flags.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { StatusServer } from "../../status/index.js";
import { startNode, stopSession, untilSignal, type Output, type Session } from "../session.js";
import { UsageError, parse, parsePort, stringValue } from "../usage.js";

export const HELP = `Usage: erldist join [discovery options] [--status-port <port>] [options]

Runs a hidden Erlang node that joins the cluster the discovery options describe and keeps up as nodes come and go,
with the status page (HTML, /status JSON, /metrics, /healthz, /readyz) on --status-port. Logs each discovery event.
/healthz is the liveness probe (200 while the node runs); /readyz the readiness probe: 200 once every node discovery
found is connected (nodes backing off after a failed attempt are not waited for), 503 before and once stopping.
Stops cleanly on SIGTERM or SIGINT, in this order: /readyz turns 503, discovery stops, the node stops (closing every
connection: BEAM nodes see nodedown at once), then the status server closes; exit status 0.

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
  let loops: Discovery[] = [];
  const log = (text: string): void => io.out(`${stamp()} ${text}\n`);
  try {
    session = await startNode(parsed, io, { register: true, listenHost: stringValue(parsed, "listen-host") });
    const node = session.node;
    log(`node ${node.name} started (${node.hidden ? "hidden" : "visible"}, distribution port ${node.port})`);
    node.on("nodeup", (name) => log(`nodeup ${name}`));
    node.on("nodedown", (name, reason) => log(`nodedown ${name}: ${reason.message}`));
    node.on("acceptFailed", (error, from) => log(`refused a connection from ${from}: ${error.message}`));
    loops = loopsOptions.map((options) => {
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
    await shutdown(session, loops, status, log);
    return 0;
  } finally {
    // After a failure (or a step that threw): whatever is still up. Each of these is idempotent.
    status?.drain();
    await Promise.allSettled(loops.map((loop) => loop.stop()));
    await stopSession(session);
    await status?.close();
  }
}

/** The shutdown order, each step logged: readiness off, discovery, the node (and the built-in epmd), the status server. */
async function shutdown(session: Session, loops: Discovery[], status: StatusServer | undefined, log: (text: string) => void): Promise<void> {
  if (status) {
    status.drain();
    log("draining: /readyz answers 503");
  }
  await Promise.allSettled(loops.map((loop) => loop.stop()));
  log(`discovery stopped (${loops.length === 1 ? "1 loop" : `${loops.length} loops`})`);
  const node = session.node;
  const peers = node.nodes().length;
  const down = allDown(node);
  await node.stop();
  await down;
  log(`node stopped: unregistered from epmd, ${peers === 1 ? "1 connection" : `${peers} connections`} closed`);
  if (session.epmd) {
    await stopSession(session);
    log("built-in epmd stopped");
  }
  if (status) {
    await status.close();
    log("status server closed");
  }
}

/**
 * Resolves once every node connected now has gone down (node.stop() closes the sockets at once, and their nodedown
 * follows on the next turns of the event loop), or after 2 s whatever happens: the exit is never held up for long.
 */
function allDown(node: Session["node"]): Promise<void> {
  const open = new Set(node.nodes());
  return new Promise((resolve) => {
    if (open.size === 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      node.off("nodedown", onDown);
      resolve();
    };
    const onDown = (name: string): void => {
      open.delete(name);
      if (open.size === 0) done();
    };
    const timer = setTimeout(done, 2000);
    node.on("nodedown", onDown);
  });
}
