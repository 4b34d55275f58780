// Plain TCP distribution, as OTP's inet_tcp_dist: connect with TCP_NODELAY; an accepted socket is ready as it is.
import { connect, type Socket } from "node:net";
import { watchDeadline } from "../common/deadline.js";
import { DistError } from "./errors.js";
import { directReadOptions } from "./socket-reads.js";
import type { DialTarget, Transport } from "./transport.js";

/**
 * Opens a TCP connection to `target` (TCP_NODELAY set). Rejects with DistError `unreachable` when nothing answers,
 * or `aborted` when `signal` fires first; the socket is destroyed either way. `directReads`: the socket reads into
 * slabs of its own, for readChunks (socket-reads.ts), instead of through 'data' events; not for a socket TLS wraps.
 */
export function connectTcp(target: DialTarget, signal: AbortSignal, directReads = false): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) return reject(aborted(target, signal)); // (so that the watch below cannot fire at once)
    const plain = { host: target.host, port: target.port, noDelay: true };
    const reads = directReads ? directReadOptions(plain) : undefined;
    const socket = connect(reads?.options ?? plain);
    reads?.adopt(socket);
    const settle = (error?: Error): void => {
      stopWatching();
      socket.off("connect", onConnect);
      socket.off("error", onError);
      if (!error) return resolve(socket);
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => settle();
    const onError = (err: Error): void =>
      settle(new DistError("unreachable", `cannot reach ${target.peer} at ${target.host}:${target.port}: ${err.message}`, { cause: err }));
    socket.once("connect", onConnect);
    socket.once("error", onError);
    const stopWatching = watchDeadline({ signal }, () => settle(aborted(target, signal)));
  });
}

function aborted(target: DialTarget, signal: AbortSignal): DistError {
  return new DistError("aborted", `connecting to ${target.peer} was aborted`, { cause: signal.reason });
}

/** The TCP transport (stateless: one for every node). */
export const tcpTransport: Transport = {
  name: "tcp",
  handshakeHeader: 2,
  connect: (target, { signal }) => connectTcp(target, signal, true),
  accept: (socket) => {
    socket.setNoDelay(true);
    return Promise.resolve(socket);
  },
  explain: (err) => err,
};
