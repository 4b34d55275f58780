// The epmd message codecs on their own, including the forms today's epmd no longer sends (ALIVE2_RESP).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EpmdError } from "../../src/epmd/index.js";
import {
  alive2Request,
  namesResponse,
  parseAlive2Request,
  parseAlive2Response,
  parseNamesResponse,
  parsePort2Response,
  port2Response,
} from "../../src/epmd/protocol.js";

describe("epmd protocol", () => {
  it("ALIVE2_X_RESP (32-bit creation) and the older ALIVE2_RESP (16-bit) both parse, complete or not", () => {
    expect(parseAlive2Response(Buffer.from([118, 0, 0x12, 0x34, 0x56, 0x78]))).toEqual({ result: 0, creation: 0x12345678, length: 6 });
    expect(parseAlive2Response(Buffer.from([118, 0, 0x12]))).toBeUndefined();
    expect(parseAlive2Response(Buffer.from([121, 0, 0x00, 0x03]))).toEqual({ result: 0, creation: 3, length: 4 });
    expect(parseAlive2Response(Buffer.from([121, 1]))).toEqual({ result: 1, creation: 0, length: 2 });
    expect(() => parseAlive2Response(Buffer.from([42, 0]))).toThrow(EpmdError);
  });

  it("ALIVE2_REQ and PORT2_RESP carry the same registration both ways", () => {
    const registration = { name: "app", port: 4370, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 5, extra: Buffer.from([1]) };
    expect(parseAlive2Request(alive2Request(registration))).toEqual(registration);
    expect(parsePort2Response(port2Response(registration))).toEqual(registration);
    expect(parsePort2Response(Buffer.from([119, 1]))).toBeUndefined();
    expect(() => parsePort2Response(Buffer.from([119, 0, 1]))).toThrow(EpmdError);
    expect(() => alive2Request({ ...registration, name: "a@b" })).toThrow(RangeError);
  });

  it("NAMES_RESP round-trips and refuses lines it does not know", () => {
    const names = [{ name: "a", port: 1 }, { name: "ünï", port: 65535 }];
    expect(parseNamesResponse(namesResponse(4369, names))).toEqual({ epmdPort: 4369, names });
    expect(() => parseNamesResponse(Buffer.concat([Buffer.alloc(4), Buffer.from("garbage\n")]))).toThrow(EpmdError);
  });

  it("fuzz: any bytes, and valid NAMES_RESPs with bytes changed, parse or fail with an EpmdError (the epmd scan reads them from any host)", () => {
    const names = fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }).filter((n) => !/[\n@ ]/.test(n)), port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 8 });
    const mutated = fc.tuple(names, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })).map(([list, edits]) => {
      const bytes = Buffer.from(namesResponse(4369, list));
      for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return bytes;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), mutated), (bytes) => {
        try {
          const parsed = parseNamesResponse(bytes);
          for (const entry of parsed.names) expect(entry.port >= 1 && entry.port <= 0xffff).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(EpmdError);
        }
      }),
      { numRuns: 20_000, seed: 5 },
    );
  });
});
