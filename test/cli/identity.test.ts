// Where the command finds the cookie: --cookie-file, --cookie, ERLANG_COOKIE, ERLDIST_COOKIE_FILE (the container
// image's default, a mounted Secret), then ~/.erlang.cookie; fed parsed flags and environments, no node started.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IDENTITY_OPTIONS, cookie } from "../../src/cli/identity.js";
import { parse } from "../../src/cli/usage.js";

const dir = mkdtempSync(join(tmpdir(), "erldist-identity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emptyHome = join(dir, "home");
const secret = join(dir, "secret-cookie");
writeFileSync(secret, "from-the-secret\n");
const flagFile = join(dir, "flag-cookie");
writeFileSync(flagFile, "from-the-flag\n");

const flags = (...argv: string[]) => parse("join", argv, IDENTITY_OPTIONS);
const quiet = (): void => {};

describe("the command's cookie", () => {
  it("ERLDIST_COOKIE_FILE is read when neither --cookie-file nor ERLANG_COOKIE gives one", () => {
    expect(cookie(flags(), quiet, { HOME: emptyHome, ERLDIST_COOKIE_FILE: secret })).toBe("from-the-secret");
  });

  it("--cookie-file, --cookie and ERLANG_COOKIE each take precedence over ERLDIST_COOKIE_FILE", () => {
    const env = { HOME: emptyHome, ERLDIST_COOKIE_FILE: secret };
    expect(cookie(flags("--cookie-file", flagFile), quiet, env)).toBe("from-the-flag");
    expect(cookie(flags("--cookie", "given"), quiet, env)).toBe("given");
    expect(cookie(flags(), quiet, { ...env, ERLANG_COOKIE: "from-env" })).toBe("from-env");
  });

  it("a missing or empty ERLDIST_COOKIE_FILE is an error that names the file and says to mount the Secret", () => {
    expect(() => cookie(flags(), quiet, { HOME: emptyHome, ERLDIST_COOKIE_FILE: join(dir, "absent") })).toThrow(
      /cannot read the cookie file .*absent: ENOENT \(ERLDIST_COOKIE_FILE; in a container, mount the cluster's cookie Secret there/,
    );
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    expect(() => cookie(flags(), quiet, { HOME: emptyHome, ERLDIST_COOKIE_FILE: empty })).toThrow(/the cookie file .*empty is empty/);
  });
});
