// Naming and secrets as BEAM does them: a long name on this host's address (MY_POD_IP on Kubernetes), and the
// cookie from a file, ERLANG_COOKIE, ERLDIST_COOKIE_FILE (the container image's default: a mounted Secret) or
// ~/.erlang.cookie. The cookie is never printed.
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { randomBytes } from "node:crypto";
import type { TlsOptions } from "../dist/index.js";
import { findCookie } from "../node/cookie.js";
import { UsageError, stringValue, type Options, type Parsed } from "./usage.js";

export const IDENTITY_OPTIONS: Options = {
  name: { type: "string" },
  "cookie-file": { type: "string" },
  cookie: { type: "string" },
  "epmd-port": { type: "string" },
  visible: { type: "boolean" },
  "tls-optfile": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  "tls-verify": { type: "string" },
  "tls-fail-if-no-peer-cert": { type: "string" },
  "tls-server-name": { type: "string" },
  "tls-check-client-address": { type: "boolean" },
  "tls-versions": { type: "string" },
};

export const IDENTITY_HELP = `Node options:
  --name <alive@host>    this node's name (default erldist-<random>@<MY_POD_IP or this host's address>)
  --cookie-file <path>   read the cookie from this file (default: ERLANG_COOKIE, then ERLDIST_COOKIE_FILE, then
                         ~/.erlang.cookie)
  --cookie <cookie>      the cookie itself (discouraged: other users can read command lines)
  --epmd-port <port>     epmd's port on every host (default ERL_EPMD_PORT, then 4369)
  --visible              connect as a visible node (default hidden: see the README before using this)
  --tls-...              TLS distribution, as erl -proto_dist inet_tls: 'erldist --help' lists the flags`;

/** The --tls-* flags, listed once: in `erldist --help` (every command that starts a node takes them). */
export const TLS_HELP = `TLS distribution, for every command that starts a node (join, nodes, ping, rpc, eval, repl); as erl
-proto_dist inet_tls, any of these turns it on, for every connection both ways:
  --tls-optfile <path>   an OTP -ssl_dist_optfile ([{server, [...]}, {client, [...]}].): the file erl uses
  --tls-cert <path>      this node's certificate (PEM, with its chain); re-read when it changes
  --tls-key <path>       its private key (PEM; default: the certificate file); re-read when it changes
  --tls-ca <path>        CA certificates trusted for peers (PEM); re-read when it changes
  --tls-verify <verify_peer|verify_none>  check the peer's certificate (default verify_peer)
  --tls-fail-if-no-peer-cert <true|false>  refuse incoming peers without a certificate (default true)
  --tls-server-name <name|disable>  the name a server's certificate must carry (default: the host of its node name)
  --tls-check-client-address  an incoming peer's certificate must carry the address it connects from
  --tls-versions <tlsv1.2,tlsv1.3>  TLS versions offered (default both; OTP 25 offers tlsv1.2)`;

export const IDENTITY_ENVIRONMENT = `  MY_POD_IP              the host part of the default node name (set it from the downward API on Kubernetes)
  ERLANG_COOKIE          the cookie, when no --cookie-file is given
  ERLDIST_COOKIE_FILE    a file to read the cookie from when neither --cookie-file nor ERLANG_COOKIE gives it (the
                         container image sets /var/run/secrets/erldist/cookie: mount the cluster's Secret there)
  ERL_EPMD_PORT          epmd's port (default 4369), as erl reads it`;

/** The TLS options the --tls-* flags give (flags override what the option file says), or undefined for plain TCP. */
export function tlsOptions(parsed: Parsed): TlsOptions | undefined {
  if (!Object.keys(parsed.values).some((key) => key.startsWith("tls-") && parsed.values[key] !== undefined)) return undefined;
  const tls: TlsOptions = {};
  const set = <K extends keyof TlsOptions>(key: K, value: TlsOptions[K] | undefined): void => {
    if (value !== undefined) tls[key] = value;
  };
  set("optFile", stringValue(parsed, "tls-optfile"));
  set("certFile", stringValue(parsed, "tls-cert"));
  set("keyFile", stringValue(parsed, "tls-key"));
  set("caFile", stringValue(parsed, "tls-ca"));
  const verify = stringValue(parsed, "tls-verify");
  if (verify !== undefined && verify !== "verify_peer" && verify !== "verify_none") throw new UsageError(`--tls-verify takes verify_peer or verify_none, not '${verify}'`);
  set("verify", verify as TlsOptions["verify"]);
  const failIfNoPeerCert = stringValue(parsed, "tls-fail-if-no-peer-cert");
  if (failIfNoPeerCert !== undefined && failIfNoPeerCert !== "true" && failIfNoPeerCert !== "false") {
    throw new UsageError(`--tls-fail-if-no-peer-cert takes true or false, not '${failIfNoPeerCert}'`);
  }
  set("failIfNoPeerCert", failIfNoPeerCert === undefined ? undefined : failIfNoPeerCert === "true");
  const serverName = stringValue(parsed, "tls-server-name");
  set("serverName", serverName === undefined ? undefined : serverName === "disable" ? false : serverName);
  if (parsed.values["tls-check-client-address"]) tls.checkClientAddress = true;
  const versions = stringValue(parsed, "tls-versions");
  if (versions !== undefined) {
    const names = { "tlsv1.2": "TLSv1.2", "tlsv1.3": "TLSv1.3" } as const;
    tls.versions = versions.split(",").map((v) => {
      const name = names[v.trim().toLowerCase() as keyof typeof names];
      if (!name) throw new UsageError(`--tls-versions takes tlsv1.2 and/or tlsv1.3, not '${v}'`);
      return name;
    });
  }
  return tls;
}

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

/** The cookie, from --cookie-file, --cookie (with a warning), ERLANG_COOKIE, ERLDIST_COOKIE_FILE or ~/.erlang.cookie. */
export function cookie(parsed: Parsed, warn: (text: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const file = stringValue(parsed, "cookie-file");
  if (file !== undefined) return cookieFromFile(file, "");
  const given = stringValue(parsed, "cookie");
  if (given !== undefined) {
    warn("warning: a cookie on the command line can be read by other users of this machine; prefer --cookie-file or ERLANG_COOKIE");
    return given;
  }
  if (env.ERLANG_COOKIE) return env.ERLANG_COOKIE;
  if (env.ERLDIST_COOKIE_FILE) {
    return cookieFromFile(env.ERLDIST_COOKIE_FILE, " (ERLDIST_COOKIE_FILE; in a container, mount the cluster's cookie Secret there, or set ERLANG_COOKIE)");
  }
  const found = findCookie({ env });
  if (found !== undefined) return found;
  throw new UsageError("no cookie: pass --cookie-file <path>, set ERLANG_COOKIE, or create ~/.erlang.cookie (as erl would)");
}

function cookieFromFile(file: string, hint: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new UsageError(`cannot read the cookie file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${hint}`);
  }
  if (text === "") throw new UsageError(`the cookie file ${file} is empty${hint}`);
  return text;
}
