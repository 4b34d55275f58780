// Reads one Erlang term written as text and ended by a full stop, as in OTP's -ssl_dist_optfile (which OTP reads
// with erl_scan and erl_eval): lists, tuples, atoms (bare or quoted), strings, binaries of a string, integers and
// floats, with % comments. Strings become JS strings (in an option file a string is a file name or a host name),
// true and false booleans. Enough for option files; not a general Erlang reader (no maps, funs, variables, operators).
import { Buffer } from "node:buffer";

/** A term read from text: an atom is `{ atom }`, a tuple `{ tuple }`, a string a JS string. */
export type TextTerm = { atom: string } | { tuple: TextTerm[] } | boolean | string | number | Buffer | TextTerm[];

export class ErlangTextError extends Error {
  override readonly name = "ErlangTextError";
  constructor(
    message: string,
    /** 1-based line where the problem is. */
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Erlang's one-letter escapes (\n, \s for space, \d for delete...); any other escaped character stands for itself. */
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", s: " ", e: "\x1b", b: "\b", f: "\f", v: "\v", d: "\x7f" };

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  private get line(): number {
    let line = 1;
    for (let i = 0; i < this.at && i < this.text.length; i++) if (this.text[i] === "\n") line++;
    return line;
  }

  fail(message: string): never {
    throw new ErlangTextError(message, this.line);
  }

  /** Skips white space and % comments; returns the next character (or "" at the end). */
  peek(): string {
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) return "";
      if (c === "%") {
        while (this.at < this.text.length && this.text[this.at] !== "\n") this.at++;
      } else if (/\s/.test(c)) {
        this.at++;
      } else {
        return c;
      }
    }
  }

  expect(token: string): void {
    this.peek();
    if (!this.text.startsWith(token, this.at)) this.fail(`expected '${token}'`);
    this.at += token.length;
  }

  term(): TextTerm {
    const c = this.peek();
    if (c === "[") return this.sequence("[", "]");
    if (c === "{") return { tuple: this.sequence("{", "}") };
    if (c === '"') {
      let text = this.quoted('"');
      while (this.peek() === '"') text += this.quoted('"'); // "ab" "cd" is one string, as in Erlang
      return text;
    }
    if (c === "'") return this.atomValue(this.quoted("'"));
    if (c === "<" && this.text.startsWith("<<", this.at)) return this.binary();
    if (/[0-9+-]/.test(c)) return this.number();
    if (/[a-z]/.test(c)) {
      const match = /^[a-zA-Z0-9_@]*/.exec(this.text.slice(this.at))!;
      this.at += match[0].length;
      return this.atomValue(match[0]);
    }
    if (c === "") this.fail("unexpected end of the text");
    return this.fail(`unexpected '${c}' (only lists, tuples, atoms, strings, binaries and numbers are read)`);
  }

  private atomValue(name: string): TextTerm {
    if (name === "true") return true;
    if (name === "false") return false;
    return { atom: name };
  }

  private sequence(open: string, close: string): TextTerm[] {
    this.expect(open);
    const items: TextTerm[] = [];
    if (this.peek() === close) {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.term());
      const next = this.peek();
      this.at++;
      if (next === close) return items;
      if (next !== ",") this.fail(`expected ',' or '${close}'`);
    }
  }

  private quoted(quote: string): string {
    this.expect(quote);
    let out = "";
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) this.fail(`unterminated ${quote === '"' ? "string" : "quoted atom"}`);
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.at++];
      if (e === undefined) this.fail("unterminated escape");
      if (/[0-7]/.test(e)) {
        const digits = /^[0-7]{1,3}/.exec(this.text.slice(this.at - 1))![0];
        this.at += digits.length - 1;
        out += String.fromCodePoint(parseInt(digits, 8));
      } else if (e === "x") {
        const braced = /^\{([0-9a-fA-F]+)\}/.exec(this.text.slice(this.at));
        const plain = /^[0-9a-fA-F]{2}/.exec(this.text.slice(this.at));
        const hex = braced ? braced[1] : plain?.[0];
        if (!hex) this.fail("bad \\x escape");
        this.at += braced ? braced[0].length : 2;
        out += String.fromCodePoint(parseInt(hex, 16));
      } else {
        out += ESCAPES[e] ?? e;
      }
    }
  }

  private binary(): Buffer {
    this.expect("<<");
    if (this.peek() === ">") {
      this.expect(">>");
      return Buffer.alloc(0);
    }
    if (this.peek() !== '"') this.fail('only binaries of a string (<<"...">>) are read');
    const text = this.quoted('"');
    this.expect(">>");
    return Buffer.from(text, "latin1");
  }

  private number(): number {
    const match = /^[+-]?(?:\d+#[0-9a-zA-Z]+|\d+(?:\.\d+(?:[eE][+-]?\d+)?)?)/.exec(this.text.slice(this.at));
    if (!match) this.fail("bad number");
    this.at += match[0].length;
    const text = match[0];
    if (text.includes("#")) {
      const sign = text.startsWith("-") ? -1 : 1;
      const [base, digits] = text.replace(/^[+-]/, "").split("#");
      const value = parseInt(digits, Number(base));
      if (Number.isNaN(value) || Number(base) < 2 || Number(base) > 36) this.fail(`bad number ${text}`);
      return sign * value;
    }
    return Number(text);
  }

  end(): void {
    this.expect(".");
    if (this.peek() !== "") this.fail("text after the term's full stop");
  }
}

/** Reads `text`: one term followed by a full stop. Throws ErlangTextError (with the line) if it is not that. */
export function parseErlangTerm(text: string): TextTerm {
  const reader = new Reader(text);
  const term = reader.term();
  reader.end();
  return term;
}
