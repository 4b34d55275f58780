// The epmd scan: ask the epmd on each host which nodes it has (what `epmd -names` shows), so node names need not be
// known in advance. Hosts come from a fixed list or from a DNS name's addresses.
import { listNames } from "../epmd/index.js";
import { lookupAddresses, type AddressFamily, type ResolverOptions } from "./dns.js";
import { DiscoveryError } from "./errors.js";
import { nodeNameFor } from "./names.js";
import type { DiscoverySource, LookupResult } from "./source.js";

export interface EpmdScanOptions {
  /** Hosts to ask: names or addresses, or a DNS name whose A/AAAA records are the hosts. */
  hosts: string[] | { dns: string; family?: AddressFamily; resolver?: ResolverOptions };
  /** epmd's port on those hosts (default: ERL_EPMD_PORT, then 4369). */
  port?: number;
  /** Only names whose part before '@' matches (a string is an exact match). Default: every registered name. */
  match?: string | RegExp;
  /** Milliseconds to wait for each epmd (default 2000). */
  timeout?: number;
}

function matches(match: EpmdScanOptions["match"], alive: string): boolean {
  if (match === undefined) return true;
  if (typeof match === "string") return alive === match;
  return match.test(alive);
}

export function epmdScanSource(options: EpmdScanOptions): DiscoverySource {
  const hostsText = Array.isArray(options.hosts) ? options.hosts.join(",") : `dns ${options.hosts.dns}`;
  return {
    description: `epmd scan ${hostsText}`,
    lookup: async (signal): Promise<LookupResult> => {
      let hosts: string[];
      let hostError: Error | undefined;
      if (Array.isArray(options.hosts)) {
        hosts = options.hosts;
      } else {
        const found = await lookupAddresses(options.hosts.dns, options.hosts.family ?? 4, options.hosts.resolver, signal);
        if (found.status === "empty") return found;
        hosts = found.names;
        if (found.status === "partial") hostError = found.error;
      }
      const answers = await Promise.allSettled(
        hosts.map((host) => listNames({ host, port: options.port, timeout: options.timeout ?? 2000, signal })),
      );
      const names: string[] = [];
      let error = hostError;
      answers.forEach((answer, i) => {
        if (answer.status === "rejected") {
          error ??= new DiscoveryError("lookup_failed", `epmd on ${hosts[i]} did not answer NAMES: ${(answer.reason as Error).message}`, {
            cause: answer.reason,
          });
          return;
        }
        for (const entry of answer.value.names) if (matches(options.match, entry.name)) names.push(nodeNameFor(entry.name, hosts[i]));
      });
      if (error && answers.every((a) => a.status === "rejected")) {
        throw error instanceof DiscoveryError ? error : new DiscoveryError("lookup_failed", error.message, { cause: error });
      }
      if (error) return { status: "partial", names, error };
      return { status: "found", names };
    },
  };
}
