// `npm start` runs `erldist demo`: three real BEAM nodes with erldist's built-in epmd, joined by a hidden erldist
// node through the epmd scan, an rpc on each, the status page; Ctrl-C stops every child. Without erl, it says how
// to install it.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RUN_MARKER } from "../support/children.js";
import { runCli, startCli } from "../support/cli.js";
import { testedOtpRelease } from "../support/release.js";

/** erl processes of this test run that the demo started (found by the run marker every child inherits). */
function demoBeams(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1");
      if (environ.includes(`${RUN_MARKER}=${process.env[RUN_MARKER]}`) && /demo\d@127\.0\.0\.1/.test(cmdline)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

describe("erldist demo (npm start)", () => {
  it("joins three BEAM nodes, runs an rpc on each, serves the status page, and stops every child on Ctrl-C", async () => {
    const demo = startCli(["demo", "--status-port", "0"]);
    let out: string;
    try {
      out = await demo.waitFor("Press Ctrl-C to stop.", 90_000);
    } catch (err) {
      await demo.stop("SIGINT");
      throw err;
    }
    const release = testedOtpRelease(); // the demo starts the erl on PATH, so its nodes report this release
    expect(out).toMatch(/Starting 3 BEAM nodes on 127\.0\.0\.1 with erldist's built-in epmd \(port \d+\)/);
    for (const n of [1, 2, 3]) {
      expect(out).toMatch(new RegExp(`demo${n}@127\\.0\\.0\\.1  OTP ${release}, \\d+ processes; its nodes\\(\\): .*; nodes\\(hidden\\): erldist-demo@127\\.0\\.0\\.1`));
    }
    // The BEAM nodes see each other (a visible cluster) and erldist only as hidden.
    for (const [n, others] of [[1, "demo2@127.0.0.1, demo3@127.0.0.1"], [2, "demo1@127.0.0.1, demo3@127.0.0.1"], [3, "demo1@127.0.0.1, demo2@127.0.0.1"]]) {
      expect(out).toContain(`demo${n}@127.0.0.1  OTP ${release}`);
      expect(out).toMatch(new RegExp(`demo${n}@127\\.0\\.0\\.1 .*its nodes\\(\\): ${String(others).replace(/\./g, "\\.")};`));
    }
    const url = /status page: (http:\S+)/.exec(out)![1];
    const status = JSON.stringify(await (await fetch(new URL("/status", url))).json());
    for (const n of [1, 2, 3]) expect(status).toContain(`demo${n}@127.0.0.1`);
    expect(demoBeams()).toHaveLength(3);
    const result = await demo.stop("SIGINT");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Stopped every node the demo started.");
    expect(demoBeams()).toEqual([]);
  });

  it("without erl on the PATH, says how to install it", async () => {
    const result = await runCli(["demo"], { PATH: "/nonexistent" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("erl was not found on the PATH");
    expect(result.stderr).toContain("apt-get install -y erlang-nox");
  });
});
