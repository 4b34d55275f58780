// Naming and secrets as BEAM does them: a long name on this host's address (MY_POD_IP on Kubernetes), and the
// cookie from a file, ERLANG_COOKIE or ~/.erlang.cookie. The cookie is never printed.
import { readFileSync } from "node:fs";
import { homedir, networkInterfaces } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { UsageError, stringValue, type Options, type Parsed } from "./usage.js";

export const IDENTITY_OPTIONS: Options = {
  name: { type: "string" },
  "cookie-file": { type: "string" },
  cookie: { type: "string" },
  "epmd-port": { type: "string" },
  visible: { type: "boolean" },
};

export const IDENTITY_HELP = `Node options:
  --name <alive@host>    this node's name (default erldist-<random>@<MY_POD_IP or this host's address>)
  --cookie-file <path>   read the cookie from this file (default: ERLANG_COOKIE, then ~/.erlang.cookie)
  --cookie <cookie>      the cookie itself (discouraged: other users can read command lines)
  --epmd-port <port>     epmd's port on every host (default ERL_EPMD_PORT, then 4369)
  --visible              connect as a visible node (default hidden: see the README before using this)`;

export const IDENTITY_ENVIRONMENT = `  MY_POD_IP              the host part of the default node name (set it from the downward API on Kubernetes)
  ERLANG_COOKIE          the cookie, when no --cookie-file is given
  ERL_EPMD_PORT          epmd's port (default 4369), as erl reads it`;

/** This host's address for the default node name: MY_POD_IP, else the first non-internal IPv4 address, else loopback. */
export function hostAddress(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MY_POD_IP) return env.MY_POD_IP;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

export function nodeName(parsed: Parsed): string {
  const name = stringValue(parsed, "name");
  if (name !== undefined) {
    if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw new UsageError(`--name takes a long node name such as app@10.0.0.7, not '${name}'`);
    return name;
  }
  return `erldist-${randomBytes(3).toString("hex")}@${hostAddress()}`;
}

/** The cookie, from --cookie-file, --cookie (with a warning), ERLANG_COOKIE or ~/.erlang.cookie. */
export function cookie(parsed: Parsed, warn: (text: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const file = stringValue(parsed, "cookie-file");
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch (err) {
      throw new UsageError(`cannot read the cookie file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (text === "") throw new UsageError(`the cookie file ${file} is empty`);
    return text;
  }
  const given = stringValue(parsed, "cookie");
  if (given !== undefined) {
    warn("warning: a cookie on the command line can be read by other users of this machine; prefer --cookie-file or ERLANG_COOKIE");
    return given;
  }
  if (env.ERLANG_COOKIE) return env.ERLANG_COOKIE;
  try {
    const text = readFileSync(join(homedir(), ".erlang.cookie"), "utf8").trim();
    if (text !== "") return text;
  } catch {
    // no file: fall through to the error
  }
  throw new UsageError("no cookie: pass --cookie-file <path>, set ERLANG_COOKIE, or create ~/.erlang.cookie (as erl would)");
}
