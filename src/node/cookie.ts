// The cookie, found as erl finds it: the ERLANG_COOKIE environment variable, then ~/.erlang.cookie. The node and
// the command read it here, so both agree on where the cookie comes from.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { NodeError } from "./errors.js";

/** Where to look for the cookie (defaults: this process's environment and home directory). */
export interface CookieSource {
  env?: NodeJS.ProcessEnv;
  /** The directory holding .erlang.cookie. */
  home?: string;
}

/** The cookie file erl reads: .erlang.cookie in the home directory. */
export function cookieFile(home: string = homedir()): string {
  return join(home, ".erlang.cookie");
}

/**
 * The cookie from ERLANG_COOKIE (when not empty), else from the cookie file (trimmed, when not empty), else
 * undefined: for a caller that reports a missing cookie its own way.
 */
export function findCookie(source: CookieSource = {}): string | undefined {
  const env = source.env ?? process.env;
  if (env.ERLANG_COOKIE) return env.ERLANG_COOKIE;
  try {
    const cookie = readFileSync(cookieFile(source.home), "utf8").trim();
    if (cookie !== "") return cookie;
  } catch {
    // no file, or unreadable: no cookie from it
  }
  return undefined;
}

/** The cookie as {@link findCookie} finds it; throws NodeError `no_cookie`, saying where to put one, when there is none. */
export function readCookie(source: CookieSource = {}): string {
  const cookie = findCookie(source);
  if (cookie !== undefined) return cookie;
  throw new NodeError(
    "no_cookie",
    `no cookie: pass the cookie option, set ERLANG_COOKIE, or put the cluster's cookie in ${cookieFile(source.home)}`,
  );
}

/** Reads the cookie as erl does: ERLANG_COOKIE, then ~/.erlang.cookie (NodeError `no_cookie` when neither has one). */
export function defaultCookie(env: NodeJS.ProcessEnv = process.env): string {
  return readCookie({ env });
}
