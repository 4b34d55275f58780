// The node's pg scopes and Phoenix.PubSub clients as the status document and /metrics show them. Both read the
// groups layer's registry (scopesOf, pubsubsOf) at the moment they are asked, so a scope or PubSub made after the
// status server started appears on the next document or scrape, and one that stopped disappears.
import { format, type Encodable, type Term } from "../etf/index.js";
import { pubsubsOf, scopesOf, type PgScope, type PubSub } from "../groups/index.js";
import type { Node } from "../node/index.js";
import type { PgGroupStatus, PgScopeStatus, PubSubStatus } from "./document.js";

/** A group name (any term) in Erlang syntax on one line, as the page, the JSON and the metric labels write it. */
export function groupText(group: Term): string {
  return format(group, { lineLength: Infinity });
}

function byText<T extends { group: string }>(a: T, b: T): number {
  return a.group < b.group ? -1 : a.group > b.group ? 1 : 0;
}

/** The groups this node's processes have joined in `scope`, with how many of its processes and how many in all. */
export function localGroups(scope: PgScope): PgGroupStatus[] {
  return scope
    .localGroups()
    .map(({ group, members }) => ({ group: groupText(group), localMembers: members, members: scope.getMembers(group as Encodable).length }))
    .sort(byText);
}

export function scopeStatus(scope: PgScope): PgScopeStatus {
  return { scope: scope.scope.name, groups: localGroups(scope), syncedNodes: scope.syncedNodes().sort() };
}

export function pubsubStatus(pubsub: PubSub): PubSubStatus {
  return {
    name: pubsub.name.name,
    nodes: pubsub.nodes().sort(),
    topics: pubsub.stats().sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)),
  };
}

/** The document's `pgScopes` and `pubsubs`, by name. */
export function groupsStatus(node: Node): { pgScopes: PgScopeStatus[]; pubsubs: PubSubStatus[] } {
  const byName = <T>(name: (t: T) => string) => (a: T, b: T) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
  return {
    pgScopes: scopesOf(node).map(scopeStatus).sort(byName((s) => s.scope)),
    pubsubs: pubsubsOf(node).map(pubsubStatus).sort(byName((p) => p.name)),
  };
}
