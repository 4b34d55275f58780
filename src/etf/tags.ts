// Tag bytes of the External Term Format (erl_ext_dist). Names follow OTP's, without the _EXT suffix.

export const VERSION = 131;

export const RECORD = 67; // OTP 29 native records
export const NEW_FLOAT = 70;
export const BIT_BINARY = 77;
export const COMPRESSED = 80;
export const ATOM_CACHE_REF = 82;
export const NEW_PID = 88;
export const NEW_PORT = 89;
export const NEWER_REFERENCE = 90;
export const SMALL_INTEGER = 97;
export const INTEGER = 98;
export const FLOAT = 99;
export const ATOM = 100;
export const REFERENCE = 101;
export const PORT = 102;
export const PID = 103;
export const SMALL_TUPLE = 104;
export const LARGE_TUPLE = 105;
export const NIL = 106;
export const STRING = 107;
export const LIST = 108;
export const BINARY = 109;
export const SMALL_BIG = 110;
export const LARGE_BIG = 111;
export const NEW_FUN = 112;
export const EXPORT = 113;
export const NEW_REFERENCE = 114;
export const SMALL_ATOM = 115;
export const MAP = 116;
export const FUN = 117;
export const ATOM_UTF8 = 118;
export const SMALL_ATOM_UTF8 = 119;
export const V4_PORT = 120;
export const LOCAL = 121;
