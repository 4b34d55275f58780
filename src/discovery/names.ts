// Node names from addresses, written exactly as BEAM writes them: a pod's node name is `basename@<inet:ntoa(IP)>`,
// and a name that differs by one character (upper-case hex, a different zero compression) is a different node.
import { isIPv4, isIPv6 } from "node:net";

/** The eight 16-bit groups of an IPv6 address (any valid textual form, including an embedded IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const octets = text.slice(lastColon + 1).split(".").map(Number);
    tail.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
    text = `${text.slice(0, lastColon + 1)}0:0`; // placeholders for the two groups the IPv4 tail fills
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  let groups: number[];
  if (rest === undefined) {
    groups = parse(head);
  } else {
    const left = parse(head);
    const right = parse(rest);
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  if (tail.length > 0) groups.splice(6, 2, ...tail);
  return groups;
}

function dotted(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * An IP address as `inet:ntoa/1` writes it: IPv4 dotted; IPv6 in lower-case hex with the first longest run of two or
 * more zero groups written `::`, IPv4-mapped addresses as `::ffff:a.b.c.d` and IPv4-compatible ones (all zero but the
 * last 32 bits, other than `::` and `::1`) as `::a.b.c.d`.
 */
export function formatAddress(address: string): string {
  if (isIPv4(address)) return address.split(".").map(Number).join(".");
  if (!isIPv6(address)) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  const g = ipv6Groups(address.replace(/%.*$/, ""));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0) {
    if (g[5] === 0xffff) return `::ffff:${dotted(g[6], g[7])}`;
    if (g[5] === 0 && (g[6] !== 0 || g[7] > 1)) return `::${dotted(g[6], g[7])}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((n) => n.toString(16)).join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** `basename@host`, with an IP address host written as BEAM writes it and a DNS name without its final dot. */
export function nodeNameFor(basename: string, host: string): string {
  const bare = host.endsWith(".") ? host.slice(0, -1) : host;
  return `${basename}@${isIPv4(bare) || isIPv6(bare) ? formatAddress(bare) : bare}`;
}
