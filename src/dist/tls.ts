// The TLS carrier of distribution, as OTP's inet_tls_dist: on every connection, both ways, TLS is established first
// on the TCP connection, then the ordinary version 6 handshake runs inside the TLS stream (with 4-byte lengths, see
// handshake.ts), and the framing afterwards is unchanged. epmd is not involved. Certificates are checked as OTP's
// options say (verify_peer, fail_if_no_peer_cert, the server's name as the host part of the node name...), and the
// certificate, key and CA files are re-read when they change, so that new connections use rotated certificates.
import { EventEmitter } from "node:events";
import { readFileSync, statSync, type Stats } from "node:fs";
import { isIP, type Socket } from "node:net";
import {
  Server as TlsServer,
  checkServerIdentity,
  connect as tlsConnect,
  createSecureContext,
  type DetailedPeerCertificate,
  type PeerCertificate,
  type SecureContext,
  type SecureContextOptions,
  type TLSSocket,
} from "node:tls";
import { DistError, TlsError, type DistErrorCode, type TlsFailureReason } from "./errors.js";
import { resolveTlsOptions, type ResolvedSide, type TlsOptions } from "./tls-options.js";

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The certificate, key and CA of one side, from inline PEM or from files that are re-read when they change. */
class Material {
  private signature: string;
  private failedSignature = "";
  private loaded: SecureContextOptions;
  private context: SecureContext;
  private readonly files: string[];

  constructor(private readonly side: ResolvedSide) {
    this.files = [...new Set([side.certFile, side.keyFile, side.caFile].filter((f): f is string => f !== undefined))];
    this.signature = this.signatureOf(this.files.map((file) => statOrUndefined(file)));
    this.loaded = this.load(); // at start, a file that cannot be read is an error the caller sees
    this.context = this.createContext(this.loaded);
  }

  /** The options for a secure context (cert, key, ca and the side's TLS settings) as last loaded. */
  get options(): SecureContextOptions {
    return this.loaded;
  }

  /** The secure context of the material last loaded. */
  get secureContext(): SecureContext {
    return this.context;
  }

  /**
   * Re-reads the files if any has changed since they were read (modification time, size or inode: a Kubernetes
   * secret volume swaps a symbolic link). Returns true when new material is in use. If the new files do not load
   * (half-written, a key that does not match its certificate), the previous material stays in use, and they are
   * read again when they change again. Synchronous (a few stat calls per new connection): an accepted socket is
   * handed to TLS in the same turn of the event loop, before it can read anything itself.
   */
  refresh(): boolean {
    if (this.files.length === 0) return false;
    const stats = this.files.map((file) => statOrUndefined(file));
    if (stats.includes(undefined)) return false; // a file missing for a moment (being replaced): keep what we have
    const signature = this.signatureOf(stats);
    if (signature === this.signature || signature === this.failedSignature) return false;
    try {
      const loaded = this.load();
      const context = this.createContext(loaded); // throws if the key does not match the certificate
      this.loaded = loaded;
      this.context = context;
      this.signature = signature;
      return true;
    } catch {
      this.failedSignature = signature;
      return false;
    }
  }

  private signatureOf(stats: Array<Stats | undefined>): string {
    return stats.map((s, i) => `${this.files[i]}:${s?.mtimeMs}:${s?.size}:${s?.ino}`).join("|");
  }

  private read(file: string, what: string): Buffer {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsError("tls_config", `cannot read the ${what} file ${file}: ${(err as Error).message}`, "config", { cause: err });
    }
  }

  private load(): SecureContextOptions {
    const side = this.side;
    const versions = [...side.versions].sort();
    return {
      cert: side.cert ?? (side.certFile !== undefined ? this.read(side.certFile, "certificate") : undefined),
      key: side.key ?? (side.keyFile !== undefined ? this.read(side.keyFile, "key") : undefined),
      ca: side.ca ?? (side.caFile !== undefined ? this.read(side.caFile, "CA certificate") : undefined),
      passphrase: side.password,
      minVersion: versions[0],
      maxVersion: versions[versions.length - 1],
      ciphers: side.ciphers,
    };
  }

  private createContext(options: SecureContextOptions): SecureContext {
    try {
      return createSecureContext(options);
    } catch (err) {
      throw new TlsError("tls_config", `the TLS ${this.side.role} certificate, key or CA cannot be used: ${(err as Error).message}`, "config", {
        cause: err,
      });
    }
  }
}

// ---- certificates: names, chains and reasons -------------------------------------------------------------------

/** An IP address in one spelling: IPv4 dotted, IPv6 compressed lower case, IPv4-mapped IPv6 as IPv4. */
function canonicalIp(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return undefined;
  const compressed = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(compressed) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  if (mapped.length === 2) return mapped[1];
  const high = parseInt(mapped[1], 16);
  const low = parseInt(mapped[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/** The subjectAltName entries of a certificate, as [type, value] ("DNS", "IP Address", ...). */
function altNames(cert: PeerCertificate): Array<[string, string]> {
  const list = cert.subjectaltname;
  if (!list) return [];
  return list.split(/,\s*/).map((entry) => {
    const colon = entry.indexOf(":");
    return [entry.slice(0, colon), entry.slice(colon + 1).replace(/^"|"$/g, "")] as [string, string];
  });
}

/** Whether `cert` names `host`: a DNS name as RFC 6125 (Node's check); an IP address as an IP SAN or a DNS SAN. */
function certNames(cert: PeerCertificate, host: string): boolean {
  const ip = canonicalIp(host);
  if (ip === undefined) return checkServerIdentity(host, cert) === undefined;
  return altNames(cert).some(([type, value]) => (type === "IP Address" && canonicalIp(value) === ip) || (type === "DNS" && value === host));
}

/** Whether `cert` carries `address` as an iPAddress SAN (OTP's verify_client check). */
function certHasAddress(cert: PeerCertificate, address: string): boolean {
  const ip = canonicalIp(address);
  return ip !== undefined && altNames(cert).some(([type, value]) => type === "IP Address" && canonicalIp(value) === ip);
}

/** How many certificates follow the peer's own in its chain, up to (not counting) a self-signed root. */
function intermediates(cert: DetailedPeerCertificate): number {
  const seen = new Set([cert.fingerprint256]);
  let count = 0;
  let at = cert.issuerCertificate;
  while (at && !seen.has(at.fingerprint256)) {
    seen.add(at.fingerprint256);
    if (at.issuerCertificate?.fingerprint256 === at.fingerprint256) break; // the self-signed root
    count++;
    at = at.issuerCertificate;
  }
  return count;
}

/** A short description of a certificate for messages: its subject's CN, its SANs and when it expires. */
function describeCert(cert: PeerCertificate): string {
  const cn = cert.subject?.CN;
  const parts = [cn ? `CN=${Array.isArray(cn) ? cn.join(",") : cn}` : "no CN"];
  if (cert.subjectaltname) parts.push(cert.subjectaltname);
  if (cert.issuer?.CN) parts.push(`issued by ${String(cert.issuer.CN)}`);
  if (cert.valid_to) parts.push(`valid until ${cert.valid_to}`);
  return parts.join("; ");
}

/** OpenSSL's verification result (Node's authorizationError) as OTP's reason and in words. */
function chainReason(code: string): { reason: TlsFailureReason; words: string } {
  switch (code) {
    case "CERT_HAS_EXPIRED":
      return { reason: "expired", words: "it has expired" };
    case "CERT_NOT_YET_VALID":
      return { reason: "not_yet_valid", words: "it is not valid yet" };
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "CERT_SIGNATURE_FAILURE":
    case "CERT_UNTRUSTED":
      return { reason: "unknown_ca", words: "it is not issued by a CA this node trusts" };
    case "CERT_REVOKED":
      return { reason: "revoked", words: "it is revoked" };
    case "CERT_CHAIN_TOO_LONG":
      return { reason: "chain_too_long", words: "its chain is too long" };
    default:
      return { reason: "bad_certificate", words: `it does not verify (${code})` };
  }
}

/** Alerts a peer sends about our certificate, by OpenSSL's alert name, as OTP's reason. */
const CERTIFICATE_ALERTS: Record<string, TlsFailureReason> = {
  bad_certificate: "bad_certificate",
  unknown_ca: "unknown_ca",
  certificate_expired: "expired",
  certificate_revoked: "revoked",
  unsupported_certificate: "unsupported_certificate",
  certificate_unknown: "certificate_unknown",
  certificate_required: "no_certificate",
  access_denied: "access_denied",
};

/** The TLS alert a Node error reports having received, in OTP's spelling (bad_certificate...), if it is one. */
function receivedAlert(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return undefined;
  const match = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code);
  return match?.[1].toLowerCase();
}

/** Node's errors for bytes that are not TLS records at all. */
const NOT_TLS = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_HTTP_REQUEST",
  "ERR_SSL_UNKNOWN_PROTOCOL",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
  "ERR_SSL_RECORD_LENGTH_MISMATCH",
]);

function remoteOf(socket: Socket): string {
  const address = socket.remoteAddress;
  if (address === undefined) return "an unknown address";
  const ip = canonicalIp(address) ?? address;
  return `${ip.includes(":") ? `[${ip}]` : ip}:${socket.remotePort}`;
}

// ---- the carrier -----------------------------------------------------------------------------------------------

interface CarrierEvents {
  /** An incoming connection passed TLS and the certificate checks: the distribution handshake comes next. */
  secure: [socket: TLSSocket, remote: string];
  /** An incoming connection was refused at the TLS stage (closed): why, and from where. */
  refused: [error: DistError, remote: string];
}

export interface TlsConnectTarget {
  /** The peer's node name, for messages. */
  peer: string;
  /** The host part of the peer's node name: what the server's certificate must name by default. */
  host: string;
}

/** TLS for a node's connections, both ways. Made once per node from its TlsOptions (see `TlsCarrier.create`). */
export class TlsCarrier extends EventEmitter<CarrierEvents> {
  private readonly server: ResolvedSide;
  private readonly client: ResolvedSide;
  private readonly serverMaterial: Material;
  private readonly clientMaterial: Material;
  private readonly tlsServer: TlsServer;
  private readonly handshakeTimeout: number | undefined;

  private constructor(options: TlsOptions, connectTimeout: number) {
    super();
    const sides = resolveTlsOptions(options);
    this.server = sides.server;
    this.client = sides.client;
    this.serverMaterial = new Material(this.server);
    this.clientMaterial = new Material(this.client);
    this.handshakeTimeout = options.handshakeTimeout;
    // Incoming connections go through a TLS server that listens nowhere: the node's own listener hands it sockets.
    // Certificates are checked here (rejectUnauthorized false), so that every refusal says why.
    this.tlsServer = new TlsServer({
      ...this.serverMaterial.options,
      requestCert: this.server.verify === "verify_peer",
      rejectUnauthorized: false,
      handshakeTimeout: connectTimeout,
    });
    this.tlsServer.on("secureConnection", (socket: TLSSocket) => this.accepted(socket));
    this.tlsServer.on("tlsClientError", (err: Error, socket: TLSSocket) => {
      const { remote, raw } = this.settle(socket);
      this.emit("refused", this.incomingFailure(err, remote, raw), remote);
    });
  }

  /**
   * Accepted TCP connections in their TLS handshake, with where they come from. The TLS server reports on its own
   * TLS socket, which no longer knows its address once the connection is gone (a reset): that one is then the
   * only connection here that is gone.
   */
  private readonly handshaking = new Map<Socket, string>();

  /** Where `socket` comes from (and its TCP socket, when known); it is no longer handshaking. */
  private settle(socket: TLSSocket): { remote: string; raw: Socket | undefined } {
    let found: Socket | undefined;
    if (socket.remoteAddress !== undefined) {
      for (const raw of this.handshaking.keys()) {
        if (raw.remoteAddress === socket.remoteAddress && raw.remotePort === socket.remotePort) found = raw;
      }
    } else {
      const gone = [...this.handshaking.keys()].filter((raw) => raw.destroyed);
      if (gone.length === 1) found = gone[0];
    }
    const remote = found ? this.handshaking.get(found)! : socket.remoteAddress !== undefined ? remoteOf(socket) : "an unknown address";
    if (found) this.handshaking.delete(found);
    return { remote, raw: found };
  }

  /**
   * Reads the options (the option file, certificates, key, CA) now: a missing file or a key that does not match
   * its certificate is a TlsError `tls_config` here, not at the first connection.
   */
  static create(options: TlsOptions, { connectTimeout = 7000 }: { connectTimeout?: number } = {}): TlsCarrier {
    return new TlsCarrier(options, connectTimeout);
  }

  // ---- incoming ----

  /** Runs TLS on an accepted TCP connection; the outcome is a `secure` or a `refused` event. */
  accept(socket: Socket): void {
    const remote = remoteOf(socket); // also keeps the address for messages after the socket is gone
    this.handshaking.set(socket, remote);
    socket.once("close", () => setImmediate(() => this.handshaking.delete(socket)));
    if (this.serverMaterial.refresh()) this.tlsServer.setSecureContext(this.serverMaterial.options); // loaded once already: valid
    this.tlsServer.emit("connection", socket);
  }

  private accepted(socket: TLSSocket): void {
    const { remote } = this.settle(socket);
    const refusal = this.checkPeer(socket, this.server, { from: remote, address: socket.remoteAddress });
    if (refusal) {
      socket.destroy();
      this.emit("refused", refusal, remote);
      return;
    }
    this.emit("secure", socket, remote);
  }

  private incomingFailure(err: Error, remote: string, raw: Socket | undefined): DistError {
    const code = (err as { code?: string }).code ?? "";
    if (raw?.bytesRead === 0 && code !== "ERR_TLS_HANDSHAKE_TIMEOUT") {
      // Connected and went away without a word (a TCP probe, a port scan, a peer that gave up).
      return new TlsError("tls_failed", `a connection from ${remote} closed before its TLS handshake began`, "closed", { cause: err });
    }
    if (NOT_TLS.has(code)) {
      return new TlsError(
        "peer_not_tls",
        `refused a connection from ${remote}: it speaks plain TCP distribution, and this node TLS distribution`,
        "not_tls",
        { cause: err },
      );
    }
    if (code === "ECONNRESET" || code === "EPIPE") {
      // Its hello came, then it closed: a TLS client that checks certificates after the handshake's messages (Node's
      // does, so erldist's does) closes without an alert when it refuses this node's.
      return new TlsError(
        "cert_rejected",
        `the node connecting from ${remote} closed the connection during the TLS handshake: it most likely refused this ` +
          "node's certificate (its log says why)",
        "closed",
        { cause: err },
      );
    }
    if (code === "ERR_TLS_HANDSHAKE_TIMEOUT") {
      return new TlsError("tls_failed", `the TLS handshake from ${remote} did not complete in time`, "timeout", { cause: err });
    }
    if (code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") {
      return new TlsError("peer_cert_rejected", `refused a connection from ${remote}: it presented no certificate`, "no_certificate", { cause: err });
    }
    const alert = receivedAlert(err);
    if (alert !== undefined && alert in CERTIFICATE_ALERTS) {
      return new TlsError(
        "cert_rejected",
        `the node connecting from ${remote} rejected this node's certificate (TLS alert ${alert})`,
        CERTIFICATE_ALERTS[alert],
        { cause: err },
      );
    }
    if (alert === "handshake_failure") {
      // What an OTP client sends when the server's certificate does not name the host of the node name it dialled.
      return new TlsError(
        "cert_rejected",
        `the node connecting from ${remote} ended the TLS handshake with handshake_failure: an OTP node does so when this ` +
          "node's certificate does not name the host part of this node's name (OTP 25 matches it against dNSName SANs " +
          "only, also for an IP address: the certificate needs e.g. DNS:10.1.2.3), or when no TLS version or cipher is common",
        "handshake_failure",
        { cause: err },
      );
    }
    const why = alert !== undefined ? `the alert ${alert}` : code || err.message.split(":")[0];
    return new TlsError("tls_failed", `the TLS handshake with ${remote} failed: ${why}`, alert ?? (code || "other"), { cause: err });
  }

  // ---- outgoing ----

  /**
   * Runs TLS as the client on a connected TCP socket and checks the server's certificate. Resolves with the TLS
   * socket for the distribution handshake; rejects with a TlsError that says why (the socket destroyed), or a
   * DistError `aborted` when `signal` fires.
   */
  async connect(raw: Socket, target: TlsConnectTarget, options: { signal?: AbortSignal; timeout: number }): Promise<TLSSocket> {
    const side = this.client;
    this.clientMaterial.refresh(); // rotated files: the new certificate from this connection on
    const expected = side.serverName === false ? undefined : (side.serverName ?? target.host);
    const limit = this.handshakeTimeout ?? Math.max(1, Math.floor(options.timeout * 0.75));
    const socket = tlsConnect({
      socket: raw,
      secureContext: this.clientMaterial.secureContext,
      // SNI carries host names only (RFC 6066): not an IP address.
      servername: expected !== undefined && isIP(expected) === 0 ? expected : undefined,
      rejectUnauthorized: false, // checked below, so that a refusal says why
      checkServerIdentity: () => undefined,
    });
    const hasCert = side.cert !== undefined || side.certFile !== undefined;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        socket.off("secureConnect", onSecure);
        socket.off("error", onError);
        socket.off("close", onClose);
        if (error) {
          socket.destroy();
          raw.destroy();
          reject(error);
        } else {
          resolve();
        }
      };
      const onSecure = (): void => finish();
      const onError = (err: Error): void => finish(this.outgoingFailure(err, target.peer, raw, hasCert));
      const onClose = (): void => finish(this.outgoingFailure(undefined, target.peer, raw, hasCert));
      const onAbort = (): void => finish(new DistError("aborted", `connecting to ${target.peer} was aborted`, { cause: options.signal?.reason }));
      const timer = setTimeout(() => {
        finish(
          raw.bytesRead === 0
            ? new TlsError(
                "peer_not_tls",
                `${target.peer} answered nothing to the TLS hello in ${limit} ms: it most likely runs plain TCP distribution ` +
                  "(erl without -proto_dist inet_tls), and this node TLS distribution",
                "not_tls",
              )
            : new TlsError("tls_failed", `the TLS handshake with ${target.peer} did not complete in ${limit} ms`, "timeout"),
        );
      }, limit);
      socket.once("secureConnect", onSecure);
      socket.once("error", onError);
      socket.once("close", onClose);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
    });
    const refusal = this.checkPeer(socket, side, { peer: target.peer, expected });
    if (refusal) {
      socket.destroy();
      throw refusal;
    }
    return socket;
  }

  private outgoingFailure(err: Error | undefined, peer: string, raw: Socket, hasCert: boolean): DistError {
    const code = (err as { code?: string } | undefined)?.code ?? "";
    if (raw.bytesRead === 0 && (err === undefined || code === "ECONNRESET" || code === "EPIPE")) {
      return new TlsError(
        "peer_not_tls",
        `${peer} closed the connection without answering the TLS hello: it most likely runs plain TCP distribution ` +
          "(erl without -proto_dist inet_tls), and this node TLS distribution",
        "not_tls",
        { cause: err },
      );
    }
    if (NOT_TLS.has(code)) {
      return new TlsError("peer_not_tls", `${peer} answered the TLS hello with something that is not TLS: it is not a TLS distribution node`, "not_tls", {
        cause: err,
      });
    }
    const alert = receivedAlert(err);
    if (alert !== undefined) return this.alertFailure(alert, peer, hasCert, err);
    if (err === undefined) return new TlsError("tls_failed", `${peer} closed the connection during the TLS handshake`, "closed");
    return new TlsError("tls_failed", `the TLS handshake with ${peer} failed: ${code || err.message}`, code || "other", { cause: err });
  }

  private alertFailure(alert: string, peer: string, hasCert: boolean, cause: unknown): TlsError {
    if (alert === "handshake_failure" && !hasCert) {
      // What OTP answers (TLS 1.2) a client without a certificate when it has fail_if_no_peer_cert.
      return new TlsError("cert_rejected", `${peer} requires a client certificate, and this node has none for outgoing connections`, "no_certificate", {
        cause,
      });
    }
    const reason = CERTIFICATE_ALERTS[alert];
    if (reason === "no_certificate") {
      return new TlsError("cert_rejected", `${peer} requires a client certificate, and this node sent none`, reason, { cause });
    }
    if (reason !== undefined) {
      const why = reason === "expired" ? "it has expired" : reason === "unknown_ca" ? "it does not trust the CA that issued it" : `TLS alert ${alert}`;
      return new TlsError("cert_rejected", `${peer} rejected this node's certificate: ${why}`, reason, { cause });
    }
    return new TlsError("tls_failed", `${peer} ended the TLS handshake with the alert ${alert}`, alert, { cause });
  }

  /**
   * Turns an error of the distribution handshake that ran inside TLS into what it means: a TLS alert there (TLS 1.3
   * clients learn only then that the server refused their certificate), or the peer closing before sending
   * anything through TLS (a peer that refuses a certificate after the TLS handshake, as erldist does). `outgoing`:
   * this node dialled.
   */
  explain(err: unknown, socket: Socket, peer: string, outgoing: boolean): unknown {
    if (!(err instanceof DistError) || err instanceof TlsError) return err;
    const alert = receivedAlert(err.cause);
    if (alert !== undefined) return this.alertFailure(alert, peer, outgoing ? this.hasCert(this.client) : true, err);
    if (err.code === "closed" && socket.bytesRead === 0) {
      // Nothing at all came through TLS: the peer closed as soon as it could check our certificate.
      return new TlsError(
        "cert_rejected",
        `${peer} closed the connection right after the TLS handshake, before the distribution handshake: ` +
          "it most likely refused this node's certificate (its log says why)",
        "closed",
        { cause: err },
      );
    }
    return err;
  }

  private hasCert(side: ResolvedSide): boolean {
    return side.cert !== undefined || side.certFile !== undefined;
  }

  /** The certificate checks OTP makes with these options; a TlsError if the peer fails one. */
  private checkPeer(socket: TLSSocket, side: ResolvedSide, who: { peer?: string; from?: string; expected?: string; address?: string }): TlsError | undefined {
    if (side.verify === "verify_none") return undefined;
    const code: DistErrorCode = "peer_cert_rejected";
    const name = who.peer ?? `the node connecting from ${who.from}`;
    const cert = socket.getPeerCertificate(true);
    if (!cert || Object.keys(cert).length === 0) {
      if (side.role === "server" && !side.failIfNoPeerCert) return undefined;
      return new TlsError(code, `refused ${name}: it presented no certificate`, "no_certificate");
    }
    if (!socket.authorized) {
      const { reason, words } = chainReason(String(socket.authorizationError ?? "UNKNOWN"));
      return new TlsError(code, `refused the certificate of ${name}: ${words} (${describeCert(cert)})`, reason, {
        cause: socket.authorizationError,
      });
    }
    if (side.depth !== undefined && intermediates(cert) > side.depth) {
      return new TlsError(code, `refused the certificate of ${name}: its chain has more than ${side.depth} intermediate CAs`, "chain_too_long");
    }
    if (who.expected !== undefined && !certNames(cert, who.expected)) {
      return new TlsError(
        code,
        `refused the certificate of ${name}: it is not for ${who.expected} (${describeCert(cert)}); the server's certificate must ` +
          "name the host part of its node name (or set serverName)",
        "name_mismatch",
      );
    }
    if (side.role === "server" && side.checkClientAddress && who.address !== undefined && !certHasAddress(cert, who.address)) {
      return new TlsError(
        code,
        `refused the certificate of ${name}: it does not carry the address ${canonicalIp(who.address) ?? who.address} (${describeCert(cert)})`,
        "address_mismatch",
      );
    }
    return undefined;
  }
}
