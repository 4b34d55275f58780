// Large messages: 64 MiB binaries each way between erldist and real erl, fragmented in both directions.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tuple, atom, tuple } from "../../src/etf/index.js";
import { Node } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import type { Epmd } from "../support/epmd.js";
import { startErlAndNode, stopErlAndNode } from "../support/erl-and-node.js";

let epmd: Epmd;
let beam: BeamNode;
let node: Node;
const SIZE = 64 * 1024 * 1024;

beforeAll(async () => {
  ({ epmd, beam, node } = await startErlAndNode("bulk"));
});

afterAll(() => stopErlAndNode({ epmd, beam, node }));

describe("64 MiB messages", () => {
  it("erldist -> BEAM: arrives whole (checked by MD5 on the BEAM side), sent as fragments", async () => {
    const data = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i += 4096) data.writeUInt32BE(i, i);
    const expected = createHash("md5").update(data).digest();
    await beam.eval(
      "register(bulk_sink, spawn(fun() -> receive {bulk, Bin} -> ets:insert(bulk_seen, {md5, byte_size(Bin), erlang:md5(Bin)}) end end)), ets:new(bulk_seen, [named_table, public]), ok.",
    );
    const p = node.spawn();
    await p.send(["bulk_sink", beam.name], tuple(atom("bulk"), data));
    let seen: Tuple[] = [];
    for (let i = 0; i < 600 && seen.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = (await beam.eval("ets:lookup(bulk_seen, md5).")) as Tuple[];
    }
    expect(seen[0].elements[1]).toBe(SIZE);
    expect(seen[0].elements[2]).toEqual(expected);
    expect(node.connectionStats(beam.name)?.fragmentsOut).toBeGreaterThan(1000);
    p.exit();
  }, 60_000);

  it("BEAM -> erldist: arrives whole (BEAM fragments it)", async () => {
    const p = node.spawn();
    node.register("bulk_in", p);
    const md5 = (await beam.eval(
      `Bin = binary:copy(<<"0123456789abcdef">>, ${SIZE / 16}), {bulk_in, '${node.name}'} ! {bulk, Bin}, erlang:md5(Bin).`,
    )) as Buffer;
    const message = (await p.receive(undefined, { timeout: 60_000 })) as Tuple;
    const data = message.elements[1] as Buffer;
    expect(data.length).toBe(SIZE);
    expect(createHash("md5").update(data).digest()).toEqual(md5);
    expect(node.connectionStats(beam.name)?.fragmentsIn).toBeGreaterThan(1000);
    p.exit();
  }, 60_000);
});

describe("large binaries are sent without copying, safely", () => {
  it("a binary changed after its send resolves arrives as it was when sent", async () => {
    await beam.eval(
      "ets:new(safe_seen, [named_table, public]), register(safe_sink, spawn(fun Loop() -> receive {bin, I, Bin} -> ets:insert(safe_seen, {I, erlang:md5(Bin)}), Loop() end end)), ok.",
    );
    const p = node.spawn();
    const data = Buffer.alloc(1 << 20, 1);
    const expected: Buffer[] = [];
    for (let i = 0; i < 8; i++) {
      data.fill(i);
      expected.push(createHash("md5").update(data).digest());
      await p.send(["safe_sink", beam.name], tuple(atom("bin"), i, data));
    }
    data.fill(255); // after the last send resolved
    await expect.poll(() => beam.eval("ets:info(safe_seen, size)."), { timeout: 20_000 }).toBe(8);
    for (let i = 0; i < 8; i++) {
      const [row] = (await beam.eval(`ets:lookup(safe_seen, ${i}).`)) as Tuple[];
      expect(row.elements[1]).toEqual(expected[i]);
    }
    p.exit();
  }, 60_000);
});
