// Typed errors of the codec. Both carry a stable `code` so callers can branch without parsing messages.

/** Why bytes could not be decoded. */
export type DecodeErrorReason =
  | "truncated" // the input ended inside a term
  | "bad_version" // the first byte is not 131
  | "bad_tag" // a tag byte that is not a term (or not allowed here)
  | "bad_value" // a field holds a value the format forbids
  | "too_deep" // nesting beyond the decoder's maxDepth
  | "too_large" // a compressed term claims more than maxInflatedSize
  | "bad_compression" // the zlib data is corrupt or does not inflate to the claimed size
  | "atom_cache" // an atom cache reference with no atom cache entry
  | "trailing_bytes"; // bytes left after the term

/** Thrown by `decode` for input that is not a well-formed term; `offset` is where in the input it went wrong. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  readonly code = "ERLDIST_DECODE";
  constructor(
    readonly reason: DecodeErrorReason,
    readonly offset: number,
    /** What was wrong, without the offset. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot decode Erlang term at byte ${offset}: ${detail}`, options);
  }
}

/** Thrown by `encode` for a JS value that has no Erlang term form; `path` says where in the value it was. */
export class EncodeError extends Error {
  override readonly name = "EncodeError";
  readonly code = "ERLDIST_ENCODE";
  constructor(
    readonly path: string,
    /** What was wrong, without the path. */
    readonly detail: string,
  ) {
    super(`cannot encode ${path === "" ? "value" : `value at ${path}`} as an Erlang term: ${detail}`);
  }
}
