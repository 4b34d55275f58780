// The text of single terms as OTP writes them in `io_lib:format("~tp", [T])`: atoms (io_lib's quoting), strings,
// binaries, floats (float_to_list(F, [short])), and the atoms that erts itself prints inside funs (fun_to_list/1,
// which has quoting rules of its own and writes UTF-8 bytes, so ~tp shows them as Latin-1 characters).
import { Buffer } from "node:buffer";

/** Which code points ~tp takes for printable text: io:printable_range(), set by `erl +pc` (default latin1). */
export type PrintableRange = "latin1" | "unicode";

/** Keywords io_lib:write_atom quotes; OTP 27 added `maybe` and `else` (the maybe_expr feature, on by default). */
const RESERVED = new Set([
  "after", "begin", "case", "try", "cond", "catch", "andalso", "orelse", "end", "fun", "if", "let", "of",
  "receive", "when", "bnot", "not", "div", "rem", "band", "and", "bor", "bxor", "bsl", "bsr", "or", "xor",
]);
const RESERVED_SINCE_27 = new Set(["maybe", "else"]);

function isLatin1Lower(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0xdf && c <= 0xff && c !== 0xf7);
}

function isLatin1Upper(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return out;
}

/** io_lib's escape of one character inside quotes `q` (string_char/4 with unicode_as_unicode). */
function escapeChar(c: number, q: number): string {
  if (c === q) return "\\" + String.fromCharCode(q);
  if (c === 0x5c) return "\\\\";
  if ((c >= 0x20 && c <= 0x7e) || c >= 0xa0) return String.fromCodePoint(c);
  switch (c) {
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
    case 0x0b: return "\\v";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x1b: return "\\e";
    case 0x7f: return "\\d";
    default: return "\\" + c.toString(8).padStart(3, "0"); // other controls below 160, as three octal digits
  }
}

function quoted(chars: readonly number[], q: number): string {
  let out = String.fromCharCode(q);
  for (const c of chars) out += escapeChar(c, q);
  return out + String.fromCharCode(q);
}

/** An atom as io_lib:write_atom/1 writes it on this OTP release. */
export function atomText(name: string, otp: number): string {
  const chars = codePoints(name);
  const reserved = RESERVED.has(name) || (otp >= 27 && RESERVED_SINCE_27.has(name));
  let bare = !reserved && chars.length > 0 && isLatin1Lower(chars[0]);
  for (let i = 1; bare && i < chars.length; i++) {
    const c = chars[i];
    bare = isLatin1Lower(c) || isLatin1Upper(c) || isDigit(c) || c === 0x5f || c === 0x40;
  }
  return bare ? name : quoted(chars, 0x27);
}

/** A printable list written as a string (io_lib:write_string/2), from its code points. */
export function stringText(chars: readonly number[]): string {
  return quoted(chars, 0x22);
}

const PRINTABLE_CONTROLS = new Set([0x0a, 0x0d, 0x09, 0x0b, 0x08, 0x0c, 0x1b]);

/** Whether ~tp writes this character as text (io_lib:printable_list/1's rule for one element). */
export function isPrintableChar(c: number, range: PrintableRange): boolean {
  if ((c >= 0x20 && c <= 0x7e) || PRINTABLE_CONTROLS.has(c)) return true;
  if (range === "latin1") return c >= 0xa0 && c <= 0xff;
  return (c >= 0xa0 && c < 0xd800) || (c > 0xdfff && c < 0xfffe) || (c > 0xffff && c <= 0x10ffff);
}

/**
 * Reads one UTF-8 character at `at` as Erlang's `<<C/utf8, _/binary>>` matches it (no overlong forms, no
 * surrogates, nothing above U+10FFFF): [code point, byte length], or undefined where the bytes are not UTF-8.
 */
function utf8At(bytes: Uint8Array, at: number): [number, number] | undefined {
  const b0 = bytes[at];
  if (b0 < 0x80) return [b0, 1];
  const need = b0 >= 0xf0 ? 3 : b0 >= 0xe0 ? 2 : b0 >= 0xc0 ? 1 : -1;
  if (need < 0 || b0 > 0xf4 || at + need >= bytes.length) return undefined;
  let c = b0 & (0x3f >> need);
  for (let i = 1; i <= need; i++) {
    const b = bytes[at + i];
    if ((b & 0xc0) !== 0x80) return undefined;
    c = (c << 6) | (b & 0x3f);
  }
  const least = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
  if (c < least || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return undefined;
  return [c, need + 1];
}

/** How ~tp writes a whole-byte binary: as a plain string `<<"abc">>`, a `<<"José"/utf8>>` string, or its bytes. */
export type BinaryShape = { kind: "latin1" | "utf8"; chars: number[] } | { kind: "bytes" };

/**
 * Decides a binary's shape as io_lib_pretty does: UTF-8 text when every character is printable (plain when they are
 * all ASCII), else bytes; and where the bytes are not UTF-8, Latin-1 text when every byte is printable. Before
 * OTP 28 a byte that is not UTF-8 anywhere sends the binary to the Latin-1 test; from OTP 28 only one before the
 * first unprintable character does (so `<<"中"/utf8, 255>>` is Latin-1 text on OTP 27 and bytes on 29).
 */
export function binaryShape(bytes: Uint8Array, otp: number, range: PrintableRange): BinaryShape {
  const chars: number[] = [];
  let ascii = true;
  let at = 0;
  let stopped = false; // met a valid character that is not printable
  while (at < bytes.length) {
    const next = utf8At(bytes, at);
    if (next === undefined) return latin1Shape(bytes);
    const [c, size] = next;
    if (!stopped && isPrintableChar(c, range)) {
      chars.push(c);
      if (c >= 0x80) ascii = false;
    } else {
      if (otp >= 28) return { kind: "bytes" };
      stopped = true; // older releases still require the rest to be UTF-8 before giving up on text
    }
    at += size;
  }
  if (stopped) return { kind: "bytes" };
  return { kind: ascii ? "latin1" : "utf8", chars };
}

/** The fallback for bytes that are not UTF-8: text when every byte is a printable Latin-1 character. */
function latin1Shape(bytes: Uint8Array): BinaryShape {
  const chars: number[] = [];
  for (const b of bytes) {
    if (!isPrintableChar(b, "latin1")) return { kind: "bytes" };
    chars.push(b);
  }
  return { kind: "latin1", chars };
}

/** A float as io_lib_format:fwrite_g/1 writes it: the shortest digits that read back, fixed or with an exponent. */
export function floatText(value: number): string {
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const magnitude = Math.abs(value);
  // toExponential() without a digit count gives the shortest digits that round-trip, as float_to_list(F, [short]).
  const [mantissa, exponentText] = magnitude.toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText); // value = d.ddd × 10^exponent
  const scientific = `${digits[0]}.${digits.length > 1 ? digits.slice(1) : "0"}e${exponent}`;
  const lastPlace = exponent - (digits.length - 1); // value = digits × 10^lastPlace
  if (lastPlace >= 0) {
    // Integral: fixed notation when it is not longer, but never from 2^53 on, where not every integer is a float.
    const fixed = `${digits}${"0".repeat(lastPlace)}.0`;
    return sign + (magnitude < 2 ** 53 && fixed.length <= scientific.length ? fixed : scientific);
  }
  if (exponent >= 0) return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  const fixed = `0.${"0".repeat(-exponent - 1)}${digits}`;
  return sign + (fixed.length <= scientific.length ? fixed : scientific);
}

/**
 * An atom as erts writes it inside `fun M:F/A` (erlang:fun_to_list/1): quoted unless it starts with a Latin-1
 * lowercase letter and goes on with Latin-1 letters, digits and `_` (so `a@b` is quoted here, unlike io_lib), and
 * written as its UTF-8 bytes, each byte one character, which is how ~tp shows that list.
 */
export function ertsAtomText(name: string): string {
  const chars = codePoints(name);
  let bare = chars.length > 0 && isLatin1Lower(chars[0]);
  for (let i = 1; bare && i < chars.length; i++) {
    const c = chars[i];
    bare = isLatin1Lower(c) || isLatin1Upper(c) || isDigit(c) || c === 0x5f;
  }
  let text = "";
  for (const c of chars) {
    switch (c) {
      case 0x27: text += "\\'"; break;
      case 0x5c: text += "\\\\"; break;
      case 0x0a: text += "\\n"; break;
      case 0x0c: text += "\\f"; break;
      case 0x09: text += "\\t"; break;
      case 0x0d: text += "\\r"; break;
      case 0x08: text += "\\b"; break;
      case 0x0b: text += "\\v"; break;
      default:
        if (c < 0x20 || (c >= 0x80 && c < 0xa0)) text += "\\" + c.toString(8).padStart(3, "0");
        else text += String.fromCodePoint(c);
    }
  }
  if (chars.length === 0) text = "''";
  else if (!bare) text = `'${text}'`;
  return bytesAsLatin1(text);
}

/** The module of a local fun as erts writes it in `#Fun<M.I.U>`: its UTF-8 bytes, unquoted and unescaped. */
export function ertsRawAtomText(name: string): string {
  return bytesAsLatin1(name);
}

function bytesAsLatin1(text: string): string {
  // ASCII is its own UTF-8; only other text needs the byte-per-character form.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return Buffer.from(text, "utf8").toString("latin1");
}

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

/**
 * The width io_lib_pretty gives a text (io_lib:chars_length): its number of characters when they are all Latin-1
 * (iolist_size), else its number of grapheme clusters (string:length), so that `é` written as e plus a combining
 * accent takes one column.
 */
export function charCount(text: string): number {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(text)) return text.length;
  let n = 0;
  for (const _ of graphemes.segment(text)) n++;
  return n;
}
