// Text from Erlang I/O data as erl itself reads it: chardata with UTF-8 split across binaries and code points past
// latin-1 (what ~tp and io:put_chars with the unicode encoding give), and latin-1 bytes, each compared with what
// the real node's unicode:characters_to_list/2 says of the same data.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom, type Encodable, type Term } from "../../src/etf/index.js";
import { iolistToString } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd | undefined;
let beam: BeamNode;

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd });
});

afterAll(async () => {
  await beam?.stop();
  await epmd?.stop();
});

/** The text erl reads from the data in that encoding, as a JS string. */
async function erlReads(data: string, encoding: "unicode" | "latin1"): Promise<{ data: Term; text: string }> {
  const term = await beam.eval(`${data}.`);
  const chars = (await beam.call("unicode", "characters_to_list", [term as Encodable, atom(encoding)])) as number[];
  return { data: term, text: String.fromCodePoint(...chars) };
}

describe("iolistToString", () => {
  it("reads unicode chardata as erl does: code points, UTF-8 binaries, a character split between binaries", async () => {
    for (const data of ['[<<"Jos", 195>>, [<<169>>], 32, 26085, <<"本"/utf8>>]', 'io_lib:format("~tp", [{<<"José"/utf8>>, "日本"}])', '[<<>>, [[]], "abc"]']) {
      const { data: term, text } = await erlReads(data, "unicode");
      expect(iolistToString(term), data).toBe(text);
    }
  });

  it("reads latin-1 iodata as erl does: each byte one character", async () => {
    const { data: term, text } = await erlReads('[<<"Jos", 233>>, 32, [<<255, 0>>]]', "latin1");
    expect(text).toBe("José ÿ\u0000");
    expect(iolistToString(term, "latin1")).toBe(text);
    expect(iolistToString(term)).not.toBe(text); // read as UTF-8 these bytes are not José
  });

  it("keeps a string (a binary decoded as text) as it is, and refuses what is not chardata", () => {
    expect(iolistToString(["a", [98], Buffer.from("c")])).toBe("abc");
    expect(() => iolistToString([atom("x")] as unknown as Term)).toThrow(TypeError);
    expect(() => iolistToString([-1])).toThrow(/not a code point/);
  });
});
