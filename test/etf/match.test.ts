// Matching tagged tuples (taggedTuple, isTaggedTuple) and atoms by name (isAtom), including for atoms the decoder
// hands out once its intern table is full (ATOM_INTERN_LIMIT), where `=== atom(name)` no longer holds. The table is
// per process and this file fills it, so that test comes last (each test file runs in its own process).
import { describe, expect, it } from "vitest";
import { ATOM_INTERN_LIMIT, Atom, Tuple, atom, decode, encode, isAtom, isTaggedTuple, taggedTuple, tuple, type Term } from "../../src/etf/index.js";

describe("taggedTuple and isTaggedTuple", () => {
  const ok = tuple(atom("ok"), 42) as Tuple;

  it("give the elements of a tuple with that tag, of that size when one is given", () => {
    expect(taggedTuple(ok, "ok", 2)).toEqual([atom("ok"), 42]);
    expect(taggedTuple(ok, "ok")?.[1]).toBe(42);
    expect(taggedTuple(tuple(atom("EXIT"), 1, 2), "EXIT")).toHaveLength(3);
    expect(isTaggedTuple(ok, "ok", 2)).toBe(true);
    expect(isTaggedTuple(ok, "ok")).toBe(true);
  });

  it("refuse another tag, another size, an untagged tuple, and what is not a tuple", () => {
    for (const [term, tag, size] of [
      [ok, "error", 2],
      [ok, "ok", 3],
      [tuple(), "ok", undefined],
      [tuple("ok", 42), "ok", 2], // a binary/string first element is not the atom
      [tuple(42, atom("ok")), "ok", 2],
      [[atom("ok"), 42], "ok", 2],
      [atom("ok"), "ok", undefined],
      [undefined, "ok", undefined],
      [null, "ok", undefined],
    ] as Array<[unknown, string, number | undefined]>) {
      expect(taggedTuple(term, tag, size)).toBeUndefined();
      expect(isTaggedTuple(term, tag, size)).toBe(false);
    }
  });

  it("type the tuple as a guard", () => {
    const term: unknown = decode(encode(tuple(atom("error"), atom("enoent"))));
    if (!isTaggedTuple(term, "error", 2)) throw new Error("expected {error, Reason}");
    expect(isAtom(term.elements[1], "enoent")).toBe(true);
  });
});

/** An external term of a list of `count` distinct atoms (SMALL_ATOM_UTF8_EXT), built directly: encoding them would intern them. */
function atomList(prefix: string, count: number): Buffer {
  const parts: Buffer[] = [Buffer.from([131, 108]), Buffer.alloc(4)];
  parts[1].writeUInt32BE(count);
  for (let i = 0; i < count; i++) {
    const name = Buffer.from(`${prefix}${i}`, "utf8");
    parts.push(Buffer.from([119, name.length]), name);
  }
  parts.push(Buffer.from([106]));
  return Buffer.concat(parts);
}

describe("past the atom intern limit", () => {
  it("isAtom and taggedTuple still match a decoded atom that === atom(name) does not", () => {
    // Fill the table: ATOM_INTERN_LIMIT distinct names that nothing interned before.
    const filler = decode(atomList("intern_filler_", ATOM_INTERN_LIMIT)) as Term[];
    expect(filler).toHaveLength(ATOM_INTERN_LIMIT);

    // A name decoded for the first time now is not interned: the atom(name) made afterwards is another object.
    // (new Atom: encoding an atom made by atom() would intern its name before the decode.)
    const reply = encode(tuple(new Atom("fresh_after_limit"), 7));
    const first = decode(reply) as Tuple;
    const second = decode(reply) as Tuple;
    const tag = first.elements[0];
    expect(tag === atom("fresh_after_limit")).toBe(false);
    expect(second.elements[0] === atom("fresh_after_limit")).toBe(false);
    expect(isAtom(tag, "fresh_after_limit")).toBe(true);
    expect(taggedTuple(first, "fresh_after_limit", 2)?.[1]).toBe(7);
    expect(isTaggedTuple(second, "fresh_after_limit", 2)).toBe(true);
  });
});
