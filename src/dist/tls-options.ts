// The options of TLS distribution, as OTP's -ssl_dist_optfile holds them for its server and client sides, and the
// reading of such an option file, so that one file serves BEAM and erldist.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { ErlangTextError, parseErlangTerm, type TextTerm } from "./erlang-text.js";
import { TlsError } from "./errors.js";

export type TlsVersion = "TLSv1.2" | "TLSv1.3";

/** What one side (server: incoming connections; client: outgoing ones) uses. Every field is optional. */
export interface TlsSideOptions {
  /** PEM file with this node's certificate, then its chain (OTP's certfile). Re-read when it changes. */
  certFile?: string;
  /** PEM file with the private key (OTP's keyfile); default the certificate file, as OTP. Re-read when it changes. */
  keyFile?: string;
  /** PEM file with the CA certificates trusted for the peer's certificate (OTP's cacertfile). Re-read when it changes. */
  caFile?: string;
  /** The certificate (and chain) as PEM, instead of certFile. */
  cert?: string | Buffer;
  /** The private key as PEM, instead of keyFile. */
  key?: string | Buffer;
  /** Trusted CA certificates as PEM, instead of caFile. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Passphrase of an encrypted private key (OTP's password). */
  password?: string;
  /** Check the peer's certificate (default "verify_peer"; OTP 25's ssl defaults to verify_none, see the README). */
  verify?: "verify_peer" | "verify_none";
  /** Server: refuse a client that presents no certificate (default true; OTP's default is false). */
  failIfNoPeerCert?: boolean;
  /**
   * Client: the name the server's certificate must carry (OTP's server_name_indication). Default: the host part of
   * the peer's node name, as OTP. For an IP address, an iPAddress SAN of that address or a dNSName SAN spelling it
   * matches (OTP 25 accepts only the latter). false (OTP's `disable`): no name check, the CA check only.
   */
  serverName?: string | false;
  /**
   * Server: the client's certificate must carry the IP address the client connects from as an iPAddress SAN, as
   * OTP's `{verify_fun, {inet_tls_dist, verify_client, []}}` (default false).
   */
  checkClientAddress?: boolean;
  /** TLS versions offered (OTP's versions); default TLSv1.2 and TLSv1.3. OTP 25 offers only TLSv1.2 for distribution. */
  versions?: TlsVersion[];
  /** OpenSSL cipher list (OTP's ciphers, as OpenSSL names). Default: Node's. */
  ciphers?: string;
  /** Most intermediate CA certificates allowed between the peer's certificate and a trusted one (OTP's depth). */
  depth?: number;
}

/**
 * TLS distribution (`Node.start({ tls })`): every connection, both ways, is TLS, as BEAM's `-proto_dist inet_tls`.
 * Fields at the top apply to both sides; `server` and `client` override them for one side; both override what
 * `optFile` says.
 */
export interface TlsOptions extends TlsSideOptions {
  /** An OTP ssl_dist_optfile (`[{server, [...]}, {client, [...]}].`): the same file erl gets as -ssl_dist_optfile. */
  optFile?: string;
  /** For incoming connections (this node is the TLS server). */
  server?: TlsSideOptions;
  /** For outgoing connections (this node is the TLS client). */
  client?: TlsSideOptions;
  /**
   * Milliseconds the TLS handshake of an outgoing connection may take (default three quarters of the attempt's
   * timeout, so that a peer answering nothing, as a plain TCP node does, is reported as such before the attempt
   * times out).
   */
  handshakeTimeout?: number;
}

/** One side's options with every default applied and file names made absolute. */
export type ResolvedSide = Omit<TlsSideOptions, "verify" | "failIfNoPeerCert" | "serverName" | "checkClientAddress" | "versions"> & {
  role: "server" | "client";
  verify: "verify_peer" | "verify_none";
  failIfNoPeerCert: boolean;
  serverName: string | false | undefined;
  checkClientAddress: boolean;
  versions: TlsVersion[];
};

const SIDE_KEYS: Array<keyof TlsSideOptions> = [
  "certFile",
  "keyFile",
  "caFile",
  "cert",
  "key",
  "ca",
  "password",
  "verify",
  "failIfNoPeerCert",
  "serverName",
  "checkClientAddress",
  "versions",
  "ciphers",
  "depth",
];

function configError(message: string, cause?: unknown): TlsError {
  return new TlsError("tls_config", message, "config", { cause });
}

/** The side-specific fields of `options` that are set (undefined ones do not override). */
function defined(options: TlsSideOptions | undefined): TlsSideOptions {
  const out: Record<string, unknown> = {};
  for (const key of SIDE_KEYS) if (options?.[key] !== undefined) out[key] = options[key];
  return out as TlsSideOptions;
}

/** A file and its inline form are one setting: a layer that gives either replaces both. */
const PAIRS: Array<[keyof TlsSideOptions, keyof TlsSideOptions]> = [
  ["certFile", "cert"],
  ["keyFile", "key"],
  ["caFile", "ca"],
];

function overlay(base: TlsSideOptions, top: TlsSideOptions): TlsSideOptions {
  const out: TlsSideOptions = { ...base, ...top };
  for (const [file, inline] of PAIRS) {
    if (top[file] !== undefined && top[inline] === undefined) delete out[inline];
    if (top[inline] !== undefined && top[file] === undefined) delete out[file];
  }
  return out;
}

/** Applies the precedence (optfile, then shared fields, then the side's own) and the defaults; checks the result. */
export function resolveTlsOptions(options: TlsOptions): { server: ResolvedSide; client: ResolvedSide } {
  const file = options.optFile ? readOptFile(options.optFile) : { server: {}, client: {} };
  const shared = defined(options);
  const side = (role: "server" | "client"): ResolvedSide => {
    const merged = [file[role], shared, defined(options[role])].reduce(overlay, {});
    const absolute = (path: string | undefined) => (path === undefined ? undefined : resolvePath(path));
    const resolved: ResolvedSide = {
      role,
      certFile: absolute(merged.certFile),
      keyFile: absolute(merged.keyFile ?? (merged.key === undefined ? merged.certFile : undefined)),
      caFile: absolute(merged.caFile),
      cert: merged.cert,
      key: merged.key,
      ca: merged.ca,
      password: merged.password,
      verify: merged.verify ?? "verify_peer",
      failIfNoPeerCert: merged.failIfNoPeerCert ?? true,
      serverName: merged.serverName,
      checkClientAddress: merged.checkClientAddress ?? false,
      versions: merged.versions ?? ["TLSv1.2", "TLSv1.3"],
      ciphers: merged.ciphers,
      depth: merged.depth,
    };
    check(resolved);
    return resolved;
  };
  return { server: side("server"), client: side("client") };
}

function check(side: ResolvedSide): void {
  const what = `TLS ${side.role} options`;
  if (side.verify !== "verify_peer" && side.verify !== "verify_none") {
    throw configError(`${what}: verify must be verify_peer or verify_none, not ${String(side.verify)}`);
  }
  const hasCert = side.certFile !== undefined || side.cert !== undefined;
  const hasKey = side.keyFile !== undefined || side.key !== undefined;
  if (side.role === "server" && !hasCert) {
    throw configError(`${what}: a certificate is needed to accept TLS connections (certFile or cert)`);
  }
  if (hasCert !== hasKey) throw configError(`${what}: a certificate needs its private key and a key its certificate`);
  if (side.verify === "verify_peer" && side.caFile === undefined && side.ca === undefined) {
    // As OTP: verify_peer without CA certificates is an error (not a silent fall-back to the system's public CAs).
    throw configError(`${what}: verify_peer needs the CA certificates to verify with (caFile or ca)`);
  }
  if (side.versions.length === 0 || side.versions.some((v) => v !== "TLSv1.2" && v !== "TLSv1.3")) {
    throw configError(`${what}: versions must be among TLSv1.2 and TLSv1.3, not ${JSON.stringify(side.versions)}`);
  }
  if (side.depth !== undefined && (!Number.isInteger(side.depth) || side.depth < 0)) {
    throw configError(`${what}: depth must be a whole number of 0 or more`);
  }
}

// ---- OTP's -ssl_dist_optfile ----------------------------------------------------------------------------------

/** Options that change nothing erldist does (OpenSSL's behaviour already matches, or they tune BEAM internals). */
const IGNORED = new Set([
  "secure_renegotiate",
  "reuse_sessions",
  "reuse_session",
  "hibernate_after",
  "log_level",
  "log_alert",
  "honor_cipher_order",
  "client_renegotiation",
  "padding_check",
  "beast_mitigation",
  "max_handshake_size",
  "keep_secrets",
  "erl_dist",
  "ktls",
]);

const isAtom = (term: TextTerm, name?: string): term is { atom: string } =>
  typeof term === "object" && term !== null && "atom" in term && (name === undefined || term.atom === name);

const isTuple = (term: TextTerm): term is { tuple: TextTerm[] } => typeof term === "object" && term !== null && "tuple" in term;

function text(term: TextTerm, key: string, file: string): string {
  if (typeof term === "string") return term;
  if (Buffer.isBuffer(term)) return term.toString("utf8");
  throw configError(`${file}: ${key} must be a string`);
}

function side(list: TextTerm, role: "server" | "client", file: string): TlsSideOptions {
  if (!Array.isArray(list)) throw configError(`${file}: the ${role} options must be a list of {Key, Value} tuples`);
  const out: TlsSideOptions = {};
  for (const item of list) {
    if (!isTuple(item) || item.tuple.length !== 2 || !isAtom(item.tuple[0])) {
      throw configError(`${file}: every ${role} option must be a {Key, Value} tuple`);
    }
    const key = item.tuple[0].atom;
    const value = item.tuple[1];
    switch (key) {
      case "certfile":
        out.certFile = text(value, key, file);
        break;
      case "keyfile":
        out.keyFile = text(value, key, file);
        break;
      case "cacertfile":
        out.caFile = text(value, key, file);
        break;
      case "password":
        out.password = text(value, key, file);
        break;
      case "verify":
        if (!isAtom(value, "verify_peer") && !isAtom(value, "verify_none")) throw configError(`${file}: verify must be verify_peer or verify_none`);
        out.verify = value.atom as "verify_peer" | "verify_none";
        break;
      case "fail_if_no_peer_cert":
        if (typeof value !== "boolean") throw configError(`${file}: fail_if_no_peer_cert must be true or false`);
        if (role === "server") out.failIfNoPeerCert = value;
        break;
      case "server_name_indication":
        if (role === "client") out.serverName = isAtom(value, "disable") ? false : text(value, key, file);
        break;
      case "verify_fun":
        // The one verify_fun a file can name and erldist knows: OTP's check of the client's address.
        if (isTuple(value) && value.tuple.length === 3 && isAtom(value.tuple[0], "inet_tls_dist") && isAtom(value.tuple[1], "verify_client")) {
          if (role === "server") out.checkClientAddress = true;
          break;
        }
        throw configError(`${file}: verify_fun is supported only as {inet_tls_dist, verify_client, []}`);
      case "versions": {
        if (!Array.isArray(value)) throw configError(`${file}: versions must be a list such as ['tlsv1.2', 'tlsv1.3']`);
        out.versions = value.map((v) => {
          const name = isAtom(v) ? v.atom : typeof v === "string" ? v : "";
          if (name === "tlsv1.2") return "TLSv1.2";
          if (name === "tlsv1.3") return "TLSv1.3";
          throw configError(`${file}: TLS version ${name || "?"} is not supported (only tlsv1.2 and tlsv1.3)`);
        });
        break;
      }
      case "ciphers": {
        // OpenSSL names: "A:B", or a list of such strings.
        if (typeof value === "string") out.ciphers = value;
        else if (Array.isArray(value) && value.every((v) => typeof v === "string")) out.ciphers = (value as string[]).join(":");
        else throw configError(`${file}: ciphers are supported only as OpenSSL names (a string or a list of strings)`);
        break;
      }
      case "depth":
        if (typeof value !== "number" || !Number.isInteger(value)) throw configError(`${file}: depth must be an integer`);
        out.depth = value;
        break;
      case "crl_check":
        if (value === false) break;
        throw configError(`${file}: crl_check is not supported by erldist`);
      default:
        if (IGNORED.has(key)) break;
        throw configError(`${file}: the ${role} option ${key} is not supported by erldist`);
    }
  }
  return out;
}

/** Parses the text of an OTP -ssl_dist_optfile. `file` names it in errors. */
export function parseOptFile(source: string, file = "the option file"): { server: TlsSideOptions; client: TlsSideOptions } {
  let term: TextTerm;
  try {
    term = parseErlangTerm(source);
  } catch (err) {
    if (err instanceof ErlangTextError) throw configError(`${file}: ${err.message}`, err);
    throw err;
  }
  if (!Array.isArray(term)) throw configError(`${file}: expected a list [{server, [...]}, {client, [...]}]`);
  const out = { server: {} as TlsSideOptions, client: {} as TlsSideOptions };
  for (const item of term) {
    if (!isTuple(item) || item.tuple.length !== 2 || !(isAtom(item.tuple[0], "server") || isAtom(item.tuple[0], "client"))) {
      throw configError(`${file}: expected {server, [...]} and {client, [...]} entries`);
    }
    const role = (item.tuple[0] as { atom: "server" | "client" }).atom;
    out[role] = side(item.tuple[1], role, file);
  }
  return out;
}

/** Reads an OTP -ssl_dist_optfile. Relative file names in it are taken from the working directory, as erl does. */
export function readOptFile(path: string): { server: TlsSideOptions; client: TlsSideOptions } {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (err) {
    throw configError(`cannot read the TLS option file ${path}: ${(err as Error).message}`, err);
  }
  return parseOptFile(source, path);
}
