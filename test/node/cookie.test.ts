// Where the cookie comes from, as erl finds it: ERLANG_COOKIE, then .erlang.cookie in the home directory. Every
// test uses a temporary home directory; the real ~/.erlang.cookie is never read or written.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cookieFile, defaultCookie, findCookie, readCookie } from "../../src/node/cookie.js";
import { NodeError } from "../../src/node/errors.js";

let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "erldist-cookie-"));
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

describe("the cookie", () => {
  it("comes from ERLANG_COOKIE first, even with a cookie file", () => {
    writeFileSync(cookieFile(home), "from-file\n");
    expect(readCookie({ env: { ERLANG_COOKIE: "from-env" }, home })).toBe("from-env");
    expect(findCookie({ env: { ERLANG_COOKIE: "from-env" }, home })).toBe("from-env");
  });

  it("comes from .erlang.cookie in the home directory, trimmed, when ERLANG_COOKIE is unset or empty", () => {
    writeFileSync(cookieFile(home), "  from-file\n");
    expect(cookieFile(home)).toBe(join(home, ".erlang.cookie"));
    expect(readCookie({ env: {}, home })).toBe("from-file");
    expect(readCookie({ env: { ERLANG_COOKIE: "" }, home })).toBe("from-file");
  });

  it("is missing when neither has one: undefined from findCookie, NodeError no_cookie naming the file from readCookie", () => {
    expect(findCookie({ env: {}, home })).toBeUndefined();
    writeFileSync(cookieFile(home), " \n"); // an empty file is no cookie
    expect(findCookie({ env: {}, home })).toBeUndefined();
    let thrown: unknown;
    try {
      readCookie({ env: {}, home });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(NodeError);
    expect((thrown as NodeError).code).toBe("no_cookie");
    expect((thrown as NodeError).message).toBe(
      `no cookie: pass the cookie option, set ERLANG_COOKIE, or put the cluster's cookie in ${join(home, ".erlang.cookie")}`,
    );
  });

  it("defaultCookie(env) reads ERLANG_COOKIE from the environment it is given", () => {
    expect(defaultCookie({ ERLANG_COOKIE: "given" })).toBe("given");
  });
});
