// Typed errors of the node layer.

import { CodedError } from "../coded-error.js";

export type NodeErrorCode =
  | "no_cookie" // no cookie given and none in ERLANG_COOKIE or ~/.erlang.cookie
  | "bad_name" // not an alive@host node name
  | "bad_argument" // not a destination (pid, alias, name or [name, node]), or a name that is not a string or Atom
  | "listen_failed" // the distribution port could not be opened
  | "not_registered" // epmd on the peer's host knows no node of that name
  | "unreachable" // the peer's distribution port does not answer
  | "timeout" // no answer in time
  | "disconnected" // the connection was closed by this node
  | "aborted" // the caller's AbortSignal fired
  | "exited" // the process has exited
  | "name_taken" // a name registered already
  | "unsupported" // the peer's release cannot carry this signal (e.g. a priority message to a node before OTP 28)
  | "stopped"; // the node is stopped

export class NodeError extends CodedError<NodeErrorCode> {
  override readonly name = "NodeError";
}

/** How a call (gen_server:call semantics) or an rpc failed; `reason` is the Erlang term BEAM gave, if any. */
export type CallErrorCode =
  | "timeout" // no reply in time
  | "noproc" // no such process (or registered name) on that node
  | "noconnection" // the node is down or went down during the call
  | "exit" // the server exited during the call; `reason` is its exit reason
  | "badrpc" // rpc:call's {badrpc, Reason}
  | "exception" // erpc: the remote function raised; see `errorClass`, `reason` and `stacktrace`
  | "notsup"; // erpc: the remote node cannot run the request (spawn_reply error); `reason` says why

export class CallError extends CodedError<CallErrorCode> {
  override readonly name = "CallError";
  constructor(
    code: CallErrorCode,
    message: string,
    /** The Erlang reason (exit reason, badrpc reason), when there is one. */
    readonly reason?: unknown,
    options?: { cause?: unknown; errorClass?: "throw" | "exit" | "error"; stacktrace?: unknown },
  ) {
    super(code, message, options);
    this.errorClass = options?.errorClass;
    this.stacktrace = options?.stacktrace;
  }
  /** For `exception`: the class the remote function raised (throw, exit or error). */
  readonly errorClass: "throw" | "exit" | "error" | undefined;
  /** For `exception` of class error: the remote stack trace, as erpc gives it. */
  readonly stacktrace: unknown;
}
