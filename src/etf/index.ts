// erldist/etf: the External Term Format codec, usable on its own: term types, encode, decode, equality, matching
// and formatting. The bottom layer with ../common: it imports from nothing else in erldist.

export { decode, decodeTerm, type DecodeOptions, type TermOptions } from "./decode.js";
export {
  encode,
  encodeBody,
  encodeFrame,
  encodeFrameInto,
  encodeFrameSegments,
  MAX_ENCODE_DEPTH,
  type EncodeOptions,
  type FrameSegments,
} from "./encode.js";
export { equals } from "./equals.js";
export { FORMAT_OTP_DEFAULT, format, type FormatOptions } from "./format.js";
export type { PrintableRange } from "./format-text.js";
export { isKeyword, isStruct, keyword, keywordToObject, mapToObject, struct, structModule, type Struct } from "./elixir.js";
export { DecodeError, EncodeError, type DecodeErrorReason } from "./errors.js";
export { NativeRecord, nativeRecord } from "./native-record.js";
export { isTaggedTuple, taggedTuple } from "./match.js";
export {
  ATOM_INTERN_LIMIT,
  Atom,
  BitBinary,
  ExportFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  charlist,
  charlistToString,
  float,
  improperList,
  isAtom,
  tuple,
  type Encodable,
  type Term,
} from "./types.js";
