// A private epmd per test file, on its own port, so files can run in parallel and never touch the system's epmd.
import type { ChildProcess } from "node:child_process";
import { spawnTracked, stopChild } from "./children.js";
import { canConnect, freePort } from "./net.js";

// epmd runs under a tiny shell that kills it when our end of its stdin closes: if the test process dies without
// cleaning up, epmd goes with it.
const GUARD = 'epmd -port "$1" & pid=$!; trap \'kill $pid 2>/dev/null; wait $pid 2>/dev/null\' EXIT TERM INT; read -r _ || true';

export interface Epmd {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts epmd on a free loopback port and waits until it accepts connections. */
export async function startEpmd(): Promise<Epmd> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawnTracked("sh", ["-c", GUARD, "epmd-guard", String(port)], {
      stdio: ["pipe", "ignore", "pipe"],
      env: { ERL_EPMD_ADDRESS: "127.0.0.1" },
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await canConnect("127.0.0.1", port)) return { port, stop: () => stopChild(child) };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopChild(child);
  }
  throw new Error("could not start epmd on a free port after 5 attempts");
}
