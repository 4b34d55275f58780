// erldist: a Node.js Erlang node. Each layer is also usable alone; this module puts them together, and its Node is
// the node layer's Node with discovery, pg scopes and Phoenix.PubSub on top.
import { discover, type DiscoverOptions, type Discovery } from "./discovery/index.js";
import { Node as NodeBase } from "./node/index.js";
import { pgScope, pubsub, type PgScope, type PubSub } from "./groups/index.js";
import type { Atom } from "./etf/index.js";

export * from "./etf/index.js";
export * from "./epmd/index.js";
export * from "./dist/index.js";
export * from "./node/index.js";
export * from "./discovery/index.js";
export * from "./groups/index.js";
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

  /**
   * The :pg scope `scope` on this node (started on first use; the same object every time): join and leave groups
   * with this node's processes, list members on every node, and follow changes. It speaks pg's protocol with the
   * scope of that name on every connected node, e.g. `node.pg("Elixir.Phoenix.PubSub")` or pg's default `pg`.
   */
  pg(scope: string | Atom): PgScope {
    return pgScope(this, scope);
  }

  /**
   * A client of the Phoenix.PubSub server `name` (`"MyApp.PubSub"`, or its atom `Elixir.MyApp.PubSub`) running on
   * the cluster's Elixir nodes: subscribe to topics and broadcast into them, as Phoenix.PubSub's PG adapter does.
   */
  pubsub(name: string | Atom): PubSub {
    return pubsub(this, name);
  }
}
