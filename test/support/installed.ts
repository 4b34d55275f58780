// The package as a user installs it: `npm pack` of this clone (so exactly the files package.json publishes),
// unpacked into node_modules/erldist of a fresh directory outside the clone, with its runtime dependencies linked
// from the clone's node_modules. Dev dependencies (ts-node, typescript...) are not there, as in a real install.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface InstalledPackage {
  /** The directory a user's project would be: node_modules/erldist is in it. */
  dir: string;
  /** The installed `erldist` command's script (package.json bin). */
  bin: string;
  remove(): void;
}

/** Packs and installs the built package (run after the build, which the global setup does). */
export function installPackage(): InstalledPackage {
  const dir = mkdtempSync(join(tmpdir(), "erldist-installed-"));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  try {
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .trim()
      .split("\n")
      .pop()!;
    const target = join(dir, "node_modules", "erldist");
    mkdirSync(target, { recursive: true });
    execFileSync("tar", ["-xzf", join(dir, packed), "-C", target, "--strip-components=1"]);
    const pkg = JSON.parse(readFileSync(join(target, "package.json"), "utf8")) as {
      bin: Record<string, string>;
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const source = join(root, "node_modules", name);
      if (!existsSync(source)) continue; // an optional dependency that did not install
      mkdirSync(join(dir, "node_modules", name, ".."), { recursive: true });
      symlinkSync(source, join(dir, "node_modules", name), "dir");
    }
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user-project", private: true }));
    return { dir, bin: join(target, pkg.bin.erldist), remove };
  } catch (err) {
    remove();
    throw err;
  }
}
