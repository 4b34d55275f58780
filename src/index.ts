// erldist: a Node.js Erlang node. Each layer is also usable alone; this module puts them together, and its Node is
// the node layer's Node with discovery on top.
import { discover, type DiscoverOptions, type Discovery } from "./discovery/index.js";
import { Node as NodeBase } from "./node/index.js";

export * from "./etf/index.js";
export * from "./epmd/index.js";
export * from "./dist/index.js";
export * from "./node/index.js";
export * from "./discovery/index.js";
export * from "./status/index.js";

/** An Erlang node (see the node layer's Node) that can also discover and join a cluster. */
export class Node extends NodeBase {
  /**
   * Starts a discovery loop that keeps this node connected to the nodes a source names, e.g.
   * `node.discover({ dns: "erlclu-headless.erlclu.svc.cluster.local", basename: "erlclu" })`. Several loops may run
   * at once (one per source); each stops when the node stops.
   */
  discover(options: DiscoverOptions): Discovery {
    return discover(this, options);
  }
}
