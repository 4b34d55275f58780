// Compiles the Erlang modules in test/fixtures with erlc into .build/fixtures/otp-<release> (only those that changed):
// beam files are per release, since the matrix runs the suite against several.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES_SOURCE = join(root, "test", "fixtures");
export const ELIXIR_FIXTURES_SOURCE = join(FIXTURES_SOURCE, "elixir");

/** Environment variable the test setup sets to the OTP release of the erl on PATH (the matrix's release). */
export const OTP_RELEASE_ENV = "ERLDIST_TEST_OTP_RELEASE";

/** Environment variable the test setup sets to {release: wrapper directory} for every release of the matrix. */
export const OTP_BINS_ENV = "ERLDIST_TEST_OTP_BINS";

/**
 * The releases of the matrix this machine can run, each with the directory to put first on PATH for it ("" for the
 * host's erl). Only the host's release when the roots cannot be built (not root).
 */
export function matrixBins(): Record<string, string> {
  return JSON.parse(process.env[OTP_BINS_ENV] ?? "{}") as Record<string, string>;
}

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

/** Where the compiled fixture modules are for a release (default: the erl on PATH's); pass it to erl with -pa. */
export function fixturesDir(release = otpRelease()): string {
  return join(root, ".build", "fixtures", `otp-${release}`);
}

/** The environment that runs another release of the matrix: its wrappers first on PATH (see matrixBins). */
export function envForRelease(release: string): NodeJS.ProcessEnv {
  if (release === otpRelease()) return {};
  const bin = matrixBins()[release];
  if (bin === undefined) throw new Error(`OTP ${release} is not in this machine's matrix (building the roots needs root; see scripts/otp.mjs)`);
  return { PATH: bin ? `${bin}:${process.env.PATH}` : hostPath() };
}

/** PATH without any matrix wrappers: the host's own erl. */
function hostPath(): string {
  const wrappers = new Set(Object.values(matrixBins()).filter(Boolean));
  return (process.env.PATH ?? "").split(":").filter((dir) => !wrappers.has(dir)).join(":");
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

/** Compiles the Erlang fixtures for a release (default: the erl on PATH's) with that release's erlc. */
export function compileFixtures(release = otpRelease()): void {
  const dir = fixturesDir(release);
  mkdirSync(dir, { recursive: true });
  const stale = readdirSync(FIXTURES_SOURCE)
    .filter((file) => file.endsWith(".erl"))
    .filter((file) => {
      const beam = join(dir, file.replace(/\.erl$/, ".beam"));
      return !existsSync(beam) || statSync(beam).mtimeMs < statSync(join(FIXTURES_SOURCE, file)).mtimeMs;
    })
    .map((file) => join(FIXTURES_SOURCE, file));
  if (stale.length > 0) {
    execFileSync("erlc", ["-o", dir, ...stale], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...envForRelease(release) } });
  }
}

/** Set by the global setup when elixir is missing: the Elixir tests fail with this message, the rest still run. */
export const ELIXIR_MISSING_ENV = "ERLDIST_TEST_ELIXIR_MISSING";
/** Prefix of the variables holding Elixir's `code:lib_dir(elixir)` per release, once found (workers inherit them). */
const ELIXIR_LIB_ENV = "ERLDIST_TEST_ELIXIR_LIB_";

export class ElixirMissingError extends Error {
  override readonly name = "ElixirMissingError";
}

/**
 * Elixir's own lib directory (`code:lib_dir(elixir)`, e.g. /usr/lib/elixir/lib/elixir) as the release's `elixir`
 * reports it: for a matrix release that is a path inside its root, which is where its erl looks too.
 */
export function elixirLibDir(release = otpRelease()): string {
  const known = process.env[ELIXIR_LIB_ENV + release];
  if (known) return known;
  const missing = release === otpRelease() ? process.env[ELIXIR_MISSING_ENV] : undefined;
  if (missing) throw new ElixirMissingError(missing);
  let found: string;
  try {
    found = execFileSync("elixir", ["-e", "IO.write(:code.lib_dir(:elixir))"], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, ...envForRelease(release) },
    }).trim();
  } catch {
    found = "";
  }
  if (!found.startsWith("/")) {
    throw new ElixirMissingError(
      `elixir was not found or does not run for OTP ${release}: the Elixir tests need it. Install it ` +
        "(Debian/Ubuntu: `apt-get install -y elixir`; the ERLDIST_OTP roots include it).",
    );
  }
  process.env[ELIXIR_LIB_ENV + release] = found;
  return found;
}

/**
 * Compiles test/fixtures/elixir/*.ex with elixirc into the release's fixture directory when any changed since the
 * last compile (or the set of files did). All are compiled together, since one may use another's struct or macros
 * at compile time. Throws ElixirMissingError (with the install command) when there is no elixir.
 */
export function compileElixirFixtures(release = otpRelease()): void {
  if (!existsSync(ELIXIR_FIXTURES_SOURCE)) return;
  const sources = readdirSync(ELIXIR_FIXTURES_SOURCE).filter((file) => file.endsWith(".ex")).sort();
  if (sources.length === 0) return;
  const dir = fixturesDir(release);
  mkdirSync(dir, { recursive: true });
  // A stamp rather than per-file beams: a .ex file's modules are not named after the file.
  const stamp = join(dir, ".elixir-fixtures");
  const listed = sources.join("\n");
  const fresh =
    existsSync(stamp) &&
    readFileSync(stamp, "utf8") === listed &&
    sources.every((file) => statSync(join(ELIXIR_FIXTURES_SOURCE, file)).mtimeMs <= statSync(stamp).mtimeMs);
  if (fresh) return;
  elixirLibDir(release); // the clear error when elixir is missing, before elixirc fails less clearly
  execFileSync("elixirc", ["-o", dir, ...sources.map((file) => join(ELIXIR_FIXTURES_SOURCE, file))], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 120_000,
    env: { ...process.env, ...envForRelease(release) },
  });
  writeFileSync(stamp, listed);
}
