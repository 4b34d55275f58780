// The control tuples a connection keeps encoded for repeated sends: a key is kept from its second send among the
// last sixteen keys, its bytes are exactly what the tuple encodes to, equal pids and references are the same key,
// anything else (kind, flags, sender, target) is another, and the oldest key gives way first.
import { describe, expect, it } from "vitest";
import { CONTROL_TAG } from "../../src/dist/control.js";
import { MessageControls, type MessageTarget } from "../../src/dist/message-controls.js";
import { EncodedTerm } from "../../src/etf/encoded-term.js";
import { Pid, Reference, Tuple, atom, encodeBody, encodeFrameInto, tuple, type Encodable } from "../../src/etf/index.js";

const node = atom("peer@host");
const me = new Pid(atom("me@host"), 1, 0, 7);
const them = new Pid(node, 2, 0, 9);
const name = atom("inbox");
const alias = new Reference(node, 9, [1, 2, 3]);
const { REG_SEND, SEND_SENDER, ALIAS_SEND, ALTACT_SIG_SEND } = CONTROL_TAG;

/** The bytes a control (tuple or kept) writes in a frame, as the connection's writer writes it. */
function written(control: Encodable): Buffer {
  const target = Buffer.alloc(256);
  const end = encodeFrameInto(target, 0, Buffer.alloc(0), control, undefined, false) as number;
  return target.subarray(4, end);
}

describe("message controls", () => {
  it("are the tuple itself on a first send, then bytes that write exactly as the tuple does", () => {
    const controls = new MessageControls(undefined);
    const cases: Array<[number, number, Pid, MessageTarget, Tuple<Encodable>]> = [
      [REG_SEND, 0, me, name, tuple(REG_SEND, me, atom(""), name)],
      [SEND_SENDER, 0, me, them, tuple(SEND_SENDER, me, them)],
      [ALIAS_SEND, 0, me, alias, tuple(ALIAS_SEND, me, alias)],
      [ALTACT_SIG_SEND, 3, me, alias, tuple(ALTACT_SIG_SEND, 3, me, alias)],
    ];
    for (const [tag, flags, from, to, expected] of cases) {
      const first = controls.control(tag, flags, from, to);
      expect(first).toEqual(expected);
      expect(controls.control(tag, flags, from, to)).toEqual(expected); // seen twice: encoded now, sent as the tuple
      const kept = controls.control(tag, flags, from, to);
      expect(kept).toBeInstanceOf(EncodedTerm);
      expect(Buffer.from((kept as unknown as EncodedTerm).bytes)).toEqual(encodeBody(expected));
      expect(written(kept)).toEqual(written(expected));
      expect(controls.control(tag, flags, from, to)).toBe(kept);
    }
  });

  it("take equal pids and references for the same key, and any other field for another", () => {
    const controls = new MessageControls(undefined);
    controls.control(SEND_SENDER, 0, me, them);
    controls.control(SEND_SENDER, 0, me, them);
    const kept = controls.control(SEND_SENDER, 0, me, them);
    expect(controls.control(SEND_SENDER, 0, new Pid(me.node, 1, 0, 7), new Pid(node, 2, 0, 9))).toBe(kept);
    for (const other of [new Pid(node, 3, 0, 9), new Pid(node, 2, 1, 9), new Pid(node, 2, 0, 8), new Pid(atom("else@host"), 2, 0, 9)]) {
      expect(controls.control(SEND_SENDER, 0, me, other)).toEqual(tuple(SEND_SENDER, me, other));
    }
    expect(controls.control(SEND_SENDER, 0, them, them)).toEqual(tuple(SEND_SENDER, them, them));
    expect(controls.control(ALIAS_SEND, 0, me, them)).toEqual(tuple(ALIAS_SEND, me, them));

    controls.control(ALTACT_SIG_SEND, 1, me, alias);
    controls.control(ALTACT_SIG_SEND, 1, me, alias);
    const keptAlias = controls.control(ALTACT_SIG_SEND, 1, me, alias);
    expect(keptAlias).toBeInstanceOf(EncodedTerm);
    expect(controls.control(ALTACT_SIG_SEND, 1, me, new Reference(node, 9, [1, 2, 3]))).toBe(keptAlias);
    expect(controls.control(ALTACT_SIG_SEND, 5, me, alias)).toEqual(tuple(ALTACT_SIG_SEND, 5, me, alias));
    for (const other of [new Reference(node, 9, [1, 2, 4]), new Reference(node, 8, [1, 2, 3]), new Reference(node, 9, [1, 2])]) {
      expect(controls.control(ALTACT_SIG_SEND, 1, me, other)).toEqual(tuple(ALTACT_SIG_SEND, 1, me, other));
    }
  });

  it("keep keys that come back among the last sixteen, interleaved or not, and let the oldest go first", () => {
    const controls = new MessageControls(undefined);
    const targets = Array.from({ length: 16 }, (_, i) => atom(`name_${i}`));
    for (const round of [0, 1]) for (const to of targets) expect(controls.control(REG_SEND, 0, me, to), `round ${round}`).toBeInstanceOf(Tuple);
    for (const to of targets) expect(controls.control(REG_SEND, 0, me, to)).toBeInstanceOf(EncodedTerm);
    // A seventeenth key takes the place of the oldest (name_0), which starts over.
    controls.control(REG_SEND, 0, me, atom("name_16"));
    expect(controls.control(REG_SEND, 0, me, targets[1])).toBeInstanceOf(EncodedTerm);
    expect(controls.control(REG_SEND, 0, me, targets[0])).toBeInstanceOf(Tuple);
    // Seventeen keys in turn never come back in time: each is sent as a tuple, every time.
    const rotating = new MessageControls(undefined);
    const many = Array.from({ length: 17 }, (_, i) => atom(`many_${i}`));
    for (let round = 0; round < 3; round++) for (const to of many) expect(rotating.control(REG_SEND, 0, me, to)).toBeInstanceOf(Tuple);
  });

  it("encode with the connection's options, and never throw: a tuple that cannot be encoded is not kept", () => {
    const controls = new MessageControls({ nilAsNull: true });
    for (let i = 0; i < 2; i++) controls.control(SEND_SENDER, 0, me, them);
    const kept = controls.control(SEND_SENDER, 0, me, them) as unknown as EncodedTerm;
    expect(Buffer.from(kept.bytes)).toEqual(encodeBody(tuple(SEND_SENDER, me, them), { nilAsNull: true }));
    const bad = new Pid(node, -1, 0, 9); // the writer rejects its send with an EncodeError
    for (let i = 0; i < 3; i++) expect(controls.control(SEND_SENDER, 0, me, bad)).toEqual(tuple(SEND_SENDER, me, bad));
  });
});
