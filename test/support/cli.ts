// Running the built `erldist` command as a user would: a child process with its own environment, tracked so it
// never outlives the test.
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { spawnTracked, stopChild } from "./children.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = join(root, "dist", "cli", "main.js");

/** A HOME without ~/.erlang.cookie, so that only what a test passes is the cookie. */
export const EMPTY_HOME = process.env.ERLDIST_EMPTY_HOME ?? ownEmptyHome();

/** Outside the suite (whose global setup makes one for all files and removes it): one for this process. */
function ownEmptyHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "erldist-home-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text` (rejects if the command exits first or after timeoutMs). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<CliResult>;
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** Where and which command to run: by default this clone's dist/cli/main.js, from the clone. */
export interface CliOptions {
  /** Another build of the command, e.g. an installed package's (see installed.ts). */
  main?: string;
  cwd?: string;
}

/** Starts the command; env is added to a clean one (PATH, HOME without a cookie). */
export function startCli(args: string[], env: Record<string, string> = {}, options: CliOptions = {}): CliProcess {
  const child = spawnTracked(process.execPath, [options.main ?? CLI, ...args], {
    cwd: options.cwd ?? root,
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "", HOME: EMPTY_HOME, ERLANG_COOKIE: "", ...env },
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<CliResult>((resolve) => child.once("close", (code) => resolve({ code, stdout: out, stderr: err })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (text, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const matches = () => (typeof text === "string" ? out.includes(text) : text.test(out));
        const check = () => {
          if (!matches()) return;
          cleanup();
          resolve(out);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`erldist did not print ${String(text)} in ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`erldist exited before printing ${String(text)}; stdout:\n${out}\nstderr:\n${err}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("close", onExit);
        };
        listeners.add(check);
        child.once("close", onExit);
        check();
      }),
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => void stopChild(child), 15_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Runs the command to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, input?: string, options: CliOptions = {}): Promise<CliResult> {
  const cli = startCli(args, env, options);
  if (input !== undefined) cli.child.stdin?.end(input);
  else cli.child.stdin?.end();
  const timer = setTimeout(() => cli.child.kill("SIGKILL"), 60_000);
  const result = await cli.exited;
  clearTimeout(timer);
  return result;
}
