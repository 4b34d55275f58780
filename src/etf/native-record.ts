// OTP 29 native records (`-record #point{x, y}.`, values printed `#mod:point{x = 1,y = 2}`): a type of their own,
// neither a tuple nor a map. On the wire (RECORD_EXT, tag 67): field count u32, a flags byte (bit 0: exported),
// module atom, record name atom, the field names in order, then the values in the same order.

import { Atom, atom, inspectTerm, type Encodable, type Term } from "./types.js";

const inspect = Symbol.for("nodejs.util.inspect.custom");

/**
 * A native record: module, name, and fields with their values in order. Everything here is part of the value as
 * `=:=` sees it: the field order (BEAM keeps the order a record was made with) and whether the record is exported
 * (`-export_record`, `records:is_exported/1`); a local record never equals an exported one.
 * Decoded records hold {@link Term}s; records built to be encoded may hold any {@link Encodable}.
 */
export class NativeRecord<E extends Encodable = Term> {
  constructor(
    /** The module that defines the record. */
    readonly module: Atom,
    /** The record's name. */
    readonly name: Atom,
    /** Field names, in the record's order. */
    readonly fieldNames: readonly Atom[],
    /** One value per field name, in the same order. */
    readonly values: readonly E[],
    /** True when the defining module exports the record (so other modules may read its fields). */
    readonly exported: boolean,
  ) {
    if (fieldNames.length !== values.length) {
      throw new TypeError(`a native record needs one value per field: ${fieldNames.length} field names, ${values.length} values`);
    }
  }

  /** Number of fields. */
  get size(): number {
    return this.fieldNames.length;
  }

  /** The value of a field, or undefined when the record has no such field. */
  get(field: string | Atom): E | undefined {
    const wanted = typeof field === "string" ? field : field.name;
    const at = this.fieldNames.findIndex((name) => name.name === wanted);
    return at === -1 ? undefined : this.values[at];
  }

  /** [field name, value] pairs in order. */
  *entries(): IterableIterator<[Atom, E]> {
    for (let i = 0; i < this.fieldNames.length; i++) yield [this.fieldNames[i], this.values[i]];
  }

  /** The fields as a map with atom keys: what to send instead to a node older than OTP 29. */
  toMap(): Map<Atom, E> {
    return new Map(this.entries());
  }

  /** util.inspect shows the record as ~tp prints it on OTP 29: `#m:point{x = 1,y = 2}`. */
  [inspect](): string {
    return inspectTerm(this);
  }
}

/**
 * Makes a native record. `fields` is a plain object (`{ x: 1, y: 2 }`, in its key order) or [name, value] pairs;
 * `exported` defaults to true, as for a record its module exports with `-export_record`.
 */
export function nativeRecord(
  module: string | Atom,
  name: string | Atom,
  fields: { readonly [field: string]: Encodable } | Iterable<readonly [string | Atom, Encodable]>,
  options?: { exported?: boolean },
): NativeRecord<Encodable> {
  const pairs = Symbol.iterator in fields ? [...(fields as Iterable<readonly [string | Atom, Encodable]>)] : Object.entries(fields);
  return new NativeRecord(
    asAtom(module),
    asAtom(name),
    pairs.map(([field]) => asAtom(field)),
    pairs.map(([, value]) => value),
    options?.exported ?? true,
  );
}

function asAtom(value: string | Atom): Atom {
  return typeof value === "string" ? atom(value) : value;
}

/**
 * The index of the first field name that repeats an earlier one, or -1. BEAM refuses a record with a repeated
 * field, so the decoder rejects one and the encoder never writes one.
 */
export function repeatedFieldIndex(fieldNames: readonly Atom[]): number {
  const seen = new Set<string>();
  for (let i = 0; i < fieldNames.length; i++) {
    const name = fieldNames[i].name;
    if (seen.has(name)) return i;
    seen.add(name);
  }
  return -1;
}
