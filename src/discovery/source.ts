// What every discovery source answers. A source is asked for the node names it knows now; the loop decides what to
// connect and what to prune. The distinction between "no nodes" and "could not tell" is the whole point: only a
// complete answer may make the loop disconnect anything.

/** The answer of one lookup. */
export type LookupResult =
  /** A complete answer: these are all the nodes the source knows (possibly after filtering, so possibly none). */
  | { status: "found"; names: string[] }
  /** The source answered that there are no nodes: NXDOMAIN, or the name exists with no records of that type. */
  | { status: "empty"; reason: "nxdomain" | "nodata" }
  /** Part of the answer failed (one of A/AAAA, some epmd hosts): these names exist, but others may too. */
  | { status: "partial"; names: string[]; error: Error };

export interface DiscoverySource {
  /** What is looked up, for events and the status page (e.g. "dns a erlclu-headless.default.svc.cluster.local"). */
  readonly description: string;
  /**
   * Looks the nodes up. Rejects (with a DiscoveryError of code lookup_failed, the cause attached) when the source
   * could not answer at all; the signal aborts the lookup.
   */
  lookup(signal: AbortSignal): Promise<LookupResult>;
}
