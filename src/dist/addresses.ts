// Addresses as messages show them: one spelling per IP address, and where an accepted socket comes from.
import { isIP, type Socket } from "node:net";

/** An IP address in one spelling: IPv4 dotted, IPv6 compressed lower case, IPv4-mapped IPv6 as IPv4. */
export function canonicalIp(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return undefined;
  const compressed = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(compressed) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  if (mapped.length === 2) return mapped[1];
  const high = parseInt(mapped[1], 16);
  const low = parseInt(mapped[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/** Where a socket comes from, for messages: `address:port`, an IPv6 address in brackets, IPv4-mapped as IPv4. */
export function remoteOf(socket: Socket): string {
  const address = socket.remoteAddress;
  if (address === undefined) return "an unknown address";
  const ip = canonicalIp(address) ?? address;
  return `${ip.includes(":") ? `[${ip}]` : ip}:${socket.remotePort}`;
}
