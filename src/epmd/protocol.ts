// The epmd wire protocol (erl_dist_protocol, "EPMD Protocol"): requests are <<Length:16, Request>>; each function
// here builds or parses one message and nothing else, so client and server share them.
import { Buffer } from "node:buffer";
import { EpmdError } from "./errors.js";

export const ALIVE2_REQ = 120;
export const ALIVE2_X_RESP = 118;
export const ALIVE2_RESP = 121;
export const PORT_PLEASE2_REQ = 122;
export const PORT2_RESP = 119;
export const NAMES_REQ = 110;
export const DUMP_REQ = 100;
export const KILL_REQ = 107;
export const STOP_REQ = 115;

/** Node type byte: 77 is a normal node (OTP registers 77 even for hidden nodes), 72 a hidden C node. */
export const NODE_TYPE_NORMAL = 77;
export const NODE_TYPE_HIDDEN = 72;

/** What a node registers with epmd and what PORT_PLEASE2 answers. */
export interface NodeRegistration {
  /** The name's part before '@' (epmd knows only the local names of its host). */
  name: string;
  /** The distribution listen port. */
  port: number;
  nodeType: number;
  /** 0 = TCP/IPv4. */
  protocol: number;
  highestVersion: number;
  lowestVersion: number;
  extra: Buffer;
}

/** Frames a request with its 2-byte length. */
export function frameRequest(body: Buffer): Buffer {
  if (body.length > 0xffff) throw new RangeError("epmd requests are at most 65535 bytes");
  const out = Buffer.allocUnsafe(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

function checkName(name: string): Buffer {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0 || bytes.length > 255 || name.includes("@")) {
    throw new RangeError(`'${name}' is not a node's local name (1 to 255 bytes, without '@')`);
  }
  return bytes;
}

/** The body of ALIVE2_REQ (version 6 and up). */
export function alive2Request(reg: Omit<NodeRegistration, "extra"> & { extra?: Buffer }): Buffer {
  const name = checkName(reg.name);
  const extra = reg.extra ?? Buffer.alloc(0);
  const body = Buffer.allocUnsafe(13 + name.length + extra.length);
  let at = 0;
  body[at++] = ALIVE2_REQ;
  body.writeUInt16BE(reg.port, at);
  at += 2;
  body[at++] = reg.nodeType;
  body[at++] = reg.protocol;
  body.writeUInt16BE(reg.highestVersion, at);
  body.writeUInt16BE(reg.lowestVersion, at + 2);
  body.writeUInt16BE(name.length, at + 4);
  at += 6;
  name.copy(body, at);
  at += name.length;
  body.writeUInt16BE(extra.length, at);
  extra.copy(body, at + 2);
  return body;
}

/** Parses the registration fields that follow the tag in ALIVE2_REQ and in a successful PORT2_RESP. */
function parseRegistration(body: Buffer, at: number): NodeRegistration {
  if (body.length < at + 10) throw new EpmdError("protocol", "epmd registration data is truncated");
  const port = body.readUInt16BE(at);
  const nodeType = body[at + 2];
  const protocol = body[at + 3];
  const highestVersion = body.readUInt16BE(at + 4);
  const lowestVersion = body.readUInt16BE(at + 6);
  const nameLength = body.readUInt16BE(at + 8);
  at += 10;
  if (body.length < at + nameLength + 2) throw new EpmdError("protocol", "epmd registration name is truncated");
  const name = body.toString("utf8", at, at + nameLength);
  at += nameLength;
  const extraLength = body.readUInt16BE(at);
  at += 2;
  if (body.length < at + extraLength) throw new EpmdError("protocol", "epmd registration extra data is truncated");
  return { name, port, nodeType, protocol, highestVersion, lowestVersion, extra: Buffer.from(body.subarray(at, at + extraLength)) };
}

/** Parses an ALIVE2_REQ body (tag included), as the built-in epmd server receives it. */
export function parseAlive2Request(body: Buffer): NodeRegistration {
  if (body[0] !== ALIVE2_REQ) throw new EpmdError("protocol", "not an ALIVE2_REQ");
  return parseRegistration(body, 1);
}

/**
 * Parses the reply to ALIVE2_REQ: `{ result, creation }` once complete, or undefined while bytes are missing.
 * ALIVE2_X_RESP carries a 32-bit creation, the older ALIVE2_RESP a 16-bit one.
 */
export function parseAlive2Response(data: Buffer): { result: number; creation: number; length: number } | undefined {
  if (data.length < 2) return undefined;
  if (data[0] === ALIVE2_X_RESP) {
    if (data[1] !== 0) return { result: data[1], creation: 0, length: 2 };
    return data.length < 6 ? undefined : { result: 0, creation: data.readUInt32BE(2), length: 6 };
  }
  if (data[0] === ALIVE2_RESP) {
    if (data[1] !== 0) return { result: data[1], creation: 0, length: 2 };
    return data.length < 4 ? undefined : { result: 0, creation: data.readUInt16BE(2), length: 4 };
  }
  throw new EpmdError("protocol", `epmd answered ALIVE2_REQ with tag ${data[0]}, not ALIVE2_X_RESP or ALIVE2_RESP`);
}

/** The body of PORT_PLEASE2_REQ. */
export function portPlease2Request(name: string): Buffer {
  return Buffer.concat([Buffer.from([PORT_PLEASE2_REQ]), checkName(name)]);
}

/** Parses a complete PORT2_RESP: the registration, or undefined when the name is not registered. */
export function parsePort2Response(data: Buffer): NodeRegistration | undefined {
  if (data.length < 2 || data[0] !== PORT2_RESP) {
    throw new EpmdError("protocol", "epmd's answer to PORT_PLEASE2_REQ is not a PORT2_RESP");
  }
  if (data[1] !== 0) return undefined;
  return parseRegistration(data, 2);
}

/** A successful PORT2_RESP, as the built-in server sends it. */
export function port2Response(reg: NodeRegistration): Buffer {
  const alive = alive2Request(reg); // same fields after the tag
  const out = Buffer.allocUnsafe(alive.length + 1);
  out[0] = PORT2_RESP;
  out[1] = 0;
  alive.copy(out, 2, 1);
  return out;
}

/** One line of NAMES_RESP. */
export interface NameEntry {
  name: string;
  port: number;
}

/** Parses a complete NAMES_RESP: epmd's own port, then one "name N at port P" line per node. */
export function parseNamesResponse(data: Buffer): { epmdPort: number; names: NameEntry[] } {
  if (data.length < 4) throw new EpmdError("protocol", "epmd's NAMES_RESP is shorter than its 4-byte header");
  const names: NameEntry[] = [];
  for (const line of data.toString("utf8", 4).split("\n")) {
    if (line === "") continue;
    const match = /^name (.+) at port (\d+)$/.exec(line);
    if (!match) throw new EpmdError("protocol", `unexpected line in epmd's NAMES_RESP: ${JSON.stringify(line.slice(0, 80))}`);
    const port = Number(match[2]);
    if (port < 1 || port > 0xffff) throw new EpmdError("protocol", `epmd's NAMES_RESP lists ${JSON.stringify(match[1].slice(0, 80))} at port ${match[2].slice(0, 20)}, which is not a TCP port`);
    names.push({ name: match[1], port });
  }
  return { epmdPort: data.readUInt32BE(0), names };
}

/** A NAMES_RESP as real epmd writes it. */
export function namesResponse(epmdPort: number, names: readonly NameEntry[]): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(epmdPort, 0);
  return Buffer.concat([header, Buffer.from(names.map((n) => `name ${n.name} at port ${n.port}\n`).join(""), "utf8")]);
}
