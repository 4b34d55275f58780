// A term encoded once for writing many times: the distribution layer keeps the control tuples of repeated sends
// this way. Not part of the public API: its bytes are trusted to be one whole term.

/** One term's External Term Format bytes (no version byte), which the encoder writes as they are. */
export class EncodedTerm {
  constructor(readonly bytes: Uint8Array) {}
}
