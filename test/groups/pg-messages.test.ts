// The pg protocol's messages read from terms, on their own: each message pg sends parses to its kind with its
// fields; near misses and any other term (fast-check, shaped like pg's tuples) give undefined, never a throw.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Pid, Reference, Tuple, atom, decode, encode, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { readPgMessage } from "../../src/groups/pg-messages.js";

const scope = new Pid(atom("beam@h"), 40, 0, 3);
const member = new Pid(atom("beam@h"), 41, 0, 3);
const ref = new Reference(atom("us@h"), 1, [1, 2, 3]);
const read = (term: Encodable) => readPgMessage(decode(encode(term)));

describe("pg messages", () => {
  it("each message of the protocol parses with its fields", () => {
    expect(read(tuple(atom("discover"), scope))).toEqual({ kind: "discover", scope });
    expect(read(tuple(atom("discover"), scope, 7))).toEqual({ kind: "discover", scope }); // OTP 26's form
    expect(read(tuple(atom("$gen_cast"), tuple(atom("sync"), scope, [tuple(atom("g"), [member]), tuple(tuple(atom("room"), 1), [])])))).toEqual({
      kind: "sync",
      scope,
      groups: [
        [atom("g"), [member]],
        [tuple(atom("room"), 1), []],
      ],
    });
    expect(read(tuple(atom("join"), scope, atom("g"), member))).toEqual({ kind: "join", scope, group: atom("g"), pids: [member] });
    expect(read(tuple(atom("join"), scope, atom("g"), [member, member]))).toEqual({ kind: "join", scope, group: atom("g"), pids: [member, member] });
    expect(read(tuple(atom("leave"), scope, member, [atom("g"), atom("h")]))).toEqual({ kind: "leave", scope, pids: [member], groups: [atom("g"), atom("h")] });
    expect(read(tuple(atom("DOWN"), ref, atom("process"), tuple(atom("s"), atom("n")), atom("noproc")))).toEqual({ kind: "down", ref, reason: atom("noproc") });
    expect(read(tuple(atom("EXIT"), member, atom("normal")))).toEqual({ kind: "ignored" });
  });

  it("near misses are not pg messages", () => {
    const misses: Encodable[] = [
      tuple(atom("discover"), atom("not_a_pid")),
      tuple(atom("discover"), scope, 1, 2),
      tuple(atom("$gen_cast"), tuple(atom("sync"), scope, [tuple(atom("g"), [atom("x")])])),
      tuple(atom("$gen_cast"), tuple(atom("sync"), scope, [tuple(atom("g"), member)])),
      tuple(atom("$gen_cast"), tuple(atom("sync"), scope, atom("nolist"))),
      tuple(atom("join"), scope, atom("g")),
      tuple(atom("join"), scope, atom("g"), [member, 1]),
      tuple(atom("leave"), scope, member, atom("g")),
      tuple(atom("DOWN"), 1, atom("process"), scope, atom("r")),
      tuple(atom("bogus"), scope),
      tuple(),
      atom("discover"),
      [atom("join")],
    ];
    for (const miss of misses) expect(read(miss), String(miss)).toBeUndefined();
  });

  it("fuzz: any term shaped like pg's tuples reads as a message or as undefined, and never throws", () => {
    const tag = fc.constantFrom("discover", "$gen_cast", "sync", "join", "leave", "DOWN", "EXIT", "other").map(atom);
    const leaf = fc.oneof(fc.constant(scope), fc.constant(member), fc.constant(ref), tag, fc.integer(), fc.constant([] as Term[]));
    const term: fc.Arbitrary<Encodable> = fc.letrec<{ t: Encodable }>((tie) => ({
      t: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("t"), { maxLength: 4 }),
        fc.tuple(tag, fc.array(tie("t"), { maxLength: 4 })).map(([head, rest]) => new Tuple([head, ...(rest as Term[])])),
      ),
    })).t;
    fc.assert(
      fc.property(term, (t) => {
        const message = read(t);
        expect(message === undefined || typeof message.kind === "string").toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
