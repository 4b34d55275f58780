// The distribution handshake, version 6 (OTP 23+), as initiator (A) and acceptor (B), with MD5 cookie
// challenge/response. Messages are {packet, 2} over TCP, {packet, 4} inside TLS (inet_tls_dist keeps its socket in
// {packet, 4} from the start). See erl_dist_protocol "Distribution Handshake" and OTP's dist_util.
import { Buffer } from "node:buffer";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import { watchDeadline } from "../common/deadline.js";
import { DistError } from "./errors.js";
import { DFLAG, MANDATORY_OTP25, flagNames } from "./flags.js";
import { PacketReader } from "./packets.js";

/** What this node says about itself in the handshake. */
export interface HandshakeIdentity {
  /** Full node name, `alive@host`. */
  name: string;
  /** The cookie, used for both directions (in_cookie and out_cookie). */
  cookie: string;
  /** This node incarnation's creation (32 bits, not 0). */
  creation: number;
  /** Capability flags to advertise; PUBLISHED set means a visible node. */
  flags: bigint;
  /** Milliseconds the whole handshake may take (default 7000, OTP's net_setuptime). */
  timeout?: number;
  /** Bytes of each handshake message's length prefix: 2 over TCP (default), 4 inside TLS, as inet_tls_dist. */
  packetHeader?: 2 | 4;
  signal?: AbortSignal;
}

/** The outcome of a successful handshake. */
export interface Handshake {
  peerName: string;
  peerFlags: bigint;
  peerCreation: number;
  /** The flags both sides have: what the connection may use. */
  flags: bigint;
  /** Bytes that arrived after the handshake (the first distribution packets), for the connection. */
  rest: Buffer;
}

/** The status an acceptor answers a connecting node with (step 3). */
export type AcceptStatus = "ok" | "ok_simultaneous" | "nok" | "not_allowed" | "alive";

/** The digest of a challenge: MD5 of the cookie followed by the challenge in decimal (OTP's gen_digest). */
export function digest(challenge: number, cookie: string): Buffer {
  return createHash("md5").update(cookie).update(String(challenge >>> 0)).digest();
}

function challenge(): number {
  return randomBytes(4).readUInt32BE(0);
}

function packet(body: Buffer, header: 2 | 4): Buffer {
  const out = Buffer.allocUnsafe(header + body.length);
  if (header === 2) out.writeUInt16BE(body.length, 0);
  else out.writeUInt32BE(body.length, 0);
  body.copy(out, header);
  return out;
}

function nameMessage(identity: HandshakeIdentity, withChallenge?: number): Buffer {
  const name = Buffer.from(identity.name, "utf8");
  const fixed = withChallenge === undefined ? 15 : 19;
  const body = Buffer.allocUnsafe(fixed + name.length);
  body[0] = 0x4e; // 'N'
  body.writeBigUInt64BE(identity.flags, 1);
  let at = 9;
  if (withChallenge !== undefined) {
    body.writeUInt32BE(withChallenge, at);
    at += 4;
  }
  body.writeUInt32BE(identity.creation, at);
  body.writeUInt16BE(name.length, at + 4);
  name.copy(body, at + 6);
  return body;
}

function parseNameMessage(body: Buffer, withChallenge: boolean): { flags: bigint; challenge: number; creation: number; name: string } {
  const fixed = withChallenge ? 19 : 15;
  if (body.length < fixed || body[0] !== 0x4e) {
    const what = withChallenge ? "challenge" : "name";
    if (body[0] === 0x6e) {
      throw new DistError("incompatible", `the peer sent the old version 5 ${what} message: it is older than OTP 23, which erldist does not support`);
    }
    throw new DistError("protocol", `expected the version 6 ${what} message ('N'), got ${body.length} bytes starting with ${body[0]}`);
  }
  const flags = body.readBigUInt64BE(1);
  let at = 9;
  let ch = 0;
  if (withChallenge) {
    ch = body.readUInt32BE(at);
    at += 4;
  }
  const creation = body.readUInt32BE(at);
  const length = body.readUInt16BE(at + 4);
  if (body.length < at + 6 + length) throw new DistError("protocol", "the node name in the handshake is truncated");
  return { flags, challenge: ch, creation, name: body.toString("utf8", at + 6, at + 6 + length) };
}

function checkPeerFlags(flags: bigint, peer: string): void {
  const missing = MANDATORY_OTP25 & ~flags;
  if (missing !== 0n) {
    throw new DistError(
      "incompatible",
      `${peer} lacks capabilities OTP 25 requires (${flagNames(missing).join(", ")}): it is an older or incomplete node`,
    );
  }
}

function sameDigest(received: Buffer, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

function outcome(theirs: { name: string; flags: bigint; creation: number }, identity: HandshakeIdentity, reader: PacketReader): Handshake {
  return {
    peerName: theirs.name,
    peerFlags: theirs.flags,
    peerCreation: theirs.creation,
    flags: theirs.flags & identity.flags,
    rest: reader.takeRest(),
  };
}

/** Runs `steps` with the handshake's timeout and AbortSignal applied to every read; tidies up either way. */
async function guarded<T>(
  socket: Socket,
  identity: HandshakeIdentity,
  steps: (reader: PacketReader, send: (body: Buffer) => void) => Promise<T>,
): Promise<T> {
  const header = identity.packetHeader ?? 2;
  const reader = new PacketReader(socket, { header });
  const send = (body: Buffer): void => void socket.write(packet(body, header));
  const timeout = identity.timeout ?? 7000;
  // The reader keeps the failure: the read in progress (or the next one) rejects with it.
  const stop = watchDeadline({ timeout, signal: identity.signal }, (expiry) =>
    reader.fail(
      expiry.why === "timeout"
        ? new DistError("timeout", `the handshake did not complete within ${timeout} ms`)
        : new DistError("aborted", "the handshake was aborted", { cause: expiry.reason }),
    ),
  );
  try {
    return await steps(reader, send);
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    stop();
  }
}

/**
 * Runs the handshake as the connecting side (A) on a connected socket. `expectedPeer`, when given, must be the
 * name the peer presents. Resolves when the connection is up; rejects with a DistError (the socket destroyed).
 */
export function initiateHandshake(socket: Socket, identity: HandshakeIdentity, expectedPeer?: string): Promise<Handshake> {
  return guarded(socket, identity, async (reader, send) => {
    const peer = expectedPeer ?? "the peer";
    send(nameMessage(identity));
    let status = (await reader.next()).toString("latin1");
    if (!status.startsWith("s")) throw new DistError("protocol", `expected a status message from ${peer}`);
    status = status.slice(1);
    switch (status) {
      case "ok":
      case "ok_simultaneous":
        break;
      case "nok":
        throw new DistError("nok", `${peer} is connecting to this node at the same time and its attempt wins (simultaneous connect)`);
      case "not_allowed":
        throw new DistError("not_allowed", `${peer} does not allow connections from ${identity.name}`);
      case "alive":
        // We are connecting, so any connection the peer still holds for our name is stale: ask it to drop that one.
        send(Buffer.from("strue", "latin1"));
        break;
      default:
        if (status.startsWith("named:")) {
          throw new DistError("protocol", `${peer} assigned a dynamic name, which erldist never asks for`);
        }
        throw new DistError("protocol", `${peer} answered with an unknown status '${status.slice(0, 40)}'`);
    }
    const theirs = parseNameMessage(await reader.next(), true);
    if (expectedPeer !== undefined && theirs.name !== expectedPeer) {
      throw new DistError("name_mismatch", `connected to ${expectedPeer}, but the node there is ${theirs.name}`);
    }
    checkPeerFlags(theirs.flags, theirs.name);
    const ours = challenge();
    const reply = Buffer.allocUnsafe(21);
    reply[0] = 0x72; // 'r'
    reply.writeUInt32BE(ours, 1);
    digest(theirs.challenge, identity.cookie).copy(reply, 5);
    send(reply);
    let ack: Buffer;
    try {
      ack = await reader.next();
    } catch (err) {
      if (err instanceof DistError && err.code === "closed") {
        throw new DistError(
          "cookie_rejected",
          `${theirs.name} rejected this node's cookie (it closed the connection after the challenge reply): ` +
            "both nodes must use the same cookie",
          { cause: err },
        );
      }
      throw err;
    }
    if (ack.length < 17 || ack[0] !== 0x61) throw new DistError("protocol", `expected the challenge ack ('a') from ${theirs.name}`);
    if (!sameDigest(ack.subarray(1, 17), digest(ours, identity.cookie))) {
      throw new DistError("cookie_rejected", `${theirs.name} does not know this node's cookie (its digest is wrong): both nodes must use the same cookie`);
    }
    return outcome(theirs, identity, reader);
  });
}

/**
 * Runs the handshake as the accepting side (B) on an accepted socket. `decide` chooses the status for the node
 * that connects (default `ok`). Resolves when the connection is up; rejects with a DistError (socket destroyed).
 */
export function acceptHandshake(
  socket: Socket,
  identity: HandshakeIdentity,
  decide: (peerName: string, peerFlags: bigint) => AcceptStatus = () => "ok",
): Promise<Handshake> {
  return guarded(socket, identity, async (reader, send) => {
    const theirs = parseNameMessage(await reader.next(), false);
    if ((theirs.flags & DFLAG.NAME_ME) !== 0n) {
      send(Buffer.from("snot_allowed", "latin1"));
      throw new DistError("not_allowed", `${theirs.name} asked for a dynamic name, which erldist does not hand out`);
    }
    checkPeerFlags(theirs.flags, theirs.name);
    const status = decide(theirs.name, theirs.flags);
    send(Buffer.from(`s${status}`, "latin1"));
    if (status === "nok" || status === "not_allowed") {
      throw new DistError(status, `refused the connection from ${theirs.name} (${status})`);
    }
    if (status === "alive") {
      const answer = (await reader.next()).toString("latin1");
      if (answer !== "strue") throw new DistError("alive", `${theirs.name} chose not to replace its existing connection`);
    }
    const ours = challenge();
    send(nameMessage(identity, ours));
    const reply = await reader.next();
    if (reply.length < 21 || reply[0] !== 0x72) throw new DistError("protocol", `expected the challenge reply ('r') from ${theirs.name}`);
    if (!sameDigest(reply.subarray(5, 21), digest(ours, identity.cookie))) {
      throw new DistError(
        "cookie_rejected",
        `connection attempt from ${theirs.name} rejected: its cookie is not this node's (wrong challenge reply)`,
      );
    }
    const ack = Buffer.allocUnsafe(17);
    ack[0] = 0x61; // 'a'
    digest(reply.readUInt32BE(1), identity.cookie).copy(ack, 1);
    send(ack);
    return outcome(theirs, identity, reader);
  });
}
