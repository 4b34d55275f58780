// Lookups into the generated identifier tables (format-elixir-unicode-tables.ts): what Elixir's identifier tokenizer
// thinks of a non-ASCII code point in a given release, and the code point's script set. Tables are decoded lazily,
// on the first non-ASCII atom of that release.

import { IDENTIFIER_TABLES, type IdentifierTable } from "./format-elixir-unicode-tables.js";

/** U: may start an identifier (an uppercase one), S: may start one, C: may only continue one, N: not in identifiers. */
export type IdentifierClass = "U" | "S" | "C" | "N";

/** A decoded table: sorted run starts, with each run's class and script set. */
export interface IdentifierLookup {
  classOf(codePoint: number): IdentifierClass;
  /** The code point's script set as a bitmap (bit 0: Latin); every script for code points outside the table. */
  scriptsOf(codePoint: number): bigint;
  /** Every script (Common and Inherited characters mix with anything). */
  readonly all: bigint;
  readonly latin: bigint;
  /** The script sets Latin may mix with before Elixir 1.18 (Japanese, Han with Bopomofo, Korean), each with Latin. */
  readonly highlyRestrictive: readonly bigint[];
}

const decoded = new Map<IdentifierTable, IdentifierLookup>();

/** The table of the newest release at or before `version` ([major, minor]); the oldest table before it. */
export function identifierLookup(version: readonly [number, number]): IdentifierLookup {
  let chosen = IDENTIFIER_TABLES[0];
  for (const table of IDENTIFIER_TABLES) {
    const [major, minor] = table.since.split(".").map(Number);
    if (major < version[0] || (major === version[0] && minor <= version[1])) chosen = table;
  }
  let lookup = decoded.get(chosen);
  if (lookup === undefined) {
    lookup = decode(chosen);
    decoded.set(chosen, lookup);
  }
  return lookup;
}

function decode(table: IdentifierTable): IdentifierLookup {
  const starts: number[] = [];
  const classes: IdentifierClass[] = [];
  const maskIndexes: number[] = [];
  let at = 128;
  for (const match of table.runs.matchAll(/([USCN])([0-9a-z]+)(?:\.([0-9a-z]+))?/g)) {
    starts.push(at);
    classes.push(match[1] as IdentifierClass);
    maskIndexes.push(match[3] === undefined ? 0 : parseInt(match[3], 36));
    at += parseInt(match[2], 36);
  }
  const masks = table.masks.map((hex) => BigInt(`0x${hex}`));
  const runAt = (cp: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= cp) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  return {
    classOf: (cp) => (cp < 128 ? "N" : classes[runAt(cp)]),
    scriptsOf: (cp) => {
      if (cp < 128) return masks[0];
      const run = runAt(cp);
      return classes[run] === "N" ? masks[0] : masks[maskIndexes[run]];
    },
    all: masks[0],
    latin: 1n,
    highlyRestrictive: table.covers.map((hex) => BigInt(`0x${hex}`)),
  };
}
