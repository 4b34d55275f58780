// Breaking lines (pp): writes a layout that does not fit on one line over several, as io_lib_pretty's pp functions
// do, in the indentation style cind chose (format-layout-indent.ts). Separate from the tree it reads
// (format-layout-tree.ts) and from the choice of style, which walks the same shapes without writing.

import {
  write,
  writeField,
  writePair,
  type BytesLayout,
  type FieldLayout,
  type Layout,
  type PairLayout,
  type RecordLayout,
  type TupleLayout,
} from "./format-layout-tree.js";
import { fits, fitsAfter, isAtomic, isAtomicPair, lastDepth, mapValueIndent } from "./format-layout-fit.js";

export interface Pretty {
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

export function pp(node: Layout, col: number, ind: number, ld: number, w: number, p: Pretty): void {
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
