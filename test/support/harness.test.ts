// The harness itself: real BEAM nodes on a private epmd, evaluation, distribution between them, and cleanup.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { atom, charlistToString } from "../../src/etf/index.js";
import { BeamError, BeamNode } from "./beam.js";
import { startEpmd, type Epmd } from "./epmd.js";

let epmd: Epmd;
let a: BeamNode;
let b: BeamNode;

beforeAll(async () => {
  epmd = await startEpmd();
  [a, b] = await Promise.all([BeamNode.start({ epmd }), BeamNode.start({ epmd })]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await epmd?.stop();
});

function running(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("test harness", () => {
  it("starts real OTP nodes with long names on 127.0.0.1, registered in the file's own epmd", async () => {
    expect(await a.eval("node().")).toBe(atom(a.name));
    const release = charlistToString((await a.eval("erlang:system_info(otp_release).")) as number[]);
    expect(Number(release)).toBeGreaterThanOrEqual(25);
    const names = execFileSync("epmd", ["-port", String(epmd.port), "-names"]).toString();
    expect(names).toContain(a.name.split("@")[0]);
    expect(names).toContain(b.name.split("@")[0]);
  });

  it("evaluates Erlang and reports Erlang errors", async () => {
    expect(await a.eval("X = 20, X + 22.")).toBe(42);
    await expect(a.eval("erlang:error(boom).")).rejects.toThrow(BeamError);
    await expect(a.eval("not valid erlang")).rejects.toThrow(/error/);
    expect(await a.eval("1 + 1.")).toBe(2); // still serving after errors
  });

  it("nodes reach each other over distribution through the private epmd", async () => {
    expect(await a.eval(`net_adm:ping('${b.name}').`)).toBe(atom("pong"));
    expect(await b.eval("nodes().")).toEqual([atom(a.name)]);
  });

  it("a stopped node's OS process is gone", async () => {
    const c = await BeamNode.start({ epmd });
    const pid = c.pid;
    expect(running(pid)).toBe(true);
    await c.stop();
    expect(running(pid)).toBe(false);
    await expect(c.eval("1.")).rejects.toThrow(/not running/);
  });

  it("a node halts by itself when its control channel closes (the test process died)", async () => {
    const c = await BeamNode.start({ epmd });
    const pid = c.pid;
    // Simulate the test process dying: close our end of the channel without asking the node to stop.
    (c as unknown as { input: { destroy(): void } }).input.destroy();
    for (let i = 0; i < 100 && running(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(running(pid)).toBe(false);
  });
});
