// erldist: a Node.js Erlang node. The codec is complete; the node layers (epmd, dist, node, discovery) build on it.

export * from "./etf/index.js";
export * from "./epmd/index.js";
export * from "./dist/index.js";
export * from "./node/index.js";
