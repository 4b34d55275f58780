// Typed errors of the discovery layer.
import { CodedError } from "../common/coded-error.js";

export type DiscoveryErrorCode =
  | "lookup_failed" // the source could not answer (DNS timeout, SERVFAIL, refused, epmd unreachable...)
  | "bad_options" // the discovery options are incomplete or contradictory
  | "stopped"; // the discovery loop is stopped

export class DiscoveryError extends CodedError<DiscoveryErrorCode> {
  override readonly name = "DiscoveryError";
}
