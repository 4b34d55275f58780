// The real Phoenix.PubSub (../shared/peers/phoenix_pubsub, MIT, unmodified) compiled per release with that release's
// elixirc, and Elixir nodes that run a PubSub server from it, as a Phoenix application's supervision tree does.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BeamNode, type BeamOptions } from "./beam.js";
import { elixirLibDir, envForRelease, fixturesDir, otpRelease } from "./fixtures.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Where the shared peer libraries are: ERLDIST_PEERS_DIR, else a `shared/peers` folder beside the checkout or beside
 * one of its parents (a clone in a temporary folder finds the workplace's), else the workplace's own.
 */
export function peersDir(): string {
  const candidates = [process.env.ERLDIST_PEERS_DIR];
  for (let dir = root; dirname(dir) !== dir; dir = dirname(dir)) candidates.push(join(dirname(dir), "shared", "peers"));
  candidates.push("/work/shared/peers");
  const found = candidates.find((dir) => dir !== undefined && existsSync(join(dir, "phoenix_pubsub", "lib")));
  if (!found) {
    throw new Error(
      "the Phoenix.PubSub sources were not found (../shared/peers/phoenix_pubsub): set ERLDIST_PEERS_DIR to the folder " +
        "holding phoenix_pubsub/",
    );
  }
  return found;
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Compiles Phoenix.PubSub for `release` (once; again when its sources change) and returns its ebin directory. */
export function compilePhoenixPubSub(release = otpRelease()): string {
  const source = join(peersDir(), "phoenix_pubsub", "lib");
  const ebin = join(fixturesDir(release), "phoenix_pubsub");
  const stamp = join(ebin, ".compiled");
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest(source)) return ebin;
  elixirLibDir(release); // the clear error when elixir is missing
  mkdirSync(ebin, { recursive: true });
  // The matrix's elixirc runs in a chroot that sees only this checkout (and /tmp, /root, /home): compile a copy
  // kept under .build, never committed.
  const copy = join(fixturesDir(release), "phoenix_pubsub-src");
  rmSync(copy, { recursive: true, force: true });
  cpSync(source, copy, { recursive: true });
  execFileSync("elixirc", ["-o", ebin, copy], { stdio: ["ignore", "ignore", "inherit"], timeout: 180_000, env: { ...process.env, ...envForRelease(release) } });
  writeFileSync(stamp, "");
  return ebin;
}

export interface PubSubNodeOptions extends Omit<BeamOptions, "elixir"> {
  /** The PubSub server's name, as Elixir spells it (default "Demo.PubSub"); false: start only the pg scope. */
  pubsub?: string | false;
  /** The adapter's pool size (Phoenix's :pool_size, default 1). */
  poolSize?: number;
}

/**
 * An Elixir node running Phoenix.PubSub: the :pg scope Phoenix.PubSub (Phoenix.PubSub.Application, started by hand
 * as there is no mix project) and a PubSub server, both unlinked from the call that starts them.
 */
export async function startPubSubNode(options: PubSubNodeOptions): Promise<BeamNode> {
  const ebin = compilePhoenixPubSub(options.otp);
  const beam = await BeamNode.start({ ...options, elixir: true, args: [...(options.args ?? []), "-pa", ebin] });
  try {
    await beam.eval("{ok, App} = 'Elixir.Phoenix.PubSub.Application':start(normal, []), unlink(App), ok.");
    if (options.pubsub !== false) {
      const name = `Elixir.${options.pubsub ?? "Demo.PubSub"}`;
      await beam.eval(
        `{ok, Sup} = 'Elixir.Phoenix.PubSub.Supervisor':start_link([{name, '${name}'}, {pool_size, ${options.poolSize ?? 1}}]), unlink(Sup), ok.`,
      );
    }
  } catch (err) {
    await beam.stop();
    throw err;
  }
  return beam;
}
