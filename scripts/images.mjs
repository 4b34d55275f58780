#!/usr/bin/env node
// Container images for the tests, built with podman (as root), since nothing can be pulled from a registry here.
//
// Stand-ins for the official base images, tagged under the official names so that the project's Dockerfile and the
// manifests' image names work unchanged (builds and runs use --pull=never):
// - docker.io/library/node:20-bookworm-slim: a Debian bookworm minbase root with this machine's own Node.js (node and
//   npm in /usr/local, as the official image has them) and the `node` user (uid/gid 1000). It also carries this
//   machine's CA bundle as NODE_EXTRA_CA_CERTS, so that npm inside a build trusts the registry's certificate here;
//   the project's Dockerfile never does.
// - docker.io/library/erlang:<release> for each release of the matrix: the matrix's own root for that release
//   (Debian's erlang-nox, erlang-dev and elixir; see otp.mjs), with erl on PATH as in the official images.
// Each is a root `tar`red with --one-file-system (no /proc, /sys, /dev, nor the contents of /tmp) and `podman import`ed.
// Then `erldist:latest` (localhost/erldist:latest) is built from the project's Dockerfile on those bases.
//
// podman runs with this folder's containers.conf (CONTAINERS_CONF): runc, since podman's default runtime (crun)
// refuses this machine's hybrid cgroups; cgroupfs, as no systemd runs; and no default ulimits, which cannot be set.
//
// As a command: `node scripts/images.mjs [--erlang <release>]... [--erldist]` builds what is missing and prints the
// image names as JSON.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ensureOtpRoot, ensureRoot, SUITES } from "./otp.mjs";
import { hasCommand, installPackages } from "./packages.mjs";

const projectRoot = new URL("..", import.meta.url).pathname;
export const CONTAINERS_CONF = new URL("containers.conf", import.meta.url).pathname;
export const NODE_BASE = "docker.io/library/node:20-bookworm-slim";
export const ERLDIST_IMAGE = "localhost/erldist:latest";
export const erlangImage = (release) => `docker.io/library/erlang:${release}`;
const STANDIN_LABEL = "org.erldist.standin";

function log(message) {
  console.error(`[erldist] ${message}`);
}

/** Why containers cannot run here, or undefined when they can (installing podman and runc if needed). */
export function containersUnavailable() {
  if (process.getuid?.() !== 0) return "container pods need root (podman with network namespaces); CI runs as root";
  try {
    if (!hasCommand("podman") || !hasCommand("runc")) installPackages(["podman", "runc"], "the container tests");
  } catch (err) {
    return err.message;
  }
  return undefined;
}

/** The environment podman runs with: the project's containers.conf. */
export function podmanEnv(env = process.env) {
  return { ...env, CONTAINERS_CONF };
}

/** Runs podman and returns its stdout; throws with its stderr when it fails. */
export function podman(args, options = {}) {
  const result = spawnSync("podman", args, { env: podmanEnv(), encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`podman ${args.join(" ")} failed (${result.status}): ${(result.stderr ?? "").trim().slice(-2000)}`);
  return result.stdout ?? "";
}

export function imageExists(name) {
  return spawnSync("podman", ["image", "exists", name], { env: podmanEnv(), stdio: "ignore" }).status === 0;
}

/** Imports a root folder as an image (no /proc, /sys, /dev, nor what /tmp holds), with `changes` (Dockerfile lines). */
function importRoot(root, name, changes) {
  const started = Date.now();
  const tar = ["--one-file-system", "-C", root, "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "--exclude=./tmp/*", "--exclude=./var/cache/apt/*", "--exclude=./var/lib/apt/lists/*", "--exclude=./.erldist-ready", "-cf", "-", "."];
  const changeArgs = changes.flatMap((change) => ["--change", change]);
  execFileSync("sh", ["-c", 'tar "$@" | podman import -q '+ changeArgs.map((c) => `'${c.replace(/'/g, "'\\''")}'`).join(" ") + ` - ${name}`, "tar", ...tar], {
    env: podmanEnv(),
    stdio: ["ignore", "ignore", "inherit"],
  });
  log(`imported ${root} as ${name} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** The stand-in docker.io/library/erlang:<release>: the matrix's root of that release. */
export function ensureErlangImage(release) {
  const name = erlangImage(release);
  if (imageExists(name)) return name;
  if (!SUITES[release]) throw new Error(`no OTP ${release} in the matrix (${Object.keys(SUITES).join(", ")})`);
  const root = ensureOtpRoot(release);
  importRoot(root, name, [`LABEL ${STANDIN_LABEL}=debian-${SUITES[release].suite}`, 'CMD ["erl"]']);
  return name;
}

/** The stand-in node:20-bookworm-slim: bookworm minbase, this machine's Node.js and npm, the node user, its CA bundle. */
export function ensureNodeBase() {
  if (imageExists(NODE_BASE)) return NODE_BASE;
  const version = process.version;
  if (!version.startsWith("v20.")) log(`warning: this machine's Node.js is ${version}, so the stand-in ${NODE_BASE} holds ${version}`);
  const root = ensureRoot("bookworm-slim", { suite: "bookworm", why: `the stand-in ${NODE_BASE}` });
  const rootImage = "localhost/erldist-standin/bookworm-slim:latest";
  if (!imageExists(rootImage)) importRoot(root, rootImage, [`LABEL ${STANDIN_LABEL}=debian-bookworm-minbase`]);
  const context = mkdtempSync(join(tmpdir(), "erldist-node-base-"));
  try {
    copyFileSync(process.execPath, join(context, "node"));
    cpSync(join(dirname(process.execPath), "..", "lib", "node_modules", "npm"), join(context, "npm"), { recursive: true, dereference: true });
    const bundle = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? process.env.NODE_EXTRA_CA_CERTS : "/etc/ssl/certs/ca-certificates.crt";
    writeFileSync(join(context, "host-ca.crt"), existsSync(bundle) ? readFileSync(bundle) : "");
    writeFileSync(
      join(context, "Containerfile"),
      `FROM ${rootImage}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY host-ca.crt /usr/local/share/erldist-standin/host-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && mkdir -p /tmp && chmod 1777 /tmp
ENV NODE_VERSION=${version.slice(1)} NODE_EXTRA_CA_CERTS=/usr/local/share/erldist-standin/host-ca.crt
LABEL ${STANDIN_LABEL}=node-${version}-on-debian-bookworm-minbase
CMD ["node"]
`,
    );
    const started = Date.now();
    podman(["build", "--pull=never", "--network", "none", "-t", NODE_BASE, context], { stdio: ["ignore", "ignore", "pipe"] });
    log(`built the stand-in ${NODE_BASE} (Node.js ${version}) in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return NODE_BASE;
}

/**
 * Builds erldist:latest from the project's Dockerfile, unchanged, on the stand-in base (podman's layer cache makes a
 * rebuild with nothing changed quick). The build's network is the host's, for npm to reach the registry.
 */
export function buildErldistImage() {
  ensureNodeBase();
  const started = Date.now();
  podman(["build", "--pull=never", "--network", "host", "-t", ERLDIST_IMAGE, "-f", join(projectRoot, "Dockerfile"), projectRoot], { stdio: ["ignore", "ignore", "pipe"] });
  log(`built ${ERLDIST_IMAGE} from the Dockerfile in ${Math.round((Date.now() - started) / 1000)} s`);
  return ERLDIST_IMAGE;
}

/** Bytes of an image as podman stores it (all layers). */
export function imageSize(name) {
  return Number(podman(["image", "inspect", "--format", "{{.Size}}", name]).trim());
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const why = containersUnavailable();
    if (why) throw new Error(why);
    const built = {};
    const args = process.argv.slice(2);
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--erlang") built[`erlang:${args[i + 1]}`] = ensureErlangImage(args[++i]);
      else if (args[i] === "--erldist") built.erldist = buildErldistImage();
      else throw new Error(`unknown argument ${args[i]}: use --erlang <release> or --erldist`);
    }
    for (const [key, name] of Object.entries(built)) built[key] = { name, bytes: imageSize(name) };
    console.log(JSON.stringify(built, null, 2));
  } catch (err) {
    console.error(`[erldist] ${err.message}`);
    process.exit(1);
  }
}
