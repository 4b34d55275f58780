// Typed errors of the distribution layer.

import { CodedError } from "../common/coded-error.js";

export type DistErrorCode =
  | "cookie_rejected" // one side's digest did not match: the cookies differ
  | "not_allowed" // the peer refuses connections from this node
  | "nok" // simultaneous connect: the peer's own attempt wins, this one stops
  | "alive" // the peer still has a connection to a node of this name
  | "name_mismatch" // the peer is not the node that was asked for
  | "incompatible" // the peer lacks capabilities erldist requires (too old an OTP)
  | "protocol" // bytes that do not follow the protocol
  | "closed" // the connection closed
  | "timeout" // no answer in time (handshake), or silence beyond net_ticktime (tick timeout)
  | "aborted" // the caller's AbortSignal fired
  | "busy" // the connection is busy and maxQueuedBytes of sends wait for it already (the peer is not reading)
  | "unreachable" // nothing answers at the peer's distribution address
  | "unsupported" // the peer's release cannot take this signal (e.g. a priority message to a node before OTP 28)
  // TLS distribution (a TlsError, whose `reason` says more):
  | "peer_cert_rejected" // this node did not accept the peer's certificate (unknown CA, expired, name mismatch, none)
  | "cert_rejected" // the peer did not accept this node's certificate (its TLS alert says why, or it sent none)
  | "peer_not_tls" // this node runs TLS distribution, the peer plain TCP distribution
  | "peer_requires_tls" // this node runs plain TCP distribution, the peer TLS distribution
  | "tls_failed" // any other TLS failure: no common version or cipher, a TLS handshake that timed out
  | "tls_config"; // the TLS options cannot be used: a file missing or unreadable, a key that does not match...

export class DistError extends CodedError<DistErrorCode> {
  override readonly name = "DistError";
}

/**
 * Why a TLS connection was refused, in OTP's words where there are some: `unknown_ca`, `expired`, `not_yet_valid`,
 * `name_mismatch`, `no_certificate`, `address_mismatch`, `chain_too_long`, `bad_certificate`, `revoked`,
 * `handshake_failure`, `protocol_version`, `timeout`, `closed`, or another TLS alert's name.
 */
export type TlsFailureReason =
  | "unknown_ca"
  | "expired"
  | "not_yet_valid"
  | "name_mismatch"
  | "no_certificate"
  | "address_mismatch"
  | "chain_too_long"
  | "bad_certificate"
  | "revoked"
  | "handshake_failure"
  | "protocol_version"
  | "timeout"
  | "closed"
  | (string & {});

/** A DistError of the TLS carrier, with the reason the connection was refused. */
export class TlsError extends DistError {
  constructor(
    code: DistErrorCode,
    message: string,
    /** Why, as a short stable word (see TlsFailureReason). */
    readonly reason: TlsFailureReason,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
