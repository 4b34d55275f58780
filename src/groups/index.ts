// erldist's groups layer: :pg scopes (OTP's process groups, spoken with every connected node's scope) and
// Phoenix.PubSub on top of them. It builds on the node layer's public API (and etf, common); the package's Node
// offers it as node.pg(scope) and node.pubsub(name), and status and the command build on it.
export { PgScope, type PgChange, type PgEvents } from "./pg.js";
export { PubSub, PUBSUB_SCOPE, pubsubAtom, type PubSubEvents, type TopicStats } from "./pubsub.js";
export { Subscription, type SubscriptionEvents } from "./subscription.js";
export { pgScope, pubsub, pubsubsOf, scopesOf } from "./registry.js";
