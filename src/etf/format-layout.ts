// Line breaking as OTP's io_lib_pretty does it for ~p: a term is first measured into a layout tree (the text of
// every atomic part and the one-line length of every part), then written on one line when it fits, or broken
// with io_lib_pretty's rules: elements that are "atomic" (plain text) share a line while they fit; anything else
// starts a new line; tagged tuples ({tag, ...}), map values and record fields get their indentation from a first
// pass (cind) that picks one of io_lib_pretty's two indentation styles. The names follow io_lib_pretty's.
//
// This file is the entry point, printLayout, and the names the formatters build layouts with. The parts: the tree,
// its builders and one-line writing (format-layout-tree.ts); what both passes measure (format-layout-fit.ts); pp,
// breaking lines (format-layout-break.ts); cind, choosing the indentation style (format-layout-indent.ts).

import { writeLayout, type Layout } from "./format-layout-tree.js";
import { pp } from "./format-layout-break.js";
import { indentationStyle } from "./format-layout-indent.js";

export {
  bytesLayout,
  fieldLayout,
  leaf,
  listLayout,
  mapLayout,
  pairLayout,
  recordLayout,
  tupleLayout,
  type BytesLayout,
  type FieldLayout,
  type LeafLayout,
  type Layout,
  type ListLayout,
  type MapLayout,
  type PairLayout,
  type RecordLayout,
  type TupleLayout,
} from "./format-layout-tree.js";

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
