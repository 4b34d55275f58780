// The package as users get it: the built entry points resolve through package.json "exports", with types, and
// the `erldist` command runs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

function runNode(code: string): string {
  // A plain Node process (not vitest's resolver), importing the package by its own name as a user would.
  return execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root }).toString().trim();
}

describe("package", () => {
  it("exports erldist and erldist/etf with type declarations", () => {
    for (const entry of Object.values(pkg.exports) as Array<{ types?: string; import?: string }>) {
      if (typeof entry === "string") continue;
      expect(existsSync(`${root}${entry.import}`), entry.import).toBe(true);
      expect(existsSync(`${root}${entry.types}`), entry.types).toBe(true);
    }
    const out = runNode(
      'import { encode, decode, atom, tuple } from "erldist"; import * as etf from "erldist/etf";' +
        'const t = decode(encode(tuple(atom("ok"), 1))); console.log(t.elements[0] === etf.atom("ok"), etf.decode === decode);',
    );
    expect(out).toBe("true true");
  });

  it("erldist's Node is the node layer's Node with discover(), and start() makes one", () => {
    const out = runNode(
      'import { Node } from "erldist"; const n = await Node.start({ name: "pkg@127.0.0.1", cookie: "c", epmd: false, listenHost: "127.0.0.1" });' +
        'const d = n.discover({ static: [] }); console.log(n instanceof Node, typeof n.discover, d.isRunning); await n.stop(); console.log(d.isRunning);',
    );
    expect(out).toBe("true function true\nfalse");
  });

  it("the erldist command prints help and its version, and rejects unknown commands", () => {
    const bin = `${root}${pkg.bin.erldist}`;
    expect(execFileSync(process.execPath, [bin, "--help"]).toString()).toMatch(/Usage:/);
    expect(execFileSync(process.execPath, [bin, "--version"]).toString().trim()).toBe(pkg.version);
    let status = 0;
    try {
      execFileSync(process.execPath, [bin, "frobnicate"], { stdio: "pipe" });
    } catch (err) {
      status = (err as { status: number }).status;
    }
    expect(status).toBe(2);
  });

  it("declares Node 20 or later, and ESM", () => {
    expect(pkg.engines.node).toBe(">=20");
    expect(pkg.type).toBe("module");
  });
});
