// Choosing the indentation style (cind): io_lib_pretty's first pass, which walks the lines pp would write without
// writing them and throws no_good when an indentation would pass half the line, so that printLayout can try its two
// styles in turn. Separate from pp (format-layout-break.ts), which only receives the style it picked.

import type { FieldLayout, Layout, PairLayout, RecordLayout, TupleLayout } from "./format-layout-tree.js";
import {
  fits,
  fitsAfter,
  isAtomic,
  isAtomicPair,
  lastDepth,
  mapValueIndent,
  type Measure,
} from "./format-layout-fit.js";

/** io_lib_pretty's throw(no_good): the indentation would pass half the line. */
class NoGood {}
const NO_GOOD = new NoGood();

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

export function indentationStyle(node: Layout, col: number, p: Measure): number {
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
