// What a failed TLS handshake means, in OTP's words: Node's and OpenSSL's errors (an alert received, bytes that are
// not TLS, a peer that closed or reset, a timeout) turned into a TlsError with a stable reason and a message that
// says which side refused what and why. Incoming (this node is the TLS server) and outgoing (the client) differ:
// the same event means another thing on each side.
import type { Socket } from "node:net";
import { DistError, TlsError, type TlsFailureReason } from "./errors.js";

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

function codeOf(err: Error | undefined): string {
  return (err as { code?: string } | undefined)?.code ?? "";
}

// ---- incoming: this node is the TLS server -----------------------------------------------------------------------

/**
 * Why the TLS handshake of a connection accepted from `from` failed: `err` is the TLS socket's error, undefined
 * when it closed without one. `raw` is the TCP socket, whose byte count tells a silent probe from a TLS client.
 */
export function incomingFailure(err: Error | undefined, from: string, raw: Socket): TlsError {
  const code = codeOf(err);
  if (raw.bytesRead === 0) {
    // Connected and went away without a word (a TCP probe, a port scan, a peer that gave up).
    return new TlsError("tls_failed", `a connection from ${from} closed before its TLS handshake began`, "closed", { cause: err });
  }
  if (NOT_TLS.has(code)) {
    return new TlsError(
      "peer_not_tls",
      `refused a connection from ${from}: it speaks plain TCP distribution, and this node TLS distribution`,
      "not_tls",
      { cause: err },
    );
  }
  if (err === undefined || code === "ECONNRESET" || code === "EPIPE") {
    // Its hello came, then it closed: a TLS client that checks certificates after the handshake's messages (Node's
    // does, so erldist's does) closes without an alert when it refuses this node's.
    return new TlsError(
      "cert_rejected",
      `the node connecting from ${from} closed the connection during the TLS handshake: it most likely refused this ` +
        "node's certificate (its log says why)",
      "closed",
      { cause: err },
    );
  }
  const alert = receivedAlert(err);
  if (alert !== undefined && alert in CERTIFICATE_ALERTS) {
    const message = `the node connecting from ${from} rejected this node's certificate (TLS alert ${alert})`;
    return new TlsError("cert_rejected", message, CERTIFICATE_ALERTS[alert], { cause: err });
  }
  if (alert === "handshake_failure") {
    // What an OTP client sends when the server's certificate does not name the host of the node name it dialled.
    return new TlsError(
      "cert_rejected",
      `the node connecting from ${from} ended the TLS handshake with handshake_failure: an OTP node does so when this ` +
        "node's certificate does not name the host part of this node's name (OTP 25 matches it against dNSName SANs " +
        "only, also for an IP address: the certificate needs e.g. DNS:10.1.2.3), or when no TLS version or cipher is common",
      "handshake_failure",
      { cause: err },
    );
  }
  const why = alert !== undefined ? `the alert ${alert}` : code || err.message.split(":")[0];
  return new TlsError("tls_failed", `the TLS handshake with ${from} failed: ${why}`, alert ?? (code || "other"), { cause: err });
}

/** The TLS handshake of a connection accepted from `from` did not complete within the connect timeout. */
export function incomingTimeout(from: string): TlsError {
  return new TlsError("tls_failed", `the TLS handshake from ${from} did not complete in time`, "timeout");
}

// ---- outgoing: this node is the TLS client -----------------------------------------------------------------------

/**
 * Why the TLS handshake with `peer` failed: `err` is the TLS socket's error, undefined when it closed without one.
 * `raw` is the TCP socket (nothing read: the peer never answered the hello); `hasCert`: this node sent a certificate.
 */
export function outgoingFailure(err: Error | undefined, peer: string, raw: Socket, hasCert: boolean): TlsError {
  const code = codeOf(err);
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
  if (alert !== undefined) return alertFailure(alert, peer, hasCert, err);
  if (err === undefined) return new TlsError("tls_failed", `${peer} closed the connection during the TLS handshake`, "closed");
  return new TlsError("tls_failed", `the TLS handshake with ${peer} failed: ${code || err.message}`, code || "other", { cause: err });
}

/**
 * The TLS handshake with `peer` did not complete in `limit` ms: a peer that answered nothing at all most likely
 * waits for the plain distribution handshake (a plain TCP node answers a TLS hello with silence).
 */
export function outgoingTimeout(peer: string, raw: Socket, limit: number): TlsError {
  if (raw.bytesRead === 0) {
    return new TlsError(
      "peer_not_tls",
      `${peer} answered nothing to the TLS hello in ${limit} ms: it most likely runs plain TCP distribution ` +
        "(erl without -proto_dist inet_tls), and this node TLS distribution",
      "not_tls",
    );
  }
  return new TlsError("tls_failed", `the TLS handshake with ${peer} did not complete in ${limit} ms`, "timeout");
}

/** A TLS alert `peer` sent this node as the client; `hasCert`: this node sent a certificate. */
export function alertFailure(alert: string, peer: string, hasCert: boolean, cause: unknown): TlsError {
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

// ---- after the TLS handshake -------------------------------------------------------------------------------------

/**
 * Turns an error of the distribution handshake that ran inside TLS into what it means: a TLS alert there (TLS 1.3
 * clients learn only then that the server refused their certificate), or the peer closing before sending
 * anything through TLS (a peer that refuses a certificate after the TLS handshake, as erldist does). `hasCert`:
 * this node presented a certificate (always so as the server).
 */
export function explainFailure(err: unknown, stream: Socket, peer: string, hasCert: boolean): unknown {
  if (!(err instanceof DistError) || err instanceof TlsError) return err;
  const alert = receivedAlert(err.cause);
  if (alert !== undefined) return alertFailure(alert, peer, hasCert, err);
  if (err.code === "closed" && stream.bytesRead === 0) {
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
