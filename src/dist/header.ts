// The normal distribution header (tag 68) and fragmented messages (tags 69 and 70), receive side: the atom cache
// that headers update and refer to, and reassembly of fragments. See erl_ext_dist "Distribution Header".
import { Buffer } from "node:buffer";
import { internForDecode, type Atom } from "../etf/types.js";
import { DistError } from "./errors.js";

export const DIST_HEADER = 68;
export const DIST_FRAG_HEADER = 69;
export const DIST_FRAG_CONT = 70;

/** A connection's receive-side atom cache: 8 segments of 256 entries. */
export type AtomCache = Array<Atom | undefined>;

export function newAtomCache(): AtomCache {
  return new Array<Atom | undefined>(2048).fill(undefined);
}

function bad(detail: string): never {
  throw new DistError("protocol", `malformed distribution header: ${detail}`);
}

/**
 * Reads the atom cache part of a header at `offset` (the NumberOfAtomCacheRefs byte), updating `cache` with new
 * entries, and puts the atoms in reference order (what ATOM_CACHE_REF indexes) into `refs`, resized to their number.
 * Returns the offset after the header. (`refs` is the caller's so that a connection reuses one array per packet.)
 */
export function readAtomCacheRefs(packet: Buffer, offset: number, cache: AtomCache, refs: Atom[]): number {
  if (offset >= packet.length) bad("it ends before NumberOfAtomCacheRefs");
  const count = packet[offset++];
  if (refs.length !== count) refs.length = count; // (a packet usually refers to as many atoms as the one before)
  if (count === 0) return offset;
  const flagBytes = (count >> 1) + 1;
  if (offset + flagBytes > packet.length) bad("the flags are truncated");
  const flags = offset;
  offset += flagBytes;
  // Each reference has a 4-bit flag, two to a byte, low nibble first; the one after the last says "long atoms".
  const longAtoms = ((packet[flags + (count >> 1)] >> ((count & 1) * 4)) & 1) === 1;
  for (let i = 0; i < count; i++) {
    const flag = (packet[flags + (i >> 1)] >> ((i & 1) * 4)) & 0xf;
    if (offset >= packet.length) bad("an atom cache reference is truncated");
    const index = ((flag & 7) << 8) | packet[offset++];
    if (flag & 8) {
      let length: number;
      if (longAtoms) {
        if (offset + 2 > packet.length) bad("an atom length is truncated");
        length = (packet[offset] << 8) | packet[offset + 1];
        offset += 2;
      } else {
        if (offset >= packet.length) bad("an atom length is truncated");
        length = packet[offset++];
      }
      if (offset + length > packet.length) bad("an atom's text is truncated");
      const text = packet.toString("utf8", offset, offset + length);
      offset += length;
      cache[index] = internForDecode(text);
    }
    const atom = cache[index];
    if (atom === undefined) bad(`reference ${i} names atom cache entry ${index}, which was never filled`);
    refs[i] = atom;
  }
  return offset;
}

/** A fragmented message being reassembled. */
interface Sequence {
  refs: Atom[];
  parts: Buffer[];
  size: number;
  nextFragment: bigint;
}

/**
 * Reassembles fragmented messages. Bounded: at most `maxSequences` in flight and `maxSize` bytes per message;
 * beyond either, the connection is at fault (DistError).
 */
export class Reassembler {
  private readonly sequences = new Map<bigint, Sequence>();

  constructor(
    private readonly maxSize: number,
    private readonly maxSequences = 4096,
  ) {}

  /** The first fragment (tag 69). Returns the whole message when it is also the last fragment. */
  start(packet: Buffer, cache: AtomCache): { refs: Atom[]; body: Buffer } | undefined {
    if (packet.length < 17) bad("a fragment header is truncated");
    const sequence = packet.readBigUInt64BE(1);
    const fragment = packet.readBigUInt64BE(9);
    if (fragment < 1n) bad("fragment ids count down to 1");
    const refs: Atom[] = []; // kept with the sequence until its last fragment
    const offset = readAtomCacheRefs(packet, 17, cache, refs);
    const data = packet.subarray(offset);
    if (fragment === 1n) return { refs, body: data };
    if (this.sequences.has(sequence)) bad(`fragment sequence ${sequence} started twice`);
    if (this.sequences.size >= this.maxSequences) bad(`more than ${this.maxSequences} fragmented messages in flight`);
    this.sequences.set(sequence, { refs, parts: [data], size: data.length, nextFragment: fragment - 1n });
    return undefined;
  }

  /** A continuation fragment (tag 70). Returns the whole message with its last fragment. */
  continue(packet: Buffer): { refs: Atom[]; body: Buffer } | undefined {
    if (packet.length < 17) bad("a fragment header is truncated");
    const sequenceId = packet.readBigUInt64BE(1);
    const fragment = packet.readBigUInt64BE(9);
    const sequence = this.sequences.get(sequenceId);
    if (!sequence) bad(`fragment of unknown sequence ${sequenceId}`);
    if (fragment !== sequence.nextFragment) bad(`fragment ${fragment} of sequence ${sequenceId} out of order`);
    const data = packet.subarray(17);
    sequence.size += data.length;
    if (sequence.size > this.maxSize) bad(`a fragmented message exceeds ${this.maxSize} bytes`);
    sequence.parts.push(data);
    if (fragment > 1n) {
      sequence.nextFragment = fragment - 1n;
      return undefined;
    }
    this.sequences.delete(sequenceId);
    return { refs: sequence.refs, body: Buffer.concat(sequence.parts, sequence.size) };
  }
}
