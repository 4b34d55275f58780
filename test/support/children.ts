// Every OS process a test starts goes through here, so that none outlives the test run: each child is tracked and
// killed when its test file ends (or the worker exits), and carries a marker in its environment by which the
// global teardown finds and kills anything that escaped (and reports it as a leak).
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** Environment variable set on every child the harness starts; its value identifies this test run. */
export const RUN_MARKER = "ERLDIST_TEST_RUN";

const children = new Set<ChildProcess>();

export function runId(): string {
  return process.env[RUN_MARKER] ?? `pid${process.pid}`;
}

/** Spawns a tracked child process. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, {
    ...options,
    env: { ...process.env, ...options.env, [RUN_MARKER]: runId() },
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.once("error", () => children.delete(child));
  return child;
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. Resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every child this process started and has not stopped yet. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
