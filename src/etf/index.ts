// erldist/etf: the External Term Format codec, usable on its own.

export { decode, decodeTerm, type DecodeOptions } from "./decode.js";
export { encode, encodeBody, encodeFrame, encodeFrameSegments, MAX_ENCODE_DEPTH, type EncodeOptions } from "./encode.js";
export { equals } from "./equals.js";
export { DecodeError, EncodeError, type DecodeErrorReason } from "./errors.js";
export { NativeRecord, nativeRecord } from "./native-record.js";
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
