// Distribution capability flags (erl_dist_protocol "Distribution Flags"), as 64-bit bigints. Where the OTP 25
// document is wrong (MANDATORY_25_DIGEST) the value follows OTP's code; see shared/reference/README.md.
import type { EncodeOptions } from "../etf/index.js";

export const DFLAG = {
  PUBLISHED: 0x1n,
  ATOM_CACHE: 0x2n,
  EXTENDED_REFERENCES: 0x4n,
  DIST_MONITOR: 0x8n,
  FUN_TAGS: 0x10n,
  DIST_MONITOR_NAME: 0x20n,
  HIDDEN_ATOM_CACHE: 0x40n,
  NEW_FUN_TAGS: 0x80n,
  EXTENDED_PIDS_PORTS: 0x100n,
  EXPORT_PTR_TAG: 0x200n,
  BIT_BINARIES: 0x400n,
  NEW_FLOATS: 0x800n,
  UNICODE_IO: 0x1000n,
  DIST_HDR_ATOM_CACHE: 0x2000n,
  SMALL_ATOM_TAGS: 0x4000n,
  UTF8_ATOMS: 0x10000n,
  MAP_TAG: 0x20000n,
  BIG_CREATION: 0x40000n,
  SEND_SENDER: 0x80000n,
  BIG_SEQTRACE_LABELS: 0x100000n,
  EXIT_PAYLOAD: 0x400000n,
  FRAGMENTS: 0x800000n,
  HANDSHAKE_23: 0x1000000n,
  UNLINK_ID: 0x2000000n,
  MANDATORY_25_DIGEST: 0x4000000n, // bit 26 in OTP's code; the OTP 25 document's "1 bsl 36" is an error
  SPAWN: 1n << 32n,
  NAME_ME: 1n << 33n,
  V4_NC: 1n << 34n,
  ALIAS: 1n << 35n,
  ALTACT_SIG: 1n << 37n, // OTP 28: ALTACT_SIG_SEND (alias sends, exit signals to aliases, priority messages)
  NATIVE_RECORDS: 1n << 38n, // OTP 29: native records (RECORD_EXT) in terms
} as const;

/** What OTP 25 requires of a peer (its DFLAG_DIST_MANDATORY). */
export const MANDATORY_OTP25 =
  DFLAG.EXTENDED_REFERENCES |
  DFLAG.FUN_TAGS |
  DFLAG.NEW_FUN_TAGS |
  DFLAG.EXTENDED_PIDS_PORTS |
  DFLAG.EXPORT_PTR_TAG |
  DFLAG.BIT_BINARIES |
  DFLAG.NEW_FLOATS |
  DFLAG.UTF8_ATOMS |
  DFLAG.MAP_TAG |
  DFLAG.BIG_CREATION |
  DFLAG.HANDSHAKE_23;

/** Added to the mandatory set by OTP 26 (so 27 and 28 too): advertised always. */
export const MANDATORY_OTP26 = MANDATORY_OTP25 | DFLAG.V4_NC | DFLAG.UNLINK_ID;

/**
 * What erldist advertises: the OTP 26 mandatory set plus the capabilities the connection layer handles, including
 * distribution headers with the atom cache, fragmented messages, and spawn requests (erldist sends them for
 * erpc, and answers incoming ones with an error: it runs no Erlang code).
 */
export const ERLDIST_FLAGS =
  MANDATORY_OTP26 |
  DFLAG.DIST_HDR_ATOM_CACHE |
  DFLAG.FRAGMENTS |
  DFLAG.DIST_MONITOR |
  DFLAG.DIST_MONITOR_NAME |
  DFLAG.SMALL_ATOM_TAGS |
  DFLAG.UNICODE_IO |
  DFLAG.SEND_SENDER |
  DFLAG.BIG_SEQTRACE_LABELS |
  DFLAG.EXIT_PAYLOAD |
  DFLAG.SPAWN |
  DFLAG.ALIAS |
  DFLAG.ALTACT_SIG |
  DFLAG.NATIVE_RECORDS |
  DFLAG.MANDATORY_25_DIGEST;

/**
 * How terms are encoded for a peer, from the flags both sides share: ports as V4_PORT_EXT when it has V4_NC (as OTP
 * 26+ sends them), and native records only when it has NATIVE_RECORDS (OTP 29+); otherwise encoding one fails
 * with an EncodeError that names the peer.
 */
export function encodeOptionsFor(flags: bigint, peerName: string): EncodeOptions {
  const nativeRecords = (flags & DFLAG.NATIVE_RECORDS) !== 0n;
  return {
    ports: (flags & DFLAG.V4_NC) !== 0n ? "v4" : "new_port",
    nativeRecords,
    receiver: nativeRecords ? peerName : `${peerName}, which did not advertise DFLAG_NATIVE_RECORDS (it runs OTP 28 or older)`,
  };
}

/** Names of the flags set in `flags`, for error messages and status pages. */
export function flagNames(flags: bigint): string[] {
  return Object.entries(DFLAG)
    .filter(([, bit]) => (flags & bit) !== 0n)
    .map(([name]) => name);
}
