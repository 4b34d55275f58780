// Typed errors of the node layer.

export type NodeErrorCode =
  | "no_cookie" // no cookie given and none in ERLANG_COOKIE or ~/.erlang.cookie
  | "bad_name" // not an alive@host node name
  | "listen_failed" // the distribution port could not be opened
  | "not_registered" // epmd on the peer's host knows no node of that name
  | "unreachable" // the peer's distribution port does not answer
  | "timeout" // no answer in time
  | "disconnected" // the connection was closed by this node
  | "aborted" // the caller's AbortSignal fired
  | "exited" // the process has exited
  | "name_taken" // a name registered already
  | "stopped"; // the node is stopped

export class NodeError extends Error {
  override readonly name = "NodeError";
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
