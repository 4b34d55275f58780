// Text from Erlang I/O data: chardata (nested lists of code points and UTF-8 binaries, what io_lib:format("~tp")
// and io:put_chars with the unicode encoding give) and latin-1 iolists (lists of bytes and binaries of bytes).
import { Buffer } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import type { Term } from "../etf/index.js";

/** How the I/O data encodes characters: `unicode` chardata, or `latin1` bytes (the io protocol's two encodings). */
export type IoEncoding = "unicode" | "latin1";

/**
 * Flattens I/O data into a string. Integers are code points (a latin-1 byte is the code point of the same number).
 * Binaries are UTF-8 with `unicode` (the default), where a character may be split across two binaries (as
 * unicode:characters_to_list joins them), and latin-1 bytes with `latin1`. A string (a binary that a decode setting
 * turned into text) is kept as is.
 */
export function iolistToString(data: Term, encoding: IoEncoding = "unicode"): string {
  let text = "";
  // One decoder across consecutive binaries, so that a UTF-8 sequence split between them decodes whole.
  let utf8: StringDecoder | undefined;
  const flush = (): void => {
    if (utf8) text += utf8.end();
    utf8 = undefined;
  };
  const walk = (part: unknown, depth: number): void => {
    if (depth > 10_000) throw new TypeError("not chardata: nested too deeply");
    if (Buffer.isBuffer(part) || part instanceof Uint8Array) {
      if (encoding === "latin1") return void (text += Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString("latin1"));
      utf8 ??= new StringDecoder("utf8");
      text += utf8.write(Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      return;
    }
    if (typeof part === "number") {
      flush();
      if (!Number.isInteger(part) || part < 0 || part > 0x10ffff) throw new TypeError(`not chardata: ${part} is not a code point`);
      text += String.fromCodePoint(part);
    } else if (typeof part === "string") {
      flush();
      text += part;
    } else if (Array.isArray(part)) {
      for (const item of part) walk(item, depth + 1);
    } else {
      throw new TypeError("not chardata: expected code points, binaries and lists of them");
    }
  };
  walk(data, 0);
  flush();
  return text;
}
