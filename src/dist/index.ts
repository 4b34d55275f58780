// erldist's distribution layer: the version 6 handshake and one connection's framing, ticks and messages.
export { DistConnection, type ConnectionOptions } from "./connection.js";
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
export { TlsCarrier, type TlsConnectTarget } from "./tls.js";
export { parseOptFile, readOptFile, type TlsOptions, type TlsSideOptions, type TlsVersion } from "./tls-options.js";
