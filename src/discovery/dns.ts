// DNS sources: the A/AAAA records of a headless Service (one per ready pod) and its SRV records. Node's own
// resolver (c-ares) is used, with the system's servers (/etc/resolv.conf) unless others are given.
import { Resolver } from "node:dns/promises";
import { watchDeadline } from "../common/deadline.js";
import { DiscoveryError } from "./errors.js";
import { formatAddress, nodeNameFor } from "./names.js";
import type { DiscoverySource, LookupResult } from "./source.js";

/** Which DNS servers to ask and how patiently. */
export interface ResolverOptions {
  /** Servers as "ip", "ip:port" or "[ipv6]:port" (default: the system's, from /etc/resolv.conf). */
  servers?: string[];
  /** Milliseconds per query attempt (default 2000). */
  timeout?: number;
  /** Attempts per server (default 2). */
  tries?: number;
}

/** Which address records to ask for: A (4), AAAA (6) or both ("any"). */
export type AddressFamily = 4 | 6 | "any";

type QueryOutcome<T> = { ok: true; records: T[] } | { ok: false; empty: "nxdomain" | "nodata" } | { ok: false; error: Error };

/** Runs `use` with a resolver of its own, whose queries the signal cancels. */
async function withResolver<T>(options: ResolverOptions = {}, signal: AbortSignal, use: (resolver: Resolver) => Promise<T>): Promise<T> {
  const resolver = new Resolver({ timeout: options.timeout ?? 2000, tries: options.tries ?? 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers(options.servers);
  // Cancelled queries reject with ECANCELLED, which ends `use`.
  const stop = watchDeadline({ signal }, () => resolver.cancel());
  try {
    return await use(resolver);
  } finally {
    stop();
  }
}

async function query<T>(run: () => Promise<T[]>): Promise<QueryOutcome<T>> {
  try {
    const records = await run();
    return records.length > 0 ? { ok: true, records } : { ok: false, empty: "nodata" };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND") return { ok: false, empty: "nxdomain" };
    if (code === "ENODATA") return { ok: false, empty: "nodata" };
    return { ok: false, error: err as Error };
  }
}

function failure(what: string, error: Error): DiscoveryError {
  const code = (error as NodeJS.ErrnoException).code;
  return new DiscoveryError("lookup_failed", `DNS lookup of ${what} failed (${code ?? error.message}); check the name and the DNS server`, {
    cause: error,
  });
}

/** Combines the outcomes of several queries for one answer: any failure makes it partial (or failed, if nothing came back). */
function combine(what: string, outcomes: Array<QueryOutcome<string>>): LookupResult {
  const names = new Set<string>();
  let error: Error | undefined;
  let allNxdomain = true;
  for (const outcome of outcomes) {
    if (outcome.ok) {
      for (const name of outcome.records) names.add(name);
      allNxdomain = false;
    } else if ("error" in outcome) {
      error ??= outcome.error;
      allNxdomain = false;
    } else if (outcome.empty === "nodata") {
      allNxdomain = false;
    }
  }
  if (error) {
    if (names.size === 0) throw failure(what, error);
    return { status: "partial", names: [...names], error: failure(what, error) };
  }
  if (names.size === 0) return { status: "empty", reason: allNxdomain ? "nxdomain" : "nodata" };
  return { status: "found", names: [...names] };
}

async function addressOutcomes(resolver: Resolver, name: string, family: AddressFamily): Promise<Array<QueryOutcome<string>>> {
  const queries: Array<Promise<QueryOutcome<string>>> = [];
  if (family === 4 || family === "any") queries.push(query(() => resolver.resolve4(name)));
  if (family === 6 || family === "any") queries.push(query(() => resolver.resolve6(name)));
  return Promise.all(queries);
}

/** The addresses `name` resolves to, written as BEAM writes them, classified as a LookupResult. */
export async function lookupAddresses(name: string, family: AddressFamily, resolverOptions: ResolverOptions | undefined, signal: AbortSignal): Promise<LookupResult> {
  const outcomes = await withResolver(resolverOptions, signal, (resolver) => addressOutcomes(resolver, name, family));
  return combine(`${name} (${family === "any" ? "A and AAAA" : family === 4 ? "A" : "AAAA"})`, outcomes.map((o) => (o.ok ? { ok: true, records: o.records.map(formatAddress) } : o)));
}

function withBasename(result: LookupResult, basename: string): LookupResult {
  if (result.status === "empty") return result;
  return { ...result, names: result.names.map((host) => nodeNameFor(basename, host)) };
}

export interface DnsSourceOptions {
  /** The headless Service's name, e.g. "erlclu-headless.erlclu.svc.cluster.local". */
  name: string;
  /** The part before '@' of every node name (the pods' RELEASE_NODE / -name basename). */
  basename: string;
  /** A (4, default), AAAA (6), or both ("any"). */
  family?: AddressFamily;
  resolver?: ResolverOptions;
}

/** Nodes named `basename@<ip>` for every A (and/or AAAA) record of a headless Service. */
export function dnsSource(options: DnsSourceOptions): DiscoverySource {
  const family = options.family ?? 4;
  return {
    description: `dns ${family === "any" ? "a+aaaa" : family === 4 ? "a" : "aaaa"} ${options.name}`,
    lookup: async (signal) => withBasename(await lookupAddresses(options.name, family, options.resolver, signal), options.basename),
  };
}

export interface SrvSourceOptions {
  /** The SRV name, e.g. "_epmd._tcp.erlclu-headless.erlclu.svc.cluster.local". */
  name: string;
  basename: string;
  /**
   * false (default): node names from the targets (`basename@erlclu-0.erlclu-headless...`, as StatefulSet pods are
   * named); true: from the targets' addresses (`basename@10.42.0.7`).
   */
  addresses?: boolean;
  /** With `addresses`: which records of the targets to ask for (default A). */
  family?: AddressFamily;
  resolver?: ResolverOptions;
}

/** Nodes from the SRV records of a name: one per target. */
export function srvSource(options: SrvSourceOptions): DiscoverySource {
  const what = `${options.name} (SRV)`;
  return {
    description: `dns srv ${options.name}${options.addresses ? " (addresses)" : ""}`,
    lookup: (signal) => withResolver(options.resolver, signal, async (resolver): Promise<LookupResult> => {
      const srv = await query(() => resolver.resolveSrv(options.name));
      if (!srv.ok) {
        if ("error" in srv) throw failure(what, srv.error);
        return { status: "empty", reason: srv.empty };
      }
      const targets = [...new Set(srv.records.map((record) => record.name))];
      if (!options.addresses) return withBasename({ status: "found", names: targets }, options.basename);
      const perTarget = await Promise.all(targets.map((target) => addressOutcomes(resolver, target, options.family ?? 4)));
      // A target without addresses is not a node we can reach, but not a failure of the lookup either; targets
      // none of which has an address count as an empty answer (pruned only if that persists).
      const outcomes = perTarget.flat().map((o) => (o.ok ? { ok: true as const, records: o.records.map(formatAddress) } : o));
      const result = combine(what, outcomes);
      return withBasename(result.status === "empty" ? { status: "empty", reason: "nodata" } : result, options.basename);
    }),
  };
}
