// erldist's distribution layer: transports (TCP, TLS), the version 6 handshake, and one connection's data path:
// frame reader, packet decoder and control table in; verbs and frame writer out; the ticker. It imports only from
// ../common and ../etf; the node layer builds on it.
export { DistConnection, type ConnectionOptions, type ControlStats, type MessageTarget } from "./connection.js";
export { PacketDecoder, type DecodedPacket } from "./packet-decoder.js";
export { DEFAULT_BUSY_LIMIT, DEFAULT_MAX_QUEUED_BYTES, FrameWriter, type FrameSink, type FrameWriterOptions, type WriterStats } from "./frame-writer.js";
export {
  ALTACT_FLAG,
  UnusableControlError,
  controlTag,
  hasPayload,
  makeControl,
  parseControl,
  type ControlKind,
  type ControlMessage,
  type ControlMessageOf,
} from "./control.js";
export { FrameReader, TICK_FRAME, type FrameReaderOptions } from "./frame-reader.js";
export { Ticker, type TickerOptions, type TickerTimer } from "./ticker.js";
export { DistError, TlsError, type DistErrorCode, type TlsFailureReason } from "./errors.js";
export { DFLAG, ERLDIST_FLAGS, MANDATORY_OTP25, MANDATORY_OTP26, flagNames } from "./flags.js";
export {
  acceptHandshake,
  digest,
  initiateHandshake,
  type AcceptStatus,
  type Handshake,
  type HandshakeIdentity,
} from "./handshake.js";
export { TlsTransport } from "./tls-transport.js";
export { type DialTarget, type Transport } from "./transport.js";
export { connectTcp, tcpTransport } from "./tcp-transport.js";
export { canonicalIp, remoteOf } from "./addresses.js";
export { parseOptFile, readOptFile, type TlsOptions, type TlsSideOptions, type TlsVersion } from "./tls-options.js";
