// The transport distribution runs over, as OTP's inet_tcp_dist and inet_tls_dist are to dist_util: how a connection
// to a peer is made, how an accepted one is made ready, the length prefix the handshake uses on it, and what its
// failures mean. The node knows only this interface; TCP (tcp-transport.ts) and TLS (tls-transport.ts) implement it.
import type { Socket } from "node:net";

/** Where a connection goes: the peer's node name (for messages), and its address. */
export interface DialTarget {
  /** The peer's node name, `alive@host`. */
  peer: string;
  /** The host part of the name: what is dialled, and what a TLS server's certificate must name by default. */
  host: string;
  port: number;
}

export interface Transport {
  /** A short name for messages and the status page: "tcp" or "tls". */
  readonly name: string;
  /** The length prefix of the handshake's messages on this transport: 2 on TCP, 4 on TLS (as inet_tls_dist). */
  readonly handshakeHeader: 2 | 4;
  /**
   * Connects to `target` and resolves with the stream the distribution handshake runs on. Rejects with a DistError
   * that says why: `unreachable` (nothing answers), `aborted` (the signal fired), or the transport's own (a TlsError).
   * Whatever it opened is closed when it rejects.
   */
  connect(target: DialTarget, options: { signal: AbortSignal; timeout: number }): Promise<Socket>;
  /**
   * Makes an accepted TCP connection ready for the handshake, and resolves with its stream. Rejects with a DistError
   * that says why it was refused (the socket closed); `from` is the address it came from, for messages.
   */
  accept(socket: Socket, from: string): Promise<Socket>;
  /**
   * What an error of the distribution handshake on one of this transport's streams means (a TLS alert that arrived
   * only then, a peer that closed as soon as it saw this node's certificate...): the error to report instead, or
   * `err` itself. `peer` names the other side in messages; `outgoing`: this node dialled.
   */
  explain(err: unknown, stream: Socket, peer: string, outgoing: boolean): unknown;
}
