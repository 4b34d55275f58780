// Exact term equality, as Erlang's =:= sees the terms that two JS values encode to.

import { Buffer } from "node:buffer";
import {
  Atom,
  BitBinary,
  ExportFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  Pid,
  Port,
  Reference,
  Tuple,
  type Encodable,
} from "./types.js";
import { NativeRecord } from "./native-record.js";

type Kind = "int" | "float" | "atom" | "binary" | "bits" | "list" | "improper" | "tuple" | "map" | "other";

function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case "number":
      return Number.isInteger(v) ? "int" : "float";
    case "bigint":
      return "int";
    case "boolean":
      return "atom";
    case "string":
      return "binary";
    case "object":
      if (v === null) return "atom"; // nil, as the encoder writes it with nilAsNull
      if (v instanceof Atom) return "atom";
      if (v instanceof Float) return "float";
      if (v instanceof Uint8Array) return "binary";
      if (v instanceof BitBinary) return v.bits === 8 || v.data.length === 0 ? "binary" : "bits";
      if (Array.isArray(v)) return "list";
      if (v instanceof ImproperList) return "improper";
      if (v instanceof Tuple) return "tuple";
      if (v instanceof Map) return "map";
      if (v !== null && (v.constructor === Object || v.constructor === undefined)) return "map";
      return "other";
    default:
      return "other";
  }
}

function atomName(v: unknown): string {
  return typeof v === "boolean" ? String(v) : v === null ? "nil" : (v as Atom).name;
}

function floatValue(v: unknown): number {
  return typeof v === "number" ? v : (v as Float).value;
}

function bytesOf(v: unknown): Uint8Array {
  if (typeof v === "string") return Buffer.from(v, "utf8");
  if (v instanceof BitBinary) return v.data;
  return v as Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function mapEntries(v: unknown): Array<[unknown, unknown]> {
  if (v instanceof Map) return [...v.entries()];
  // undefined fields are left out of the map (with nilAsNull; without it such an object does not encode at all).
  return Object.entries(v as object)
    .filter(([, value]) => value !== undefined)
    .map(([k, value]) => [new Atom(k), value]);
}

/** Flattens a list whose tail is a list into one ImproperList or array, as the encoder would write it. */
function listParts(v: unknown): { elements: readonly unknown[]; tail: unknown } {
  if (Array.isArray(v)) return { elements: v, tail: [] };
  const improper = v as ImproperList;
  const tailKind = kindOf(improper.tail);
  if (tailKind === "list" || tailKind === "improper") {
    const rest = listParts(improper.tail);
    return { elements: [...improper.elements, ...rest.elements], tail: rest.tail };
  }
  return { elements: improper.elements, tail: improper.tail };
}

/**
 * True when `a` and `b` encode to terms that are exactly equal (=:=): integers and floats differ, an atom and a
 * boolean of the same name are equal (and null equals nil), a JS string equals the binary of its UTF-8 bytes, map
 * order does not matter.
 * Float zero signs are compared (-0.0 differs from 0.0, as in OTP 27).
 */
export function equals(a: Encodable | unknown, b: Encodable | unknown): boolean {
  if (a === b) return true;
  let kind = kindOf(a);
  let other = kindOf(b);
  // An improper list with no elements is just its tail; one whose tail is a list is a longer list.
  if (kind === "improper" && (a as ImproperList).elements.length === 0) return equals((a as ImproperList).tail, b);
  if (other === "improper" && (b as ImproperList).elements.length === 0) return equals(a, (b as ImproperList).tail);
  if (kind === "list" || kind === "improper") kind = listParts(a).tail instanceof Array ? "list" : "improper";
  if (other === "list" || other === "improper") other = listParts(b).tail instanceof Array ? "list" : "improper";
  if (kind !== other) return false;
  switch (kind) {
    case "int":
      return BigInt(a as number | bigint) === BigInt(b as number | bigint);
    case "float":
      return Object.is(floatValue(a), floatValue(b));
    case "atom":
      return atomName(a) === atomName(b);
    case "binary":
      return sameBytes(bytesOf(a), bytesOf(b));
    case "bits": {
      const x = a as BitBinary;
      const y = b as BitBinary;
      if (x.bits !== y.bits || x.data.length !== y.data.length) return false;
      const last = x.data.length - 1;
      const mask = (0xff << (8 - x.bits)) & 0xff;
      return sameBytes(x.data.subarray(0, last), y.data.subarray(0, last)) && (x.data[last] & mask) === (y.data[last] & mask);
    }
    case "list":
    case "improper": {
      const x = listParts(a);
      const y = listParts(b);
      if (x.elements.length !== y.elements.length) return false;
      for (let i = 0; i < x.elements.length; i++) if (!equals(x.elements[i], y.elements[i])) return false;
      return kind === "list" || equals(x.tail, y.tail);
    }
    case "tuple": {
      const x = (a as Tuple).elements;
      const y = (b as Tuple).elements;
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!equals(x[i], y[i])) return false;
      return true;
    }
    case "map": {
      const x = mapEntries(a);
      const y = mapEntries(b);
      if (x.length !== y.length) return false;
      const unmatched = [...y];
      for (const [key, value] of x) {
        const at = unmatched.findIndex(([k]) => equals(key, k));
        if (at === -1 || !equals(value, unmatched[at][1])) return false;
        unmatched.splice(at, 1);
      }
      return true;
    }
    default:
      return otherEquals(a, b);
  }
}

function otherEquals(a: unknown, b: unknown): boolean {
  if (a instanceof Pid && b instanceof Pid) {
    return a.node.name === b.node.name && a.id === b.id && a.serial === b.serial && a.creation === b.creation;
  }
  if (a instanceof Reference && b instanceof Reference) {
    return (
      a.node.name === b.node.name &&
      a.creation === b.creation &&
      a.ids.length === b.ids.length &&
      a.ids.every((id, i) => id === b.ids[i])
    );
  }
  if (a instanceof Port && b instanceof Port) {
    return a.node.name === b.node.name && BigInt(a.id) === BigInt(b.id) && a.creation === b.creation;
  }
  if (a instanceof ExportFun && b instanceof ExportFun) {
    return a.module.name === b.module.name && a.function.name === b.function.name && a.arity === b.arity;
  }
  if (a instanceof Fun && b instanceof Fun) {
    return (
      a.arity === b.arity &&
      sameBytes(a.uniq, b.uniq) &&
      a.index === b.index &&
      a.module.name === b.module.name &&
      a.oldIndex === b.oldIndex &&
      a.oldUniq === b.oldUniq &&
      otherEquals(a.pid, b.pid) &&
      a.freeVars.length === b.freeVars.length &&
      a.freeVars.every((v, i) => equals(v, b.freeVars[i]))
    );
  }
  if (a instanceof NativeRecord && b instanceof NativeRecord) {
    // Field order and exportedness are part of a native record's identity, as in BEAM.
    return (
      a.module.name === b.module.name &&
      a.name.name === b.name.name &&
      a.exported === b.exported &&
      a.fieldNames.length === b.fieldNames.length &&
      a.fieldNames.every((field, i) => field.name === b.fieldNames[i].name) &&
      a.values.every((v, i) => equals(v, b.values[i]))
    );
  }
  if (a instanceof LocalTerm && b instanceof LocalTerm) return sameBytes(a.bytes, b.bytes);
  return false;
}
