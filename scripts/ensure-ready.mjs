#!/usr/bin/env node
// Run before `npm start`, `npm test` (--test) and the benchmarks: on a fresh machine and clone, install what is
// missing (Erlang/OTP; for the tests also dnsmasq, iproute2, Chromium, debootstrap, Elixir, podman and runc: with apt-get as
// root, otherwise it prints the command to run), then the npm dependencies, and build when the build is missing or
// stale, so the README's commands are the whole set-up. Does nothing (quickly) when everything is in place.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensurePackages } from "./packages.mjs";

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

// The demo and every test run real BEAM nodes.
const erlang = [
  { command: "erl", pkg: "erlang-nox" },
  { command: "erlc", pkg: "erlang-nox" },
  { command: "epmd", pkg: "erlang-nox" },
];
// The tests also run Elixir peers, dnsmasq as the cluster DNS, pods in network namespaces (iproute2), the status
// page in Debian's Chromium (playwright-core never downloads a browser), and the matrix's OTP roots (debootstrap).
const testing = [
  { command: "elixir", pkg: "elixir" },
  { command: "dnsmasq", pkg: "dnsmasq-base" },
  { command: "ip", pkg: "iproute2" },
  { command: "/usr/bin/chromium", pkg: "chromium" },
  { command: "debootstrap", pkg: "debootstrap" },
  { command: "openssl", pkg: "openssl" },
  // The container tests: podman builds the image and runs pods from it; runc, as podman's default runtime (crun)
  // refuses hybrid cgroups (see scripts/containers.conf).
  { command: "podman", pkg: "podman" },
  { command: "runc", pkg: "runc" },
];
const needs = process.argv.includes("--test") ? [...erlang, ...testing] : erlang;
ensurePackages(needs, process.argv.includes("--test") ? "the tests" : "erldist's demo");

ensureInstalled(root);
const built = mtime(join(root, "dist", "index.js"));
if (built === 0 || built < newestUnder(join(root, "src")) || built < mtime(join(root, "tsconfig.build.json"))) {
  run(["run", "build"], root);
}
if (process.argv.includes("--bench")) ensureInstalled(join(root, "bench"));
