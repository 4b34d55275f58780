// What both line-breaking passes ask of a layout, with the same rules: pp (format-layout-break.ts), which writes the
// lines, and cind (format-layout-indent.ts), which first walks them without writing to choose the indentation style.
// Kept apart so that neither pass imports the other; the names follow io_lib_pretty's.

import type { Layout, PairLayout } from "./format-layout-tree.js";

/** The line length and the most characters on a line, all the measuring needs. */
export interface Measure {
  readonly ll: number;
  readonly m: number;
}

/** Plain text (io_lib_pretty's ?ATM): such elements may share a line. */
export function isAtomic(node: Layout): boolean {
  return node.kind === "leaf";
}

export function isAtomicPair(pair: PairLayout): boolean {
  return isAtomic(pair.key) && isAtomic(pair.value);
}

/** The depth added after an element: 0 when more elements follow, else one more closing bracket. */
export function lastDepth(moreFollow: boolean, ld: number): number {
  return moreFollow ? 0 : ld + 1;
}

/** Whether a following element of length `len` (plus its comma) fits where the line is. */
export function fitsAfter(elen: number, col: number, ld1: number, w: number, p: { ll: number; m: number }): boolean {
  return ld1 === 0 ? elen + 1 < p.ll - col && w + elen + 1 <= p.m : elen < p.ll - col - ld1 && w + elen + ld1 <= p.m;
}

export function fits(len: number, col: number, ld: number, w: number, p: { ll: number; m: number }): boolean {
  return len < p.ll - col - ld && len + w + ld <= p.m;
}

export function mapValueIndent(tind: number): number {
  return tind > 0 ? tind : 4;
}
