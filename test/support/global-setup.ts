// vitest global setup: pick the OTP release to test against (ERLDIST_OTP, see scripts/otp.mjs), check erl, compile
// the Erlang fixtures once for that release, and after the run make sure no erl, epmd or dnsmasq the suite started is
// still running and no emulated pod is left (remove it and fail the run if one is: a test forgot to clean up).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import {
  ELIXIR_MISSING_ENV,
  OTP_BINS_ENV,
  ElixirMissingError,
  OTP_RELEASE_ENV,
  compileElixirFixtures,
  compileFixtures,
  otpRelease,
  requireErlang,
} from "./fixtures.js";
import { RUN_MARKER } from "./children.js";
import { removeLeftoverPods } from "./pods.js";
import { CONTAINERS_UNAVAILABLE_ENV, IMAGES_ENV, removeLeftoverContainers } from "./containers.js";

function markedProcesses(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.split("\0").includes(`${RUN_MARKER}=${marker}`)) found.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  return found;
}

/**
 * Builds every release's root once (as root; see scripts/otp.mjs), tells the tests that mix releases where each one's
 * wrappers are (OTP_BINS_ENV), and puts the wrappers of the release ERLDIST_OTP names first on PATH.
 */
function applyMatrix(): void {
  const bins = execFileSync(process.execPath, ["scripts/otp.mjs", "--all"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  process.env[OTP_BINS_ENV] = bins;
  if (!process.env.ERLDIST_OTP) return;
  const bin = execFileSync(process.execPath, ["scripts/otp.mjs"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  if (bin) process.env.PATH = `${bin}:${process.env.PATH}`;
}

/**
 * Builds the container images for this run (as root; scripts/images.mjs): the stand-in erlang:<release> of the
 * release under test, and erldist:latest from the project's Dockerfile (quick when podman's layer cache has it).
 */
function buildImages(release: string): void {
  delete process.env[IMAGES_ENV];
  delete process.env[CONTAINERS_UNAVAILABLE_ENV];
  if (process.getuid?.() !== 0) return; // the container tests say why they skip
  const output = execFileSync(process.execPath, ["scripts/images.mjs", "--erlang", release, "--erldist"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const built = JSON.parse(output) as Record<string, { name: string; bytes: number }>;
  const sizes = Object.fromEntries(Object.values(built).map(({ name, bytes }) => [name, bytes]));
  process.env[IMAGES_ENV] = JSON.stringify({ erlang: built[`erlang:${release}`].name, erldist: built.erldist.name, sizes });
}

export default function setup(): () => Promise<void> {
  applyMatrix(); // before anything runs erl: the workers inherit this PATH, and every erl they start is that release
  requireErlang();
  delete process.env[OTP_RELEASE_ENV];
  console.error(`[erldist] testing against OTP ${otpRelease()}${process.env.ERLDIST_OTP ? ` (ERLDIST_OTP=${process.env.ERLDIST_OTP})` : " (the erl on PATH)"}`);
  compileFixtures();
  delete process.env[ELIXIR_MISSING_ENV];
  try {
    compileElixirFixtures();
  } catch (err) {
    // Only the Elixir tests need elixir: they fail with this message (see BeamNode.start's `elixir`), the rest run.
    if (!(err instanceof ElixirMissingError)) throw err;
    process.env[ELIXIR_MISSING_ENV] = err.message;
    console.error(`[erldist] ${err.message}`);
  }
  // The command's tests run the built CLI (dist/): build it if src/ changed since (quick when it has not).
  execFileSync(process.execPath, ["scripts/ensure-ready.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
  buildImages(otpRelease());
  const marker = randomUUID();
  process.env[RUN_MARKER] = marker; // inherited by the test workers, and from them by every child they start
  // A HOME without ~/.erlang.cookie for the command's tests (test/support/cli.ts), removed after the run.
  const emptyHome = mkdtempSync(join(tmpdir(), "erldist-home-"));
  process.env.ERLDIST_EMPTY_HOME = emptyHome;
  return async () => {
    rmSync(emptyHome, { recursive: true, force: true });
    // Workers stop their children in afterAll; give exits a moment to be reaped.
    let leaked = markedProcesses(marker);
    for (let i = 0; i < 20 && leaked.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      leaked = markedProcesses(marker);
    }
    // Namespaces and interfaces of emulated pods carry the marker too (root only; nothing to find otherwise).
    // Containers carry it as a label; they go first, as they may run in a pod's namespace.
    const leftoverContainers = process.getuid?.() === 0 ? removeLeftoverContainers(marker) : [];
    const leftoverPods = [...leftoverContainers.map((name) => `container ${name}`), ...(process.getuid?.() === 0 ? removeLeftoverPods(marker) : [])];
    if (leaked.length === 0 && leftoverPods.length === 0) return;
    if (leaked.length === 0) throw new Error(`the test run left emulated pods behind (now removed): ${leftoverPods.join(", ")}`);
    const names = leaked.map((pid) => {
      try {
        return `${pid} ${execFileSync("ps", ["-o", "comm=", "-p", String(pid)]).toString().trim()}`;
      } catch {
        return String(pid);
      }
    });
    for (const pid of leaked) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const pods = leftoverPods.length > 0 ? `; and emulated pods (now removed): ${leftoverPods.join(", ")}` : "";
    throw new Error(`the test run left processes running (now killed): ${names.join(", ")}${pods}`);
  };
}
