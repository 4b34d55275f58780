// Typed errors of the status server.
import { CodedError } from "../common/coded-error.js";

export type StatusErrorCode =
  | "port_in_use" // another program (or another status server) already listens on the port
  | "listen_failed"; // the server could not listen for another reason (no permission for the port, bad host...)

export class StatusError extends CodedError<StatusErrorCode> {
  override readonly name = "StatusError";
}
