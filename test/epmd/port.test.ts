// ERL_EPMD_PORT, read once for the client, the built-in server and the command: the default, a port, and the
// values that are not a port (refused with a RangeError that names the variable, rather than used as some port).
import { describe, expect, it } from "vitest";
import { DEFAULT_EPMD_PORT, EpmdServer, defaultEpmdPort, epmdPortFromEnv } from "../../src/epmd/index.js";

describe("epmdPortFromEnv", () => {
  it("is 4369 when ERL_EPMD_PORT is unset or empty", () => {
    expect(DEFAULT_EPMD_PORT).toBe(4369);
    expect(epmdPortFromEnv({})).toBe(4369);
    expect(epmdPortFromEnv({ ERL_EPMD_PORT: "" })).toBe(4369);
  });

  it("reads a port number", () => {
    expect(epmdPortFromEnv({ ERL_EPMD_PORT: "4400" })).toBe(4400);
    expect(epmdPortFromEnv({ ERL_EPMD_PORT: "1" })).toBe(1);
    expect(epmdPortFromEnv({ ERL_EPMD_PORT: "65535" })).toBe(65535);
  });

  it.each(["nope", "0", "65536", "-1", "43.5", "4369x"])("refuses ERL_EPMD_PORT=%j with a RangeError", (value) => {
    expect(() => epmdPortFromEnv({ ERL_EPMD_PORT: value })).toThrow(RangeError);
    expect(() => epmdPortFromEnv({ ERL_EPMD_PORT: value })).toThrow(`ERL_EPMD_PORT must be a TCP port number, not '${value}'`);
  });

  it("is what defaultEpmdPort, its former name, still is", () => {
    expect(defaultEpmdPort).toBe(epmdPortFromEnv);
  });

  it("is what the built-in server checks when it is given no port", async () => {
    const saved = process.env.ERL_EPMD_PORT;
    process.env.ERL_EPMD_PORT = "not-a-port";
    try {
      await expect(EpmdServer.start()).rejects.toThrow("ERL_EPMD_PORT must be a TCP port number, not 'not-a-port'");
    } finally {
      if (saved === undefined) delete process.env.ERL_EPMD_PORT;
      else process.env.ERL_EPMD_PORT = saved;
    }
  });
});
