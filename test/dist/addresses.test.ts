// Addresses as messages show them, fed strings and sockets: one spelling per IP address, and where a socket comes from.
import { Socket, createServer, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { canonicalIp, remoteOf } from "../../src/dist/addresses.js";

describe("addresses", () => {
  it("canonicalIp spells an address one way: IPv6 compressed lower case, IPv4-mapped as IPv4, brackets dropped", () => {
    expect(canonicalIp("10.1.2.3")).toBe("10.1.2.3");
    expect(canonicalIp("2001:DB8:0:0:0:0:0:7")).toBe("2001:db8::7");
    expect(canonicalIp("[2001:db8::7]")).toBe("2001:db8::7");
    expect(canonicalIp("::1")).toBe("::1");
    expect(canonicalIp("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(canonicalIp("::FFFF:a01:203")).toBe("10.1.2.3");
    expect(canonicalIp("node.example")).toBeUndefined();
    expect(canonicalIp("10.1.2")).toBeUndefined();
  });

  it("remoteOf: address:port, IPv6 in brackets; a socket that never had an address says so", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
    const client = connect((server.address() as { port: number }).port, "::1");
    const socket = await accepted;
    try {
      expect(remoteOf(socket)).toBe(`[::1]:${client.localPort}`);
    } finally {
      client.destroy();
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(remoteOf(new Socket())).toBe("an unknown address");
  });
});
