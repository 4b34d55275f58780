// Compiles the Erlang modules in test/fixtures with erlc into .build/fixtures (only those that changed).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES_SOURCE = join(root, "test", "fixtures");
/** Where the compiled fixture modules are; pass it to erl with -pa. */
export const FIXTURES_DIR = join(root, ".build", "fixtures");

/** Throws with an install hint when erl/erlc are missing. */
export function requireErlang(): void {
  try {
    execFileSync("erl", ["-noshell", "-eval", "halt()."], { stdio: "ignore", timeout: 30_000 });
  } catch {
    throw new Error(
      "erl was not found or does not run: the tests need a real Erlang/OTP. Install it (Debian/Ubuntu: " +
        "`apt-get install -y erlang-nox`) or run `bash .ci/run`, which installs it.",
    );
  }
}

export function compileFixtures(): void {
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const stale = readdirSync(FIXTURES_SOURCE)
    .filter((file) => file.endsWith(".erl"))
    .filter((file) => {
      const beam = join(FIXTURES_DIR, file.replace(/\.erl$/, ".beam"));
      return !existsSync(beam) || statSync(beam).mtimeMs < statSync(join(FIXTURES_SOURCE, file)).mtimeMs;
    })
    .map((file) => join(FIXTURES_SOURCE, file));
  if (stale.length > 0) execFileSync("erlc", ["-o", FIXTURES_DIR, ...stale], { stdio: ["ignore", "ignore", "inherit"] });
}
