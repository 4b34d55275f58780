// Line breaking as OTP's io_lib_pretty does it for ~p: a term is first measured into a layout tree (the text of
// every atomic part and the one-line length of every part), then written on one line when it fits, or broken
// with io_lib_pretty's rules: elements that are "atomic" (plain text) share a line while they fit; anything else
// starts a new line; tagged tuples ({tag, ...}), map values and record fields get their indentation from a first
// pass (cind) that picks one of io_lib_pretty's two indentation styles. The names follow io_lib_pretty's.

/** Plain text: atoms, numbers, strings, printable binaries, pids, funs, `[]`, `{}`, `#{}`. */
export interface LeafLayout {
  readonly kind: "leaf";
  readonly text: string;
  /** Length in characters (code points), as io_lib:chars_length counts. */
  readonly len: number;
}

/** A binary written as its bytes, `<<1,2,3>>` or `<<5,1:3>>`: the comma-separated items, which may wrap. */
export interface BytesLayout {
  readonly kind: "bin";
  readonly items: readonly string[];
  readonly len: number;
}

export interface ListLayout {
  readonly kind: "list";
  readonly items: readonly Layout[];
  /** The tail of an improper list (`[a|b]`). */
  readonly tail: Layout | undefined;
  readonly len: number;
}

export interface TupleLayout {
  readonly kind: "tuple";
  /** A first element that is an atom, in a tuple of two or more: io_lib_pretty indents the rest after it. */
  readonly tagged: boolean;
  readonly items: readonly Layout[];
  readonly len: number;
}

export interface PairLayout {
  readonly key: Layout;
  readonly value: Layout;
  readonly len: number;
}

export interface MapLayout {
  readonly kind: "map";
  readonly pairs: readonly PairLayout[];
  readonly len: number;
}

export interface FieldLayout {
  /** The field name's text. */
  readonly name: string;
  /** Its length plus 3 (for " = "). */
  readonly nameLen: number;
  readonly value: Layout;
  readonly len: number;
}

/** A native record, `#m:name{f = V, ...}`. */
export interface RecordLayout {
  readonly kind: "record";
  /** `#m:name`, written before the braces. */
  readonly name: string;
  readonly nameLen: number;
  readonly fields: readonly FieldLayout[];
  readonly len: number;
}

export type Layout = LeafLayout | BytesLayout | ListLayout | TupleLayout | MapLayout | RecordLayout;

export function leaf(text: string, len: number): LeafLayout {
  return { kind: "leaf", text, len };
}

/** Separated lengths: the parts, a separator between each two, and `extra` for the brackets. */
function sumLengths(parts: ReadonlyArray<{ readonly len: number }>, extra: number): number {
  let len = extra + Math.max(0, parts.length - 1);
  for (const part of parts) len += part.len;
  return len;
}

export function listLayout(items: Layout[], tail: Layout | undefined): ListLayout {
  return { kind: "list", items, tail, len: sumLengths(items, 2) + (tail === undefined ? 0 : 1 + tail.len) };
}

export function tupleLayout(items: Layout[], tagged: boolean): TupleLayout {
  return { kind: "tuple", tagged, items, len: sumLengths(items, 2) };
}

export function mapLayout(pairs: PairLayout[]): MapLayout {
  return { kind: "map", pairs, len: sumLengths(pairs, 3) };
}

export function pairLayout(key: Layout, value: Layout): PairLayout {
  return { key, value, len: key.len + 4 + value.len };
}

export function recordLayout(name: string, nameLen: number, fields: FieldLayout[]): RecordLayout {
  return { kind: "record", name, nameLen, fields, len: sumLengths(fields, nameLen + 2) };
}

export function fieldLayout(name: string, nameChars: number, value: Layout): FieldLayout {
  return { name, nameLen: nameChars + 3, value, len: nameChars + 3 + value.len };
}

export function bytesLayout(items: string[]): BytesLayout {
  let len = 4 + Math.max(0, items.length - 1);
  for (const item of items) len += item.length;
  return { kind: "bin", items, len };
}

// ---- writing on one line ----

function write(node: Layout, out: string[]): void {
  switch (node.kind) {
    case "leaf":
      out.push(node.text);
      return;
    case "bin":
      out.push("<<", node.items.join(","), ">>");
      return;
    case "list":
      out.push("[");
      writeSeparated(node.items, out);
      if (node.tail !== undefined) {
        out.push("|");
        write(node.tail, out);
      }
      out.push("]");
      return;
    case "tuple":
      out.push("{");
      writeSeparated(node.items, out);
      out.push("}");
      return;
    case "map":
      out.push("#{");
      for (let i = 0; i < node.pairs.length; i++) {
        if (i > 0) out.push(",");
        writePair(node.pairs[i], out);
      }
      out.push("}");
      return;
    case "record":
      out.push(node.name, "{");
      for (let i = 0; i < node.fields.length; i++) {
        if (i > 0) out.push(",");
        writeField(node.fields[i], out);
      }
      out.push("}");
      return;
  }
}

function writeSeparated(items: readonly Layout[], out: string[]): void {
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.push(",");
    write(items[i], out);
  }
}

function writePair(pair: PairLayout, out: string[]): void {
  write(pair.key, out);
  out.push(" => ");
  write(pair.value, out);
}

function writeField(field: FieldLayout, out: string[]): void {
  out.push(field.name, " = ");
  write(field.value, out);
}

/** The layout on one line. */
function writeLayout(node: Layout): string {
  const out: string[] = [];
  write(node, out);
  return out.join("");
}

// ---- breaking lines (pp) ----

interface Pretty {
  /** Line length. */
  readonly ll: number;
  /** Most characters on a line: the whole term's length, as ~p passes no line_max_chars. */
  readonly m: number;
  /** The indentation style cind chose: -1, 4, or 1 when both failed. */
  readonly tind: number;
  readonly out: string[];
}

const spaceCache: string[] = [];
function spaces(n: number): string {
  if (n <= 0) return "";
  return (spaceCache[n] ??= " ".repeat(n));
}

/** Plain text (io_lib_pretty's ?ATM): such elements may share a line. */
function isAtomic(node: Layout): boolean {
  return node.kind === "leaf";
}

function isAtomicPair(pair: PairLayout): boolean {
  return isAtomic(pair.key) && isAtomic(pair.value);
}

/** The depth added after an element: 0 when more elements follow, else one more closing bracket. */
function lastDepth(moreFollow: boolean, ld: number): number {
  return moreFollow ? 0 : ld + 1;
}

/** Whether a following element of length `len` (plus its comma) fits where the line is. */
function fitsAfter(elen: number, col: number, ld1: number, w: number, p: { ll: number; m: number }): boolean {
  return ld1 === 0 ? elen + 1 < p.ll - col && w + elen + 1 <= p.m : elen < p.ll - col - ld1 && w + elen + ld1 <= p.m;
}

function fits(len: number, col: number, ld: number, w: number, p: { ll: number; m: number }): boolean {
  return len < p.ll - col - ld && len + w + ld <= p.m;
}

function pp(node: Layout, col: number, ind: number, ld: number, w: number, p: Pretty): void {
  if (fits(node.len, col, ld, w, p)) return write(node, p.out);
  switch (node.kind) {
    case "leaf":
      p.out.push(node.text);
      return;
    case "bin":
      return ppBinary(node, col + 2, ind + 2, ld, w, p);
    case "list":
      p.out.push("[");
      ppList(node.items, 0, node.tail, col + 1, ind + 1, ld, "|", w + 1, p);
      p.out.push("]");
      return;
    case "tuple":
      p.out.push("{");
      if (node.tagged) ppTagTuple(node, col, ind, ld, w + 1, p);
      else ppList(node.items, 0, undefined, col + 1, ind + 1, ld, ",", w + 1, p);
      p.out.push("}");
      return;
    case "map":
      p.out.push("#{");
      ppMap(node.pairs, col + 2, ind + 2, ld, w + 1, p);
      p.out.push("}");
      return;
    case "record":
      p.out.push(node.name, "{");
      ppRecord(node, col, ind, ld, w + node.nameLen + 1, p);
      p.out.push("}");
      return;
  }
}

function ppTagTuple(node: TupleLayout, col: number, ind: number, ld: number, w: number, p: Pretty): void {
  const tag = node.items[0];
  const tagInd = tag.len + 2;
  const tcol = col + tagInd;
  write(tag, p.out);
  if (p.tind > 0 && tagInd > p.tind) {
    ppTail(node.items, 1, undefined, col + p.tind, tcol, ind + p.tind, ld, ",", w + tag.len, p);
  } else {
    p.out.push(",");
    ppList(node.items, 1, undefined, tcol, ind + tagInd, ld, ",", w + tag.len + 1, p);
  }
}

function ppList(
  items: readonly Layout[], start: number, tail: Layout | undefined,
  col0: number, ind: number, ld: number, sep: string, w: number, p: Pretty,
): void {
  const we = ppElement(items[start], col0, ind, lastDepth(start + 1 < items.length, ld), w, p);
  ppTail(items, start + 1, tail, col0, col0 + we, ind, ld, sep, w + we, p);
}

function ppTail(
  items: readonly Layout[], start: number, tail: Layout | undefined,
  col0: number, col: number, ind: number, ld: number, sep: string, w: number, p: Pretty,
): void {
  for (let i = start; i < items.length; i++) {
    const e = items[i];
    const ld1 = lastDepth(i + 1 < items.length, ld);
    const elen = 1 + e.len;
    if (isAtomic(e) && fitsAfter(elen, col, ld1, w, p)) {
      p.out.push(",");
      write(e, p.out);
      col += elen;
      w += elen;
    } else {
      p.out.push(",\n", spaces(ind));
      const we = ppElement(e, col0, ind, ld1, 0, p);
      col = col0 + we;
      w = we;
    }
  }
  if (tail === undefined) return;
  if (tail.len + 1 < p.ll - col - (ld + 1) && tail.len + 1 + w + (ld + 1) <= p.m && isAtomic(tail)) {
    p.out.push(sep);
    write(tail, p.out);
  } else {
    p.out.push(sep, "\n", spaces(ind));
    pp(tail, col0, ind, ld + 1, 0, p);
  }
}

/** Writes an element; returns the width it takes, or the line length to force the next one onto a new line. */
function ppElement(e: Layout, col: number, ind: number, ld: number, w: number, p: Pretty): number {
  if (fits(e.len, col, ld, w, p) && isAtomic(e)) {
    write(e, p.out);
    return e.len;
  }
  pp(e, col, ind, ld, w, p);
  return p.ll;
}

function ppMap(pairs: readonly PairLayout[], col: number, ind: number, ld: number, w: number, p: Pretty): void {
  const pw0 = ppPair(pairs[0], col, ind, lastDepth(pairs.length > 1, ld), w, p);
  let at = col + pw0;
  let width = pw0;
  for (let i = 1; i < pairs.length; i++) {
    const pair = pairs[i];
    const ld1 = lastDepth(i + 1 < pairs.length, ld);
    const elen = 1 + pair.len;
    if (isAtomicPair(pair) && fitsAfter(elen, at, ld1, width, p)) {
      p.out.push(",");
      writePair(pair, p.out);
      at += elen;
      width += elen;
    } else {
      p.out.push(",\n", spaces(ind));
      const pw = ppPair(pair, col, ind, ld1, 0, p);
      at = col + pw;
      width = pw;
    }
  }
}

function ppPair(pair: PairLayout, col: number, ind: number, ld: number, w: number, p: Pretty): number {
  if (fits(pair.len, col, ld, w, p)) {
    writePair(pair, p.out);
    return isAtomicPair(pair) ? pair.len : p.ll;
  }
  const valueIndent = mapValueIndent(p.tind);
  pp(pair.key, col, ind, ld, w, p);
  p.out.push(" =>\n", spaces(ind + valueIndent));
  pp(pair.value, col + valueIndent, ind + valueIndent, ld, 0, p);
  return p.ll;
}

function mapValueIndent(tind: number): number {
  return tind > 0 ? tind : 4;
}

interface RecIndent {
  col: number;
  ind: number;
  /** A line break and indentation before the field, or nothing. */
  prefix: string;
  w: number;
}

function recIndent(rind: number, tind: number, col0: number, ind0: number, w0: number): RecIndent {
  const newLine = tind > 0 && rind > tind;
  const dcol = newLine ? tind : rind;
  const ind = ind0 + dcol;
  return { col: col0 + dcol, ind, prefix: newLine ? "\n" + spaces(ind) : "", w: newLine ? 0 : w0 };
}

function ppRecord(node: RecordLayout, col0: number, ind0: number, ld: number, w0: number, p: Pretty): void {
  const { fields } = node;
  if (fields.length === 0) return;
  const { col, ind, prefix, w } = recIndent(node.nameLen + 1, p.tind, col0, ind0, w0);
  p.out.push(prefix);
  const fw0 = ppField(fields[0], col, ind, lastDepth(fields.length > 1, ld), w, p);
  let at = col + fw0;
  let width = w + fw0;
  for (let i = 1; i < fields.length; i++) {
    const field = fields[i];
    const ld1 = lastDepth(i + 1 < fields.length, ld);
    const elen = 1 + field.len;
    if (isAtomic(field.value) && fitsAfter(elen, at, ld1, width, p)) {
      p.out.push(",");
      writeField(field, p.out);
      at += elen;
      width += elen;
    } else {
      p.out.push(",\n", spaces(ind));
      const fw = ppField(field, col, ind, ld1, 0, p);
      at = col + fw;
      width = fw;
    }
  }
}

function ppField(field: FieldLayout, col0: number, ind0: number, ld: number, w0: number, p: Pretty): number {
  if (fits(field.len, col0, ld, w0, p)) {
    writeField(field, p.out);
    return isAtomic(field.value) ? field.len : p.ll;
  }
  const { col, ind, prefix, w } = recIndent(field.nameLen, p.tind, col0, ind0, w0 + field.nameLen);
  p.out.push(field.name, prefix.startsWith("\n") ? " =" : " = ", prefix);
  pp(field.value, col, ind, ld, w, p);
  return p.ll;
}

/** A long binary of bytes breaks between items, each line holding what fits in the room left (at least 8). */
function ppBinary(node: BytesLayout, col: number, ind: number, ld: number, w: number, p: Pretty): void {
  const room = Math.max(8, Math.min(p.ll - col, p.m - 4 - w) - ld);
  const { items } = node;
  const out = p.out;
  out.push("<<");
  let left = room;
  for (let i = 0; i < items.length - 1; i++) {
    const len = items[i].length + 1;
    if (left - len < 0) {
      out.push("\n", spaces(ind), items[i], ",");
      left = room - len;
    } else {
      out.push(items[i], ",");
      left -= len;
    }
  }
  const last = items[items.length - 1];
  if (last.length > left) out.push("\n", spaces(ind));
  out.push(last, ">>");
}

// ---- choosing the indentation style (cind) ----

/** io_lib_pretty's throw(no_good): the indentation would pass half the line. */
class NoGood {}
const NO_GOOD = new NoGood();

interface Measure {
  readonly ll: number;
  readonly m: number;
}

function cind(node: Layout, col: number, ind: number, ld: number, w: number, p: Measure): void {
  if (fits(node.len, col, ld, w, p)) return;
  switch (node.kind) {
    case "list":
      return cindList(node.items, 0, node.tail, col + 1, ind, ld, w + 1, p);
    case "tuple":
      if (node.tagged) return cindTagTuple(node, col, ind, ld, w + 1, p);
      return cindList(node.items, 0, undefined, col + 1, ind, ld, w + 1, p);
    case "map":
      return cindMap(node.pairs, col + 2, ind, ld, w + 2, p);
    case "record":
      return cindRecord(node, col, ind, ld, w + node.nameLen + 1, p);
    default:
      return;
  }
}

function half(ll: number): number {
  return Math.floor(ll / 2);
}

function cindTagTuple(node: TupleLayout, col: number, ind: number, ld: number, w: number, p: Measure): void {
  const tag = node.items[0];
  const tagInd = tag.len + 2;
  const tcol = col + tagInd;
  if (ind > 0 && tagInd > ind) {
    const col1 = col + ind;
    if (!(p.m + col1 <= p.ll || col1 <= half(p.ll))) throw NO_GOOD;
    cindTail(node.items, 1, undefined, col1, tcol, ind, ld, w + tag.len, p);
  } else if (p.m + tcol < p.ll || tcol < half(p.ll)) {
    cindList(node.items, 1, undefined, tcol, ind, ld, w + tag.len + 1, p);
  } else {
    throw NO_GOOD;
  }
}

function cindList(
  items: readonly Layout[], start: number, tail: Layout | undefined,
  col0: number, ind: number, ld: number, w: number, p: Measure,
): void {
  const we = cindElement(items[start], col0, ind, lastDepth(start + 1 < items.length, ld), w, p);
  cindTail(items, start + 1, tail, col0, col0 + we, ind, ld, w + we, p);
}

function cindTail(
  items: readonly Layout[], start: number, tail: Layout | undefined,
  col0: number, col: number, ind: number, ld: number, w: number, p: Measure,
): void {
  for (let i = start; i < items.length; i++) {
    const e = items[i];
    const ld1 = lastDepth(i + 1 < items.length, ld);
    const elen = 1 + e.len;
    if (isAtomic(e) && fitsAfter(elen, col, ld1, w, p)) {
      col += elen;
      w += elen;
    } else {
      const we = cindElement(e, col0, ind, ld1, 0, p);
      col = col0 + we;
      w = we;
    }
  }
  if (tail === undefined) return;
  if (tail.len + 1 < p.ll - col - (ld + 1) && tail.len + 1 + w + (ld + 1) <= p.m && isAtomic(tail)) return;
  cind(tail, col, ind, ld + 1, 0, p);
}

function cindElement(e: Layout, col: number, ind: number, ld: number, w: number, p: Measure): number {
  if (fits(e.len, col, ld, w, p) && isAtomic(e)) return e.len;
  cind(e, col, ind, ld, w, p);
  return p.ll;
}

function cindMap(pairs: readonly PairLayout[], col: number, ind: number, ld: number, w: number, p: Measure): void {
  const pw0 = cindPair(pairs[0], col, ind, lastDepth(pairs.length > 1, ld), w, p);
  let at = col + pw0;
  let width = w + pw0;
  for (let i = 1; i < pairs.length; i++) {
    const pair = pairs[i];
    const ld1 = lastDepth(i + 1 < pairs.length, ld);
    const elen = 1 + pair.len;
    if (isAtomicPair(pair) && fitsAfter(elen, at, ld1, width, p)) {
      at += elen;
      width += elen;
    } else {
      const pw = cindPair(pair, col, ind, ld1, 0, p);
      at = col + pw;
      width = pw;
    }
  }
}

function cindPair(pair: PairLayout, col: number, ind: number, ld: number, w: number, p: Measure): number {
  if (fits(pair.len, col, ld, w, p)) return isAtomicPair(pair) ? pair.len : p.ll;
  cind(pair.key, col, ind, ld, w, p);
  cind(pair.value, col + mapValueIndent(ind), ind, ld, 0, p);
  return p.ll;
}

function cindRec(rind: number, col0: number, ind: number, w0: number, p: Measure): { col: number; w: number } {
  const newLine = ind > 0 && rind > ind;
  const col = col0 + (newLine ? ind : rind);
  if (!(p.m + col <= p.ll || col <= half(p.ll))) throw NO_GOOD;
  return { col, w: newLine ? 0 : w0 };
}

function cindRecord(node: RecordLayout, col0: number, ind: number, ld: number, w0: number, p: Measure): void {
  const { fields } = node;
  if (fields.length === 0) return;
  const { col, w } = cindRec(node.nameLen + 1, col0, ind, w0, p);
  const fw0 = cindField(fields[0], col, ind, lastDepth(fields.length > 1, ld), w, p);
  let at = col + fw0;
  let width = w + fw0;
  for (let i = 1; i < fields.length; i++) {
    const field = fields[i];
    const ld1 = lastDepth(i + 1 < fields.length, ld);
    const elen = 1 + field.len;
    if (isAtomic(field.value) && fitsAfter(elen, at, ld1, width, p)) {
      at += elen;
      width += elen;
    } else {
      const fw = cindField(field, col, ind, ld1, 0, p);
      at += fw; // io_lib_pretty continues from the current column here, not from the field column
      width = fw;
    }
  }
}

function cindField(field: FieldLayout, col0: number, ind: number, ld: number, w0: number, p: Measure): number {
  if (fits(field.len, col0, ld, w0, p)) return isAtomic(field.value) ? field.len : p.ll;
  const { col, w } = cindRec(field.nameLen, col0, ind, w0 + field.nameLen, p);
  cind(field.value, col, ind, ld, w, p);
  return p.ll;
}

function indentationStyle(node: Layout, col: number, p: Measure): number {
  for (const candidate of [-1, 4]) {
    try {
      cind(node, col, candidate, 0, 0, p);
      return candidate;
    } catch (err) {
      if (err !== NO_GOOD) throw err;
    }
  }
  return 1;
}

/**
 * The layout as ~p prints it starting at column `col` (1 = start of a line) on lines of `lineLength` characters;
 * a line length of 0 or Infinity writes it on one line.
 */
export function printLayout(node: Layout, lineLength: number, col = 1): string {
  const ll = lineLength === Infinity ? 0 : lineLength;
  const m = node.len;
  if (node.kind === "leaf" || ll === 0 || (node.len < ll - col && node.len <= m)) return writeLayout(node);
  const tind = indentationStyle(node, col, { ll, m });
  const out: string[] = [];
  pp(node, col, col - 1, 0, 0, { ll, m, tind, out });
  return out.join("");
}
