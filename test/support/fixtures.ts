// Compiles the Erlang modules in test/fixtures with erlc into .build/fixtures/otp-<release> (only those that changed):
// beam files are per release, since the matrix runs the suite against several.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES_SOURCE = join(root, "test", "fixtures");

/** Environment variable the test setup sets to the OTP release of the erl on PATH (the matrix's release). */
export const OTP_RELEASE_ENV = "ERLDIST_TEST_OTP_RELEASE";

/** The OTP major release of the erl the tests run (as the setup found it, or asked of erl now). */
export function otpRelease(): string {
  const known = process.env[OTP_RELEASE_ENV];
  if (known) return known;
  const found = execFileSync("erl", ["-noshell", "-eval", "io:put_chars(erlang:system_info(otp_release)), halt()."], {
    encoding: "utf8",
    timeout: 60_000,
  }).trim();
  process.env[OTP_RELEASE_ENV] = found;
  return found;
}

/** Where the compiled fixture modules are for the erl on PATH; pass it to erl with -pa. */
export function fixturesDir(): string {
  return join(root, ".build", "fixtures", `otp-${otpRelease()}`);
}

/** Throws with an install hint when erl/erlc are missing. */
export function requireErlang(): void {
  try {
    execFileSync("erl", ["-noshell", "-eval", "halt()."], { stdio: "ignore", timeout: 60_000 });
  } catch {
    throw new Error(
      "erl was not found or does not run: the tests need a real Erlang/OTP. Install it (Debian/Ubuntu: " +
        "`apt-get install -y erlang-nox`) or run `npm test` as root, which installs it.",
    );
  }
}

export function compileFixtures(): void {
  const dir = fixturesDir();
  mkdirSync(dir, { recursive: true });
  const stale = readdirSync(FIXTURES_SOURCE)
    .filter((file) => file.endsWith(".erl"))
    .filter((file) => {
      const beam = join(dir, file.replace(/\.erl$/, ".beam"));
      return !existsSync(beam) || statSync(beam).mtimeMs < statSync(join(FIXTURES_SOURCE, file)).mtimeMs;
    })
    .map((file) => join(FIXTURES_SOURCE, file));
  if (stale.length > 0) execFileSync("erlc", ["-o", dir, ...stale], { stdio: ["ignore", "ignore", "inherit"] });
}
