// erldist's epmd layer: the client a node uses to register and find peers, and a built-in epmd server. It imports
// only from ../common; the node and discovery layers use it.
export { EpmdError, type EpmdErrorCode } from "./errors.js";
export {
  EpmdRegistration,
  defaultEpmdPort,
  listNames,
  lookupNode,
  registerNode,
  type EpmdOptions,
  type RegisterOptions,
} from "./client.js";
export { EpmdServer, type EpmdServerOptions } from "./server.js";
export { DEFAULT_EPMD_PORT, epmdPortFromEnv } from "./port.js";
export { NODE_TYPE_HIDDEN, NODE_TYPE_NORMAL, type NameEntry, type NodeRegistration } from "./protocol.js";
