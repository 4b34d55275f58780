// The package as users get it: the built entry points resolve through package.json "exports", with types (which
// leave out internal members), from ES modules and from CommonJS (require of an ES module, Node 20.19+ and 22.12+),
// in this clone and installed from `npm pack` as a user installs it; and the `erldist` command runs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPackage, type InstalledPackage } from "./support/installed.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

function runNode(code: string, type: "module" | "commonjs" = "module", cwd = root): string {
  // A plain Node process (not vitest's resolver), importing the package by its own name as a user would.
  return execFileSync(process.execPath, [`--input-type=${type}`, "-e", code], { cwd, stdio: "pipe" }).toString().trim();
}

/** Whether this Node loads ES modules with require() without a flag (20.19+, 22.12+, 23+). */
function requiresEsm(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major >= 23 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
}

let installed: InstalledPackage;

beforeAll(() => {
  installed = installPackage();
});

afterAll(() => installed?.remove());

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

  it("require() works where Node requires ES modules: the same module as import, for erldist and erldist/etf", () => {
    for (const entry of [pkg.exports["."], pkg.exports["./etf"]]) expect(entry.require).toBe(entry.import);
    const code =
      'const erldist = require("erldist"); const etf = require("erldist/etf");' +
      'const t = etf.decode(erldist.encode(erldist.tuple(erldist.atom("ok"), 1)));' +
      'import("erldist").then((esm) => console.log(t.elements[0] === etf.atom("ok"), esm.Node === erldist.Node, typeof erldist.Node.start));';
    if (!requiresEsm()) {
      // Older Node 20: require() of an ES module fails with this code (the README says to use import() there).
      expect(() => runNode(code, "commonjs")).toThrow(/ERR_REQUIRE_ESM/);
      return;
    }
    expect(runNode(code, "commonjs")).toBe("true true function");
    // And from a user's CommonJS file in a project that installed the package.
    writeFileSync(join(installed.dir, "use.cjs"), `${code}\n`);
    expect(execFileSync(process.execPath, ["use.cjs"], { cwd: installed.dir }).toString().trim()).toBe("true true function");
  });

  it("the installed package imports, and its command runs, with only its runtime dependencies", () => {
    expect(runNode('import { Node, atom } from "erldist"; console.log(typeof Node.start, atom("a").name);', "module", installed.dir)).toBe("function a");
    expect(execFileSync(process.execPath, [installed.bin, "--version"]).toString().trim()).toBe(pkg.version);
    expect(existsSync(join(installed.dir, "node_modules", "ts-node"))).toBe(false);
  });

  it("the published types leave out internal members (stripInternal), and a strict consumer type-checks against them", () => {
    // Every member documented @internal in src must be absent from the declaration file built from it.
    const internal = /\/\*\*[\s*]*@internal[\s\S]*?\*\/\s*(?:(?:private|readonly|static|async|get|set)\s+)*\[?([A-Za-z_$][\w$]*)/g;
    const checked: string[] = [];
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    for (const file of walk(join(root, "src")).filter((f) => f.endsWith(".ts"))) {
      const declarations = join(root, "dist", relative(join(root, "src"), file)).replace(/\.ts$/, ".d.ts");
      const text = readFileSync(declarations, "utf8");
      for (const [, name] of readFileSync(file, "utf8").matchAll(internal)) {
        expect(text, `${name} in ${relative(root, declarations)}`).not.toMatch(new RegExp(`^\\s+(?:readonly\\s+)?\\[?${name}\\]?\\??[(:<]`, "m"));
        checked.push(name);
      }
    }
    // The pattern finds what it must (not a vacuous check): ErlProcess's node-facing members among them.
    expect(checked).toEqual(expect.arrayContaining(["deliver", "addLink", "dropLink", "exitSignal", "withoutFlags"]));
    // A TypeScript project with skipLibCheck off: ESM and CommonJS (require of the ES module) files.
    const project = join(installed.dir, "ts");
    mkdirSync(project, { recursive: true });
    if (!existsSync(join(installed.dir, "node_modules", "@types"))) symlinkSync(join(root, "node_modules", "@types"), join(installed.dir, "node_modules", "@types"), "dir");
    writeFileSync(
      join(project, "esm.mts"),
      'import { Node, Tuple, atom, tuple, type Term } from "erldist";\nimport { decode, encode } from "erldist/etf";\n' +
        'export async function f(): Promise<boolean> {\n  const node = await Node.start({ name: "a@127.0.0.1", register: false });\n' +
        '  const back: Term = decode(encode(tuple(atom("ok"), node.name)));\n  return back instanceof Tuple;\n}\n',
    );
    writeFileSync(join(project, "cjs.cts"), 'import erldist = require("erldist");\nexport const t = erldist.tuple(erldist.atom("ok"), 1);\n');
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, skipLibCheck: false, noEmit: true, types: ["node"] }, files: ["esm.mts", "cjs.cts"] }),
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", project], { stdio: "pipe" });
    } catch (err) {
      output = String((err as { stdout?: Buffer }).stdout ?? err);
    }
    expect(output).toBe("");
  });

  it("declares Node 20 or later, and ESM", () => {
    expect(pkg.engines.node).toBe(">=20");
    expect(pkg.type).toBe("module");
  });
});
