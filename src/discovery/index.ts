// erldist's discovery layer: where the cluster's node names come from (DNS A/AAAA, SRV, a static list, an epmd
// scan) and the refresh loop that keeps the node connected to them. It builds on the node layer's public API (and
// epmd, etf, common); status and the command build on it.
import { dnsSource, srvSource, type AddressFamily, type ResolverOptions } from "./dns.js";
import { epmdScanSource, type EpmdScanOptions } from "./epmd-scan.js";
import { DiscoveryError } from "./errors.js";
import { Discovery, type DiscoveryHost, type LoopOptions } from "./loop.js";
import type { DiscoverySource } from "./source.js";
import { staticSource } from "./static.js";

export { DiscoveryError, type DiscoveryErrorCode } from "./errors.js";
export { formatAddress, nodeNameFor } from "./names.js";
export type { DiscoverySource, LookupResult } from "./source.js";
export { dnsSource, lookupAddresses, srvSource, type AddressFamily, type DnsSourceOptions, type ResolverOptions, type SrvSourceOptions } from "./dns.js";
export { staticSource } from "./static.js";
export { epmdScanSource, type EpmdScanOptions } from "./epmd-scan.js";
export {
  Discovery,
  type BackoffOptions,
  type DiscoveryEvents,
  type DiscoveryHost,
  type DiscoverySnapshot,
  type KnownNode,
  type KnownNodeState,
  type LookupStatus,
  type LookupSummary,
  type LoopOptions,
  type RefreshReport,
} from "./loop.js";

/** Where the names come from (exactly one of dns, srv, static, epmdScan, source) and how the loop runs. */
export interface DiscoverOptions extends LoopOptions {
  /** A headless Service's name: nodes `basename@<ip>` from its A (or AAAA) records. */
  dns?: string;
  /** An SRV name: nodes `basename@<target>` (or `basename@<target's ip>` with `srvAddresses`). */
  srv?: string;
  /** Fixed node names. */
  static?: readonly string[];
  /** Ask epmd on these hosts which nodes run there. */
  epmdScan?: EpmdScanOptions;
  /** Any other source. */
  source?: DiscoverySource;
  /** With dns and srv: the part before '@' of the node names (required there). */
  basename?: string;
  /** With dns (and srv with srvAddresses): A (4, default), AAAA (6) or both. */
  family?: AddressFamily;
  /** With srv: name nodes by the targets' addresses instead of their host names. */
  srvAddresses?: boolean;
  /** With dns and srv: which DNS servers to ask (default the system's). */
  resolver?: ResolverOptions;
}

/** The source that `options` describe (exactly one of dns, srv, static, epmdScan, source). */
export function sourceFrom(options: DiscoverOptions): DiscoverySource {
  const given = (["dns", "srv", "static", "epmdScan", "source"] as const).filter((key) => options[key] !== undefined);
  if (given.length !== 1) {
    throw new DiscoveryError(
      "bad_options",
      given.length === 0
        ? "discovery needs a source: one of dns, srv, static, epmdScan or source"
        : `discovery takes one source per loop, not ${given.join(" and ")}; start one loop per source`,
    );
  }
  const needBasename = (): string => {
    if (!options.basename) throw new DiscoveryError("bad_options", `discovery by ${given[0]} needs a basename (the part before '@' of the node names)`);
    return options.basename;
  };
  if (options.dns !== undefined) return dnsSource({ name: options.dns, basename: needBasename(), family: options.family, resolver: options.resolver });
  if (options.srv !== undefined) {
    return srvSource({ name: options.srv, basename: needBasename(), addresses: options.srvAddresses, family: options.family, resolver: options.resolver });
  }
  if (options.static !== undefined) return staticSource(options.static);
  if (options.epmdScan !== undefined) return epmdScanSource(options.epmdScan);
  return options.source as DiscoverySource;
}

/** Starts a discovery loop on `node`; it stops when the node stops (or when its stop() is called). */
export function discover(node: DiscoveryHost, options: DiscoverOptions): Discovery {
  return Discovery.start(node, sourceFrom(options), options);
}
