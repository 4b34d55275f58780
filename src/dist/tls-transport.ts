// TLS distribution, as OTP's inet_tls_dist: on every connection, both ways, TLS is established first on the TCP
// connection, then the ordinary version 6 handshake runs inside the TLS stream (with 4-byte lengths, see
// handshake.ts), and the framing afterwards is unchanged. epmd is not involved. Certificates are checked as OTP's
// options say (tls-certificates.ts), failures are told in OTP's words (tls-failures.ts), and the certificate, key
// and CA files are re-read when they change (tls-material.ts), so that new connections use rotated certificates.
import { isIP, type Socket } from "node:net";
import { TLSSocket, connect as tlsConnect } from "node:tls";
import { watchDeadline, type DeadlineOptions, type Expiry } from "../common/deadline.js";
import { DistError } from "./errors.js";
import { connectTcp } from "./tcp-transport.js";
import { checkPeer } from "./tls-certificates.js";
import { explainFailure, incomingFailure, incomingTimeout, outgoingFailure, outgoingTimeout } from "./tls-failures.js";
import { Material } from "./tls-material.js";
import { resolveTlsOptions, type ResolvedSide, type TlsOptions } from "./tls-options.js";
import type { DialTarget, Transport } from "./transport.js";

/** How a TLS handshake ended when it did not complete: an error, a close without one, or its deadline. */
type Unfinished = { error: Error } | { closed: true } | { expired: Expiry };

/**
 * Waits for the TLS handshake of `socket` (`done`: "secureConnect" on a client socket, "secure" on a server socket
 * made by hand), and rejects with what `failure` makes of whatever comes first instead. The caller destroys the
 * sockets on a rejection.
 */
function handshake(socket: TLSSocket, done: "secure" | "secureConnect", deadline: DeadlineOptions, failure: (how: Unfinished) => Error): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stop = (): void => undefined;
    const finish = (how?: Unfinished): void => {
      stop();
      socket.off(done, onDone);
      socket.off("error", onError);
      socket.off("close", onClose);
      if (how) reject(failure(how));
      else resolve();
    };
    const onDone = (): void => finish();
    const onError = (error: Error): void => finish({ error });
    const onClose = (): void => finish({ closed: true });
    socket.once(done, onDone);
    socket.once("error", onError);
    socket.once("close", onClose);
    stop = watchDeadline(deadline, (expired) => finish({ expired })); // may fire at once (an aborted signal)
  });
}

/**
 * What a tls.Server does for the sockets it makes once their handshake is done (onServerSocketSecure in Node's
 * lib/_tls_wrap.js), which a server socket made by hand does not get, and which is done for it here with the same
 * internal calls (Node has no public ones). See `authorizeClient` and `releaseControl`.
 */
interface ServerSocketInternals {
  _handle?: { verifyError?: () => { code?: string; message?: string } | null } | null;
  _releaseControl?: () => boolean;
}

/** Sets OpenSSL's verdict on the client's chain as `authorized` and `authorizationError`, for checkPeer. */
function authorizeClient(socket: TLSSocket): void {
  const handle = (socket as unknown as ServerSocketInternals)._handle;
  const verifyError = handle?.verifyError;
  // A Node without the call: refuse the chain rather than take it as trusted unchecked.
  const error = typeof verifyError === "function" ? verifyError.call(handle) : { code: "VERIFY_RESULT_UNAVAILABLE" };
  socket.authorized = !error;
  if (error) socket.authorizationError = (error.code ?? error.message) as unknown as Error; // a string, as Node sets it
}

/**
 * Hands the socket over to its user: until then it reports TLS errors only as the internal `_tlsError` event, so
 * that a bad record or an alert after the handshake would neither emit `error` nor close it.
 */
function releaseControl(socket: TLSSocket): void {
  (socket as unknown as ServerSocketInternals)._releaseControl?.call(socket);
}

function hasCertificate(side: ResolvedSide): boolean {
  return side.cert !== undefined || side.certFile !== undefined;
}

/** TLS for a node's connections, both ways. Made once per node from its TlsOptions (see `TlsTransport.create`). */
export class TlsTransport implements Transport {
  readonly name = "tls";
  readonly handshakeHeader = 4;
  private readonly server: ResolvedSide;
  private readonly client: ResolvedSide;
  private readonly serverMaterial: Material;
  private readonly clientMaterial: Material;
  /** The limit of an outgoing connection's TLS handshake, if set (else a share of the attempt's timeout). */
  private readonly handshakeTimeout: number | undefined;

  private constructor(
    options: TlsOptions,
    /** Milliseconds an incoming connection's TLS handshake may take. */
    private readonly connectTimeout: number,
  ) {
    const sides = resolveTlsOptions(options);
    this.server = sides.server;
    this.client = sides.client;
    this.serverMaterial = new Material(this.server);
    this.clientMaterial = new Material(this.client);
    this.handshakeTimeout = options.handshakeTimeout;
  }

  /**
   * Reads the options (the option file, certificates, key, CA) now: a missing file or a key that does not match
   * its certificate is a TlsError `tls_config` here, not at the first connection.
   */
  static create(options: TlsOptions, { connectTimeout = 7000 }: { connectTimeout?: number } = {}): TlsTransport {
    return new TlsTransport(options, connectTimeout);
  }

  /**
   * Connects over TCP, runs TLS as the client and checks the server's certificate. Resolves with the TLS socket for
   * the distribution handshake; rejects with a TlsError that says why, or a DistError `unreachable` or `aborted`.
   */
  async connect(target: DialTarget, { signal, timeout }: { signal: AbortSignal; timeout: number }): Promise<TLSSocket> {
    const raw = await connectTcp(target, signal);
    const side = this.client;
    this.clientMaterial.refresh(); // rotated files: the new certificate from this connection on
    const expected = side.serverName === false ? undefined : (side.serverName ?? target.host);
    // Shorter than the attempt, so that a peer answering nothing (a plain TCP node) is reported as such in time.
    const limit = this.handshakeTimeout ?? Math.max(1, Math.floor(timeout * 0.75));
    const socket = tlsConnect({
      socket: raw,
      secureContext: this.clientMaterial.secureContext,
      // SNI carries host names only (RFC 6066): not an IP address.
      servername: expected !== undefined && isIP(expected) === 0 ? expected : undefined,
      rejectUnauthorized: false, // checked below, so that a refusal says why
      checkServerIdentity: () => undefined,
    });
    const hasCert = hasCertificate(side);
    try {
      await handshake(socket, "secureConnect", { timeout: limit, signal }, (how) => {
        if ("error" in how) return outgoingFailure(how.error, target.peer, raw, hasCert);
        if ("closed" in how) return outgoingFailure(undefined, target.peer, raw, hasCert);
        if (how.expired.why === "timeout") return outgoingTimeout(target.peer, raw, limit);
        return new DistError("aborted", `connecting to ${target.peer} was aborted`, { cause: how.expired.reason });
      });
      const refusal = checkPeer(socket, side, { peer: target.peer, expected });
      if (refusal) throw refusal;
      return socket;
    } catch (err) {
      socket.destroy();
      raw.destroy();
      throw err;
    }
  }

  /**
   * Runs TLS as the server on an accepted TCP connection, one TLS socket for it, and checks the client's
   * certificate. Resolves with the TLS socket; rejects with a TlsError that says why (both sockets destroyed).
   */
  async accept(socket: Socket, from: string): Promise<TLSSocket> {
    socket.setNoDelay(true);
    const address = socket.remoteAddress; // read now: a socket that is reset forgets it
    const side = this.server;
    const requestCert = side.verify === "verify_peer";
    let tls: TLSSocket | undefined;
    try {
      // In this turn of the event loop, before the TCP socket reads anything itself (refresh is synchronous).
      this.serverMaterial.refresh();
      tls = new TLSSocket(socket, {
        isServer: true,
        secureContext: this.serverMaterial.secureContext,
        requestCert,
        rejectUnauthorized: false, // checked below, so that a refusal says why
      });
      await handshake(tls, "secure", { timeout: this.connectTimeout }, (how) => {
        if ("expired" in how) return incomingTimeout(from);
        return incomingFailure("error" in how ? how.error : undefined, from, socket);
      });
      if (requestCert) authorizeClient(tls);
      const refusal = checkPeer(tls, side, { from, address });
      if (refusal) throw refusal;
      releaseControl(tls);
      return tls;
    } catch (err) {
      tls?.destroy();
      socket.destroy();
      throw err;
    }
  }

  /**
   * What an error of the distribution handshake inside TLS means: a TLS alert that arrived only then, or a peer that
   * closed before sending anything through TLS (see explainFailure).
   */
  explain(err: unknown, stream: Socket, peer: string, outgoing: boolean): unknown {
    return explainFailure(err, stream, peer, outgoing ? hasCertificate(this.client) : true);
  }
}
