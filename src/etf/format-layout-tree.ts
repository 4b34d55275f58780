// The layout tree: a term measured into its printed parts (the text of every atomic part, the one-line length of
// every part), the builders that measure as they build, and the writing of a layout on one line. It is separate from
// the two passes that break lines (format-layout-break.ts, format-layout-indent.ts), which read the tree and write
// its parts with the functions here; printLayout (format-layout.ts) ties them together.

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

export function write(node: Layout, out: string[]): void {
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

export function writePair(pair: PairLayout, out: string[]): void {
  write(pair.key, out);
  out.push(" => ");
  write(pair.value, out);
}

export function writeField(field: FieldLayout, out: string[]): void {
  out.push(field.name, " = ");
  write(field.value, out);
}

/** The layout on one line. */
export function writeLayout(node: Layout): string {
  const out: string[] = [];
  write(node, out);
  return out.join("");
}
