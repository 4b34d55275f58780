// The usual cast of a node-layer test file: its own epmd, one real erl node, and an erldist Node with the same
// cookie, listening on 127.0.0.1.
import { Node } from "../../src/node/index.js";
import { BeamNode } from "./beam.js";
import { startEpmd, type Epmd } from "./epmd.js";

export interface ErlAndNode {
  epmd: Epmd;
  beam: BeamNode;
  node: Node;
}

/** Starts the three; `alive` names the erldist node (`alive@127.0.0.1`). */
export async function startErlAndNode(alive: string): Promise<ErlAndNode> {
  const epmd = await startEpmd();
  const beam = await BeamNode.start({ epmd });
  const node = await Node.start({ name: `${alive}@127.0.0.1`, cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  return { epmd, beam, node };
}

/** Stops whatever of them started (safe after a failed start). */
export async function stopErlAndNode(cast: Partial<ErlAndNode>): Promise<void> {
  await cast.node?.stop();
  await cast.beam?.stop();
  await cast.epmd?.stop();
}
