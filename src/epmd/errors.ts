// Typed errors of the epmd layer, each with a stable code and a message that says what to do.

import { CodedError } from "../common/coded-error.js";

export type EpmdErrorCode =
  | "unreachable" // nothing answers at the epmd address
  | "name_taken" // ALIVE2 refused: a node with this name is registered already
  | "protocol" // the peer's bytes are not an epmd message
  | "timeout" // no (complete) answer in time
  | "aborted"; // the caller's AbortSignal fired

export class EpmdError extends CodedError<EpmdErrorCode> {
  override readonly name = "EpmdError";
}
