// The base of the layers' typed errors: an Error with a stable `code` to branch on, and a `cause` when there is one.
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
