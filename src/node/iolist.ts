// Text from Erlang I/O data: iolists and chardata (nested lists of code points, binaries of UTF-8).
import type { Term } from "../etf/index.js";

/** Flattens chardata (what io:put_chars and io_lib:format produce) into a string. */
export function iolistToString(data: Term): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (typeof data === "number") return String.fromCodePoint(data);
  if (Array.isArray(data)) {
    let text = "";
    for (const part of data) text += iolistToString(part);
    return text;
  }
  throw new TypeError("not chardata: expected code points, binaries and lists of them");
}
