// What the services (gen_server, rpc, erpc, net_kernel) need from their node: its public process API, nothing more.
// The node implements it; the services never import the node itself.
import type { Encodable } from "../../etf/index.js";
import type { Destination, NodeName } from "../destination.js";
import type { ErlProcess } from "../process.js";

export interface ServiceHost {
  /** The node's name. */
  readonly name: string;
  spawn(): ErlProcess;
  register(name: string, process: ErlProcess): void;
  send(to: Destination, message: Encodable): Promise<void>;
  connect(peer: NodeName, options?: { timeout?: number }): Promise<true>;
}
