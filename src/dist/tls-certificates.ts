// The certificate checks of TLS distribution, as pure functions: the names and addresses a certificate carries,
// its chain's length, OpenSSL's verdict in OTP's words, and `checkPeer`, the checks OTP makes with a side's options.
// Node's own checks are off on both sides (rejectUnauthorized false), so that each refusal says why, in words.
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from "node:tls";
import { canonicalIp } from "./addresses.js";
import { TlsError, type DistErrorCode, type TlsFailureReason } from "./errors.js";
import type { ResolvedSide } from "./tls-options.js";

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
export function certNames(cert: PeerCertificate, host: string): boolean {
  const ip = canonicalIp(host);
  if (ip === undefined) return checkServerIdentity(host, cert) === undefined;
  return altNames(cert).some(([type, value]) => (type === "IP Address" && canonicalIp(value) === ip) || (type === "DNS" && value === host));
}

/** Whether `cert` carries `address` as an iPAddress SAN (OTP's verify_client check). */
export function certHasAddress(cert: PeerCertificate, address: string): boolean {
  const ip = canonicalIp(address);
  return ip !== undefined && altNames(cert).some(([type, value]) => type === "IP Address" && canonicalIp(value) === ip);
}

/** How many certificates follow the peer's own in its chain, up to (not counting) a self-signed root. */
export function intermediates(cert: DetailedPeerCertificate): number {
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
export function describeCert(cert: PeerCertificate): string {
  const cn = cert.subject?.CN;
  const parts = [cn ? `CN=${Array.isArray(cn) ? cn.join(",") : cn}` : "no CN"];
  if (cert.subjectaltname) parts.push(cert.subjectaltname);
  if (cert.issuer?.CN) parts.push(`issued by ${String(cert.issuer.CN)}`);
  if (cert.valid_to) parts.push(`valid until ${cert.valid_to}`);
  return parts.join("; ");
}

/** OpenSSL's verification result (Node's authorizationError) as OTP's reason and in words. */
export function chainReason(code: string): { reason: TlsFailureReason; words: string } {
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

/** Who the peer is, for the checks and their messages. */
export interface PeerIdentity {
  /** Outgoing: the peer's node name. */
  peer?: string;
  /** Incoming: where the connection comes from (`ip:port`). */
  from?: string;
  /** Outgoing: the name the server's certificate must carry (undefined: no name check). */
  expected?: string;
  /** Incoming: the client's IP address, for `checkClientAddress`. */
  address?: string;
}

/** What the checks read of a TLS socket once its handshake is done: the peer's chain and OpenSSL's verdict on it. */
export type HandshakenSocket = Pick<TLSSocket, "getPeerCertificate" | "authorized" | "authorizationError">;

/**
 * The certificate checks OTP makes with these options; a TlsError if the peer fails one. `socket.authorized` and
 * `socket.authorizationError` must hold OpenSSL's verdict (a client socket has it; tls-transport.ts sets it on a
 * server socket, as tls.Server does).
 */
export function checkPeer(socket: HandshakenSocket, side: ResolvedSide, who: PeerIdentity): TlsError | undefined {
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
