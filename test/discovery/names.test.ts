// Node names from DNS answers must be written exactly as BEAM writes the address (inet:ntoa/1): a name that differs
// in one character is another node. Checked against a real erl on random addresses, zero runs and IPv4 tails included.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatAddress, nodeNameFor } from "../../src/discovery/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

let epmd: Epmd;
let beam: BeamNode;

beforeAll(async () => {
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd });
});

afterAll(async () => {
  await beam?.stop();
  await epmd?.stop();
});

/** What erl's inet:ntoa/1 writes for each address tuple. */
async function ntoa(addresses: number[][]): Promise<string[]> {
  const tuples = addresses.map((groups) => `{${groups.join(",")}}`).join(",");
  const result = (await beam.eval(`[list_to_binary(inet:ntoa(T)) || T <- [${tuples}]].`)) as Buffer[];
  return result.map((b) => b.toString("latin1"));
}

// Mostly zeros and small values, so that zero runs of every length and position (and the IPv4-mapped and
// -compatible prefixes) come up often.
const group = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(0xffff) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffff }) });
const ipv6 = fc.array(group, { minLength: 8, maxLength: 8 });

describe("addresses written as BEAM writes them", () => {
  it("IPv6: the same text as inet:ntoa/1 for 2,000 random addresses, from any textual form of the input", async () => {
    const samples = fc.sample(ipv6, { numRuns: 2000, seed: 20261125 });
    samples.push([0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0xffff, 0, 0], [0xfd00, 0, 0, 0, 0, 0, 0, 1]);
    const expected = await ntoa(samples);
    samples.forEach((groups, i) => {
      const full = groups.map((g) => g.toString(16)).join(":");
      expect(formatAddress(full), full).toBe(expected[i]);
      expect(formatAddress(full.toUpperCase()), full).toBe(expected[i]);
      // The form BEAM itself wrote (compressed, maybe with an IPv4 tail) maps to itself.
      expect(formatAddress(expected[i]), expected[i]).toBe(expected[i]);
    });
  });

  it("IPv4: dotted decimal, as inet:ntoa/1 writes it", async () => {
    const samples = fc.sample(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), { numRuns: 200, seed: 7 });
    const expected = await ntoa(samples);
    samples.forEach((octets, i) => expect(formatAddress(octets.join("."))).toBe(expected[i]));
  });

  it("node names: basename@address, and host names without the final dot", () => {
    expect(nodeNameFor("erlclu", "FD00:0:0:0:0:0:0:2")).toBe("erlclu@fd00::2");
    expect(nodeNameFor("erlclu", "10.42.0.7")).toBe("erlclu@10.42.0.7");
    expect(nodeNameFor("erlclu", "erlclu-0.erlclu-headless.erlclu.svc.cluster.local.")).toBe("erlclu@erlclu-0.erlclu-headless.erlclu.svc.cluster.local");
    expect(() => formatAddress("not-an-ip")).toThrow(/not an IP address/);
  });
});
