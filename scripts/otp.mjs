#!/usr/bin/env node
// The OTP release matrix: which erl the tests run against.
//
// `ERLDIST_OTP` unset (or equal to the host's release) means the erl on PATH. Otherwise the release Debian ships in
// another suite (27: trixie, 29: forky) is installed once as a debootstrap root, cached outside the clone
// (ERLDIST_OTP_ROOTS, default /var/cache/erldist/otp-roots), and run through wrapper scripts (erl, erlc, epmd, elixir,
// ...) that the test setup puts first on PATH. Each wrapper runs its tool with chroot inside a private mount
// namespace (unshare -m) that binds this machine's /proc, /sys, /dev, /tmp, /root, /home, the caller's directory,
// /etc/hosts and /etc/resolv.conf into the root: the tool sees the host's network and files, the binds vanish with
// the process, and nothing stays mounted on the host. /etc/resolv.conf is bound from the caller's view, so a wrapper
// run by `ip netns exec` resolves through that namespace's resolv.conf as the host's erl would.
//
// As a command: `node scripts/otp.mjs [release]` prepares the release and prints the wrapper directory to put first on
// PATH (nothing for the host's own release); `--all` prepares every release and prints {release: directory} as JSON;
// `--release` prints the release the erl on PATH reports.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasCommand, installPackages } from "./packages.mjs";

/** Debian suites by the OTP major release they ship. */
export const SUITES = {
  25: { suite: "bookworm", elixir: "1.14" },
  27: { suite: "trixie", elixir: "1.18" },
  29: { suite: "forky", elixir: "1.20", script: "sid" }, // bookworm's debootstrap has no forky script; sid's works
};

export const ROOTS = process.env.ERLDIST_OTP_ROOTS || "/var/cache/erldist/otp-roots";
const TOOLS = ["erl", "erlc", "epmd", "escript", "elixir", "elixirc", "iex", "mix", "run_erl", "to_erl"];
const READY = ".erldist-ready";

function log(message) {
  console.error(`[erldist] ${message}`);
}

/** The OTP major release of the erl on PATH (with `env`'s PATH), or undefined when there is none. */
export function otpReleaseOnPath(env = process.env) {
  try {
    return execFileSync("erl", ["-noshell", "-eval", 'io:put_chars(erlang:system_info(otp_release)), halt().'], {
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 60_000,
    }).trim();
  } catch {
    return undefined;
  }
}

/** The Debian mirror this machine's apt uses, for debootstrap (deb.debian.org when none is found). */
function debianMirror() {
  const candidates = [];
  const dir = "/etc/apt/sources.list.d";
  const files = existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
  for (const file of ["/etc/apt/sources.list", ...files]) {
    if (!existsSync(file) || !/\.(list|sources)$/.test(file)) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*URIs:\s*(\S+)/gm)) candidates.push(m[1]);
    for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)) candidates.push(m[1]);
  }
  return candidates.find((uri) => /debian/.test(uri) && !/security/.test(uri)) ?? "http://deb.debian.org/debian";
}

function wrapperScript(root, tool) {
  // $1 root, $2 tool, then the tool's arguments. Binds only what exists; a directory already under a bound one is
  // covered by it. The chrooted shell enters the caller's directory (bound, so the same path) or / if it cannot.
  return `#!/bin/sh
# ${tool} from the OTP root ${root}, with this machine's network and files (written by erldist's scripts/otp.mjs).
exec unshare -m -- /bin/sh -c '
root=$1; tool=$2; shift 2
bind() {
  [ -e "$1" ] || return 0
  case "$1" in /tmp/*|/root/*|/home/*) return 0 ;; esac
  mkdir -p "$root$1" && mount --rbind "$1" "$root$1"
}
for dir in /proc /sys /dev /tmp /root /home "$PWD" $ERLDIST_OTP_BINDS; do bind "$dir" || exit 111; done
for file in /etc/hosts /etc/resolv.conf; do
  [ -e "$file" ] && { [ -f "$root$file" ] || : > "$root$file"; } && mount --bind "$file" "$root$file"
done
exec chroot "$root" /bin/sh -c "cd \\"\\$0\\" 2>/dev/null || cd /; exec \\"\\$@\\"" "$PWD" "$tool" "$@"
' otp-wrapper "${root}" "${tool}" "$@"
`;
}

/** Installs (once) the root for `release` and writes its wrappers; returns the directory to put first on PATH. */
export function prepareRelease(release) {
  const entry = SUITES[release];
  if (!entry) {
    throw new Error(`ERLDIST_OTP=${release}: the matrix covers OTP ${Object.keys(SUITES).join(", ")} (Debian's releases); pick one of those`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `ERLDIST_OTP=${release} runs OTP ${release} from a Debian ${entry.suite} root with chroot and mount, which need ` +
        `root: run the tests as root (CI does), or leave ERLDIST_OTP unset to test the erl on PATH`,
    );
  }
  const root = ensureOtpRoot(release);
  const bin = join(ROOTS, `${entry.suite}.bin`);
  mkdirSync(bin, { recursive: true });
  for (const tool of TOOLS) {
    const path = join(bin, tool);
    const text = wrapperScript(root, `/usr/bin/${tool}`);
    if (!existsSync(path) || readFileSync(path, "utf8") !== text) {
      writeFileSync(path, text);
      chmodSync(path, 0o755);
    }
  }
  return bin;
}

/**
 * Installs (once) a Debian root under ROOTS: `suite` with `include` (comma-separated packages) by debootstrap's
 * minbase variant, with the given debootstrap script when the suite has none of its own. Returns its path. Also used
 * by scripts/images.mjs for the stand-in container base images.
 */
export function ensureRoot(name, { suite, include, script, why }) {
  const root = join(ROOTS, name);
  if (existsSync(join(root, READY))) return root;
  if (!hasCommand("debootstrap")) installPackages(["debootstrap"], why);
  const partial = `${root}.partial`;
  mkdirSync(ROOTS, { recursive: true });
  // Nothing is ever mounted inside a root outside a wrapper's own namespace, so removing one stays inside it.
  rmSync(partial, { recursive: true, force: true });
  const mirror = debianMirror();
  const args = ["--variant=minbase", ...(include ? [`--include=${include}`] : []), suite, partial, mirror];
  if (script) args.push(`/usr/share/debootstrap/scripts/${script}`);
  log(`installing Debian ${suite}${include ? ` (${include})` : ""} into ${root} with debootstrap from ${mirror}, for ${why}; once, about a minute`);
  const started = Date.now();
  execFileSync("debootstrap", args, { stdio: ["ignore", "ignore", "inherit"] });
  writeFileSync(join(partial, READY), `${suite}\n`);
  rmSync(root, { recursive: true, force: true });
  renameSync(partial, root);
  log(`${name} root ready in ${Math.round((Date.now() - started) / 1000)} s`);
  return root;
}

/** The root of OTP `release` as the matrix installs it: Debian's erlang-nox, erlang-dev and elixir. */
export function ensureOtpRoot(release) {
  const entry = SUITES[release];
  return ensureRoot(entry.suite, { suite: entry.suite, include: "erlang-nox,erlang-dev,elixir", script: entry.script, why: `OTP ${release}` });
}

/**
 * The PATH to run the tests with for ERLDIST_OTP (the current PATH when it is unset or names the host's release),
 * and the release that PATH's erl reports.
 */
export function matrixPath(requested = process.env.ERLDIST_OTP) {
  const hostRelease = otpReleaseOnPath();
  if (!requested || requested === "host" || requested === hostRelease) return { path: process.env.PATH, release: hostRelease };
  const bin = prepareRelease(requested);
  const path = `${bin}:${process.env.PATH}`;
  const release = otpReleaseOnPath({ ...process.env, PATH: path });
  if (release !== requested) throw new Error(`the OTP ${requested} root's erl reports release ${release ?? "nothing"}; remove ${join(ROOTS, SUITES[requested].suite)} to rebuild it`);
  return { path, release };
}

/**
 * Prepares every release of the matrix (as root; nothing otherwise) and returns, by release, the directory to put
 * first on PATH for it ("" for the host's own erl). For tests that run several releases at once.
 */
export function prepareAll() {
  const hostRelease = otpReleaseOnPath();
  const bins = {};
  if (process.getuid?.() !== 0) return hostRelease ? { [hostRelease]: "" } : {};
  for (const release of Object.keys(SUITES)) bins[release] = release === hostRelease ? "" : prepareRelease(release);
  return bins;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (process.argv[2] === "--release") console.log(otpReleaseOnPath() ?? "");
    else if (process.argv[2] === "--all") console.log(JSON.stringify(prepareAll()));
    else {
      const requested = process.argv[2] ?? process.env.ERLDIST_OTP;
      const { path } = matrixPath(requested);
      if (path !== process.env.PATH) console.log(path.split(":")[0]);
    }
  } catch (err) {
    console.error(`[erldist] ${err.message}`);
    process.exit(1);
  }
}
