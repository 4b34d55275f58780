#!/usr/bin/env node
// Run before `npm test` and the benchmarks: on a fresh clone, install dependencies and build when they are missing
// or stale, so the README's commands are the whole set-up. Does nothing (quickly) when everything is in place.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function run(args, cwd) {
  console.error(`[erldist] ${cwd === root ? "" : cwd.slice(root.length) + ": "}npm ${args.join(" ")}`);
  execFileSync(npm, args, { cwd, stdio: "inherit" });
}

function ensureInstalled(dir) {
  const marker = join(dir, "node_modules", ".package-lock.json");
  if (mtime(marker) < mtime(join(dir, "package.json")) || mtime(marker) < mtime(join(dir, "package-lock.json"))) {
    run(["install", "--no-audit", "--no-fund"], dir);
  }
}

ensureInstalled(root);
const built = mtime(join(root, "dist", "index.js"));
if (built === 0 || built < newestUnder(join(root, "src")) || built < mtime(join(root, "tsconfig.build.json"))) {
  run(["run", "build"], root);
}
if (process.argv.includes("--bench")) ensureInstalled(join(root, "bench"));
