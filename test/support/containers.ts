// Containers for tests, run with podman from the images the global setup built (scripts/images.mjs): each one runs
// attached, as a tracked child (`podman run --rm`), so that its output is read line by line and its exit status is
// the container's. Every container carries the run's label, by which the global teardown removes (and reports) any
// that a crashed test left behind. Needs root; CI runs as root.
import { execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runId, spawnTracked, stopChild } from "./children.js";

/** Set by the global setup: the images built for this run ({ erlang, erldist, sizes }), as JSON. */
export const IMAGES_ENV = "ERLDIST_TEST_IMAGES";
/** Set by the global setup when containers cannot run here: why. */
export const CONTAINERS_UNAVAILABLE_ENV = "ERLDIST_TEST_CONTAINERS_UNAVAILABLE";
/** The label every test container carries, with the run's marker as its value. */
export const RUN_LABEL = "org.erldist.test-run";

export const CONTAINERS_CONF = fileURLToPath(new URL("../../scripts/containers.conf", import.meta.url));

export interface TestImages {
  /** docker.io/library/erlang:<release> for the release under test (a stand-in built from the matrix's root). */
  erlang: string;
  /** erldist:latest, built from the project's Dockerfile. */
  erldist: string;
  /** Bytes of each image as stored (erldist, its stand-in base, and that base's own root layer). */
  sizes: Record<string, number>;
}

/** Why containers cannot run in this test run, or undefined when they can. */
export function containersUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "container pods need root (podman); CI runs as root";
  return process.env[CONTAINERS_UNAVAILABLE_ENV] || (process.env[IMAGES_ENV] ? undefined : "the global setup built no images");
}

export function testImages(): TestImages {
  return JSON.parse(process.env[IMAGES_ENV] as string) as TestImages;
}

function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF };
}

/** Runs podman to the end; resolves with its exit status and output (never throws for a non-zero status). */
export function podmanStatus(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked("podman", args, { env: { CONTAINERS_CONF }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

export interface ContainerExit {
  /** The container's exit status (podman run's own), e.g. 0, or 137 for a SIGKILL. */
  status: number;
}

/** One running container: its output as lines, and how it ended. */
export class Container {
  readonly name: string;
  readonly lines: string[] = [];
  readonly exited: Promise<ContainerExit>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private partial = "";
  private ended = false;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    const onData = (data: Buffer): void => {
      const text = this.partial + data.toString("utf8");
      const parts = text.split("\n");
      this.partial = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const wake of [...this.waiters]) wake();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.ended = true;
        if (this.partial) this.lines.push(this.partial);
        for (const wake of [...this.waiters]) wake();
        resolve({ status: code ?? (signal === "SIGKILL" ? 137 : 128) });
      });
    });
  }

  /**
   * `podman run --rm` of `image` under `name`, labelled with the run's marker, with `options` (podman run flags)
   * and then `args` (the command's arguments).
   */
  static run(name: string, options: string[], image: string, args: string[] = []): Container {
    podmanStatusSync(["rm", "-f", "--ignore", name]); // a leftover of an earlier run with the same name
    const child = spawnTracked(
      "podman",
      ["run", "--rm", "--pull=never", "--name", name, "--label", `${RUN_LABEL}=${runId()}`, ...options, image, ...args],
      { env: { CONTAINERS_CONF }, stdio: ["ignore", "pipe", "pipe"] },
    );
    return new Container(name, child);
  }

  get running(): boolean {
    return !this.ended;
  }

  get output(): string {
    return this.lines.join("\n");
  }

  /** Resolves with the first line (from `from` on) that matches; rejects when the container ends first or after `timeoutMs`. */
  async line(match: RegExp | ((line: string) => boolean), options: { from?: number; timeoutMs?: number } = {}): Promise<string> {
    const test = typeof match === "function" ? match : (line: string) => match.test(line);
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let checked = options.from ?? 0;
      const finish = (error?: Error, line?: string): void => {
        this.waiters.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(line as string);
      };
      const check = (): void => {
        for (; checked < this.lines.length; checked++) if (test(this.lines[checked])) return finish(undefined, this.lines[checked]);
        if (this.ended) finish(new Error(`container ${this.name} ended before printing ${match}; its output:\n${this.output}`));
      };
      const timer = setTimeout(() => finish(new Error(`container ${this.name} printed no ${match} in ${timeoutMs} ms; its output:\n${this.output}`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Runs a command in the container (as `podman exec` does); resolves with its status and output. */
  exec(command: string[], options: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> {
    return podmanStatus(["exec", ...options, this.name, ...command]);
  }

  /** `podman stop -t <graceSeconds>`: SIGTERM, then SIGKILL after the grace period; resolves with how it ended. */
  async stop(graceSeconds: number): Promise<ContainerExit> {
    if (this.ended) return this.exited;
    await podmanStatus(["stop", "-t", String(graceSeconds), this.name]);
    return this.exited;
  }

  /** `podman kill` (SIGKILL): the container dies at once, as a crashed or OOM-killed one does. */
  async kill(): Promise<ContainerExit> {
    if (this.ended) return this.exited;
    await podmanStatus(["kill", "--signal", "KILL", this.name]);
    return this.exited;
  }

  /** Removes the container however it stands (for afterAll): kills it, then waits for podman run to end. */
  async destroy(): Promise<void> {
    if (!this.ended) await podmanStatus(["rm", "-f", "--time", "0", this.name]);
    const timer = setTimeout(() => void stopChild(this.child), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function podmanStatusSync(args: string[]): number {
  return spawnSync("podman", args, { env: podmanEnv(), stdio: "ignore" }).status ?? 1;
}

/** Removes every container a run with this marker left behind; returns their names. */
export function removeLeftoverContainers(marker: string): string[] {
  let names: string[] = [];
  try {
    names = execFileSync("podman", ["ps", "-a", "--filter", `label=${RUN_LABEL}=${marker}`, "--format", "{{.Names}}"], { env: podmanEnv(), encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
  } catch {
    return []; // no podman: nothing can have been made
  }
  for (const name of names) podmanStatusSync(["rm", "-f", "--time", "0", name]);
  return names;
}

