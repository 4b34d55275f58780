// The packet decoder fed bytes: pass-through packets, distribution headers that fill and then use the atom cache,
// fragments put back together, the node's terms applied to payloads only, and packets that are not messages.
import { describe, expect, it } from "vitest";
import { DistError, PacketDecoder } from "../../src/dist/index.js";
import { Pid, atom, encode, tuple, type Encodable } from "../../src/etf/index.js";

const from = new Pid(atom("peer@host"), 3, 0, 1);
const bare = (term: Encodable) => encode(term).subarray(1); // without the version byte, as in a headed packet

function decoder(options?: { binariesAsStrings?: boolean }) {
  return new PacketDecoder("peer@host", options, 1 << 20, { fragmentsIn: 0, atomCacheRefsIn: 0 });
}

/** {6, From, '', <ATOM_CACHE_REF 0>}: a REG_SEND whose name comes from the header's first reference. */
const regSendToRef0 = Buffer.concat([Buffer.from([104, 4, 97, 6]), bare(from), Buffer.from([119, 0, 82, 0])]);

function refused(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DistError);
    expect((err as DistError).code).toBe("protocol");
    return (err as DistError).message;
  }
  throw new Error("not refused");
}

describe("the packet decoder", () => {
  it("pass-through packets: <<112, 131, Control, 131, Payload>>, and a control message alone", () => {
    const d = decoder();
    const control = tuple(22, from, from);
    expect(d.decode(Buffer.concat([Buffer.from([112]), encode(control), encode("hi")]))).toEqual({ control, payload: Buffer.from("hi") });
    expect(d.decode(Buffer.concat([Buffer.from([112]), encode(tuple(1, from, from))]))).toEqual({ control: tuple(1, from, from), payload: undefined });
  });

  it("a header fills the atom cache; a later one refers to the entry without its text", () => {
    const stats = { fragmentsIn: 0, atomCacheRefsIn: 0 };
    const d = new PacketDecoder("peer@host", undefined, 1 << 20, stats);
    // One reference (flags nibble 8: new entry, segment 0; then short atoms), internal index 5, text "inbox".
    const first = Buffer.concat([Buffer.from([131, 68, 1, 0x08, 5, 5]), Buffer.from("inbox"), regSendToRef0, bare(atom("one"))]);
    const second = Buffer.concat([Buffer.from([131, 68, 1, 0x00, 5]), regSendToRef0, bare(atom("two"))]);
    expect(d.decode(first)).toEqual({ control: tuple(6, from, atom(""), atom("inbox")), payload: atom("one") });
    expect(d.decode(second)).toEqual({ control: tuple(6, from, atom(""), atom("inbox")), payload: atom("two") });
    expect(stats.atomCacheRefsIn).toBe(2);
    // A reference to an entry never filled is the peer's fault.
    expect(refused(() => decoder().decode(second))).toMatch(/never filled/);
  });

  it("fragments: nothing until the last one, then the whole message", () => {
    const stats = { fragmentsIn: 0, atomCacheRefsIn: 0 };
    const d = new PacketDecoder("peer@host", undefined, 1 << 20, stats);
    const body = Buffer.concat([bare(tuple(22, from, from)), bare(Buffer.alloc(3000, 7))]);
    const id = (sequence: number, fragment: number) => {
      const b = Buffer.alloc(16);
      b.writeBigUInt64BE(BigInt(sequence), 0);
      b.writeBigUInt64BE(BigInt(fragment), 8);
      return b;
    };
    expect(d.decode(Buffer.concat([Buffer.from([131, 69]), id(9, 2), Buffer.from([0]), body.subarray(0, 1000)]))).toBeUndefined();
    expect(d.decode(Buffer.concat([Buffer.from([131, 70]), id(9, 1), body.subarray(1000)]))).toEqual({ control: tuple(22, from, from), payload: Buffer.alloc(3000, 7) });
    expect(stats.fragmentsIn).toBe(2);
    expect(refused(() => d.decode(Buffer.concat([Buffer.from([131, 70]), id(9, 1), body])))).toMatch(/unknown sequence 9/);
  });

  it("the node's terms apply to payloads; control tuples always decode exactly", () => {
    const d = decoder({ binariesAsStrings: true });
    const decoded = d.decode(Buffer.concat([Buffer.from([112]), encode(tuple(6, from, Buffer.from("x"), atom("inbox"))), encode("héllo")]));
    expect(decoded?.payload).toBe("héllo");
    expect(decoded?.control).toEqual(tuple(6, from, Buffer.from("x"), atom("inbox")));
  });

  it("refuses what is not a distribution message, with a message that says what", () => {
    const d = decoder();
    expect(refused(() => d.decode(Buffer.from([7, 1, 2])))).toMatch(/not a distribution message \(first byte 7\)/);
    expect(refused(() => d.decode(Buffer.from([131, 99, 0])))).toMatch(/unknown distribution header tag 99/);
    expect(refused(() => d.decode(Buffer.concat([Buffer.from([112]), encode(1), encode(2), Buffer.from([131, 97])])))).toMatch(/does not decode/);
    expect(refused(() => d.decode(Buffer.from([112, 97, 1])))).toMatch(/first byte 112/); // pass-through lacking the version byte
    expect(refused(() => d.decode(Buffer.from([131, 68, 3])))).toMatch(/flags are truncated/);
  });
});
