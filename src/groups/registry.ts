// One pg scope per scope name and one PubSub per name on each node, made on first use and found again by the status
// page and the command: node.pg("x") twice is the same scope, as a scope is one registered process per node.
import type { Atom } from "../etf/index.js";
import type { Node } from "../node/index.js";
import { PgScope } from "./pg.js";
import { PUBSUB_SCOPE, PubSub, pubsubAtom } from "./pubsub.js";

const scopes = new WeakMap<Node, Map<string, PgScope>>();
const pubsubs = new WeakMap<Node, Map<string, PubSub>>();

/** The node's pg scope `scope` (started on first use: registered under the scope's name, discovering every peer). */
export function pgScope(node: Node, scope: string | Atom): PgScope {
  const name = typeof scope === "string" ? scope : scope.name;
  let byName = scopes.get(node);
  if (!byName) scopes.set(node, (byName = new Map()));
  let found = byName.get(name);
  if (!found) {
    found = new PgScope(node, name);
    byName.set(name, found);
    const made = found;
    made.process.onExit(() => {
      if (byName.get(name) === made) byName.delete(name);
    });
  }
  return found;
}

/** The node's client of the Phoenix.PubSub server `name` ("MyApp.PubSub" or its atom), made on first use. */
export function pubsub(node: Node, name: string | Atom): PubSub {
  const atomName = pubsubAtom(name).name;
  let byName = pubsubs.get(node);
  if (!byName) pubsubs.set(node, (byName = new Map()));
  let found = byName.get(atomName);
  if (!found) {
    found = new PubSub(node, pgScope(node, PUBSUB_SCOPE), atomName);
    byName.set(atomName, found);
    const made = found;
    made.once("stopped", () => {
      if (byName.get(atomName) === made) byName.delete(atomName);
    });
  }
  return found;
}

/** The node's pg scopes in use. */
export function scopesOf(node: Node): PgScope[] {
  return [...(scopes.get(node)?.values() ?? [])];
}

/** The node's PubSub clients in use. */
export function pubsubsOf(node: Node): PubSub[] {
  return [...(pubsubs.get(node)?.values() ?? [])];
}
