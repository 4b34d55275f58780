// erldist broadcast --pubsub <Name> <topic> '<term>' [discovery flags]: joins the cluster as a hidden node, waits
// until the nodes' Phoenix.PubSub pg scopes have synced, and broadcasts the term on the topic as
// Phoenix.PubSub.broadcast/3 does (node.pubsub(name).broadcast). The term is written in Erlang syntax (or Elixir's)
// and read on one of the nodes that run the PubSub, as rpc reads its arguments.
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP } from "../identity.js";
import { DISCOVERY_HELP } from "../discovery-flags.js";
import { describeCallError, parseTerm } from "../remote-erlang.js";
import { evaluateElixir } from "../remote-elixir.js";
import { CallError } from "../../node/index.js";
import type { Encodable, Term } from "../../etf/index.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { CommandError, UsageError, parse } from "../usage.js";
import { PUBSUB_OPTIONS, connectAndSync, displayName, pubsubCommandLine, remoteNodes, whyNowhere } from "./subscribe.js";

export const HELP = `Usage: erldist broadcast --pubsub <Name> <topic> '<term>' [discovery options] [options]

Joins the cluster the discovery options describe as a hidden node, waits until the nodes' Phoenix.PubSub pg scopes
have synced with it, and broadcasts <term> on <topic> as Phoenix.PubSub.broadcast/3 does: every node that runs the
PubSub server <Name> hands it to its subscribers of that topic. <term> is in Erlang term syntax, read by erl_parse on
one of those nodes (with --elixir, Elixir code, evaluated there). Prints the nodes it reached (\`reached <N> nodes:
<node>, ...\`); exit status 1 when no node runs <Name>, with what does run.

  erldist broadcast --pubsub MyApp.PubSub --static app@10.0.0.7 room:lobby '{new_msg, <<"hello">>}'
  erldist broadcast --pubsub MyApp.PubSub --static app@10.0.0.7 --elixir room:lobby '%{body: "hello"}'

Options:
  --pubsub <Name>        the PubSub server, as the app names it ({Phoenix.PubSub, name: MyApp.PubSub})
  --elixir               <term> is Elixir code (the nodes run Elixir, as Phoenix.PubSub's do)
  --timeout <duration>   how long the nodes' pg scopes may take to answer (default 10s)

${DISCOVERY_HELP}

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

export async function broadcast(argv: string[], io: Output): Promise<number> {
  const parsed = parse("broadcast", argv, PUBSUB_OPTIONS);
  if (parsed.values.help) return io.out(HELP), 0;
  const line = pubsubCommandLine("broadcast", parsed);
  if (parsed.positionals.length !== 2) {
    throw new UsageError(`broadcast takes a topic and one term (in quotes), e.g. erldist broadcast --pubsub MyApp.PubSub --static app@10.0.0.7 room:lobby '{hello, world}'`);
  }
  const [topic, text] = parsed.positionals;
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    const pubsub = node.pubsub(line.name);
    await connectAndSync(node, line.loops, line.timeout, io);
    const peers = remoteNodes(node, pubsub);
    if (peers.length === 0) throw new CommandError(whyNowhere(node, pubsub));
    let message: Term;
    try {
      message = line.elixir
        ? (await evaluateElixir(node, peers[0], text, { onOutput: io.err, onWarning: io.err }, line.timeout)).value
        : await parseTerm(node, peers[0], text);
    } catch (err) {
      if (err instanceof CallError) throw new CommandError(describeCallError(`reading the term on ${peers[0]}`, err, line.elixir ? "elixir" : "erlang"), { cause: err });
      throw err;
    }
    await pubsub.broadcast(topic, message as Encodable);
    // A call to each node after the broadcast, on the same connection, comes back only once the broadcast is in
    // that node's mailboxes: "reached" means delivered there, not written to a socket this command then closes.
    const outcomes = await Promise.all(
      peers.map(async (peer) => {
        try {
          await node.rpc(peer, "erlang", "node", [], { timeout: line.timeout });
          return undefined;
        } catch (err) {
          return `${peer}: ${(err as Error).message}`;
        }
      }),
    );
    const reached = peers.filter((_, i) => outcomes[i] === undefined);
    for (const failure of outcomes) if (failure !== undefined) io.err(`broadcast sent, delivery not confirmed on ${failure}`);
    io.out(`reached ${reached.length} ${reached.length === 1 ? "node" : "nodes"}${reached.length > 0 ? `: ${reached.join(", ")}` : ""}\n`);
    if (reached.length === 0) throw new CommandError(`the broadcast on ${JSON.stringify(topic)} of ${displayName(pubsub)} reached no node: see above why`);
    return 0;
  } finally {
    await stopSession(session);
  }
}
