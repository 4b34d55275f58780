// fast-check arbitraries shared by the codec's property tests against BEAM.
import fc from "fast-check";
import { NativeRecord, type Atom, type Encodable } from "../../src/etf/index.js";

/**
 * Native records with distinct field names (BEAM refuses repeats), in any order, exported or local; `atomArb` makes
 * the module, name and field atoms, `value` the field values. Only for a peer that has them (OTP 29).
 */
export function nativeRecordArb(atomArb: fc.Arbitrary<Atom>, value: fc.Arbitrary<Encodable>): fc.Arbitrary<Encodable> {
  return fc
    .tuple(atomArb, atomArb, fc.uniqueArray(fc.tuple(atomArb, value), { maxLength: 5, selector: ([field]) => field.name }), fc.boolean())
    .map(([module, name, fields, exported]) => new NativeRecord(module, name, fields.map(([f]) => f), fields.map(([, v]) => v), exported));
}
