// Starting the command's own node, and stopping it (and whatever else the command started) on the way out.
import { EpmdError, EpmdServer, defaultEpmdPort, listNames } from "../epmd/index.js";
import { Node } from "../index.js";
import { cookie, nodeName, tlsOptions } from "./identity.js";
import { epmdPort } from "./discovery-flags.js";
import type { Parsed } from "./usage.js";

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Session {
  node: Node;
  /** The built-in epmd, when the command had to start one. */
  epmd?: EpmdServer;
}

/**
 * Starts this command's node. One-shot commands (register false) only dial out, so they need no epmd on this host;
 * a long-running node registers with the local epmd, or starts the built-in one when none answers.
 */
export async function startNode(parsed: Parsed, io: Output, options: { register: boolean; listenHost?: string }): Promise<Session> {
  const port = epmdPort(parsed) ?? defaultEpmdPort();
  const name = nodeName(parsed);
  const secret = cookie(parsed, io.err);
  const tls = tlsOptions(parsed);
  let epmd: EpmdServer | undefined;
  if (options.register) {
    try {
      await listNames({ port, timeout: 1000 });
    } catch (err) {
      if (!(err instanceof EpmdError)) throw err;
      epmd = await EpmdServer.start({ port, host: "0.0.0.0" });
      io.err(`no epmd answered on port ${port}: started the built-in one`);
    }
  }
  try {
    const node = await Node.start({
      name,
      cookie: secret,
      hidden: !parsed.values.visible,
      epmd: { port },
      register: options.register,
      listenHost: options.listenHost,
      tls,
    });
    return { node, epmd };
  } catch (err) {
    await epmd?.close();
    throw err;
  }
}

/**
 * Stops the command's node (its discovery loops first, then its connections; idempotent), then the built-in epmd
 * if the command started one, even when stopping the node failed. Calling it again closes nothing twice.
 */
export async function stopSession(session: Session | undefined): Promise<void> {
  if (!session) return;
  try {
    await session.node.stop();
  } finally {
    const epmd = session.epmd;
    session.epmd = undefined;
    await epmd?.close();
  }
}

/** Resolves on the first SIGINT or SIGTERM (then lets the command stop cleanly). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
