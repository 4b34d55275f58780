// erldist nodes [discovery flags] [--json]: discover, connect, print a table of the nodes, exit.
import { DISCOVERY_HELP, DISCOVERY_OPTIONS, discoveryOptions, epmdPort } from "../discovery-flags.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { iolistToString } from "../../node/index.js";
import { atom } from "../../etf/index.js";
import type { Discovery } from "../../discovery/index.js";
import type { Node } from "../../index.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { UsageError, parse } from "../usage.js";

export const HELP = `Usage: erldist nodes [discovery options] [--json] [options]

Finds the nodes the discovery options name, connects to each, prints a table (name, state, OTP release), and exits:
status 0 if every node found was connected, 1 otherwise.

  erldist nodes --dns app-headless.prod.svc.cluster.local --basename app
  erldist nodes --epmd-scan 127.0.0.1 --json

Options:
  --json                 print JSON instead of a table

${DISCOVERY_HELP}

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

export interface NodeRow {
  name: string;
  state: string;
  otpRelease: string | null;
  error?: string;
}

/** The OTP release of a connected peer (erlang:system_info(otp_release)), or null. */
export async function otpRelease(node: Node, peer: string): Promise<string | null> {
  try {
    return iolistToString(await node.rpc(peer, "erlang", "system_info", [atom("otp_release")], { timeout: 5000 }));
  } catch {
    return null;
  }
}

/** Runs one refresh of each loop and returns every known name with its state. */
export async function discoverOnce(node: Node, loops: Discovery[]): Promise<NodeRow[]> {
  await Promise.all(loops.map((loop) => loop.refresh().catch(() => undefined)));
  const rows = new Map<string, NodeRow>();
  for (const loop of loops) {
    for (const known of loop.snapshot().nodes) {
      rows.set(known.name, { name: known.name, state: known.state, otpRelease: null, error: known.lastError?.message });
    }
  }
  await Promise.all([...rows.values()].map(async (row) => (row.otpRelease = row.state === "connected" ? await otpRelease(node, row.name) : null)));
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function table(rows: NodeRow[]): string {
  const header = ["NAME", "STATE", "OTP"];
  const lines = rows.map((r) => [r.name, r.error && r.state !== "connected" ? `${r.state} (${r.error})` : r.state, r.otpRelease ?? "-"]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n") + "\n";
}

export async function nodes(argv: string[], io: Output): Promise<number> {
  const parsed = parse("nodes", argv, { ...IDENTITY_OPTIONS, ...DISCOVERY_OPTIONS, json: { type: "boolean" } });
  if (parsed.values.help) return io.out(HELP), 0;
  if (parsed.positionals.length > 0) throw new UsageError(`nodes takes no arguments besides options, not '${parsed.positionals[0]}'`);
  const loopsOptions = discoveryOptions(parsed, epmdPort(parsed));
  if (loopsOptions.length === 0) throw new UsageError("nodes needs a discovery option: --dns, --static or --epmd-scan");
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    const loops = loopsOptions.map((options) => node.discover(options));
    const rows = await discoverOnce(node, loops);
    if (parsed.values.json) io.out(`${JSON.stringify({ node: node.name, nodes: rows }, null, 2)}\n`);
    else io.out(rows.length === 0 ? "no nodes found\n" : table(rows));
    return rows.length > 0 && rows.every((r) => r.state === "connected") ? 0 : 1;
  } finally {
    await stopSession(session);
  }
}
