// The discovery flags shared by join, nodes and eval --all: each source given becomes one loop.
import type { DiscoverOptions } from "../discovery/index.js";
import { UsageError, listValue, parseDuration, parsePort, stringValue, type Options, type Parsed } from "./usage.js";

export const DISCOVERY_OPTIONS: Options = {
  dns: { type: "string" },
  basename: { type: "string" },
  srv: { type: "boolean" },
  "srv-addresses": { type: "boolean" },
  family: { type: "string" },
  "dns-server": { type: "string", multiple: true },
  static: { type: "string", multiple: true },
  "epmd-scan": { type: "string", multiple: true },
  interval: { type: "string" },
  "connect-timeout": { type: "string" },
};

export const DISCOVERY_HELP = `Discovery options (one loop per source given):
  --dns <name>           a headless Service's name: nodes <basename>@<ip> from its A records
  --basename <name>      the part before '@' of the discovered node names (needed with --dns)
  --srv                  query the SRV records of the --dns name instead: nodes <basename>@<target>
  --srv-addresses        with --srv: name nodes by the targets' addresses
  --family <4|6|any>     address records to ask for: A (default), AAAA, or both
  --dns-server <ip[:port]>  DNS server to ask (repeatable; default: the system's, from /etc/resolv.conf)
  --static <a@h,b@h>     fixed node names
  --epmd-scan <host,...> ask epmd on these hosts which nodes run there
  --interval <duration>  time between refreshes (default 5s)
  --connect-timeout <duration>  time a connection attempt may take (default 5s)`;

/** The discovery loops the flags ask for (none if no source flag is given). */
export function discoveryOptions(parsed: Parsed, epmdPort: number | undefined): DiscoverOptions[] {
  const interval = stringValue(parsed, "interval");
  const connectTimeout = stringValue(parsed, "connect-timeout");
  const family = stringValue(parsed, "family");
  if (family !== undefined && !["4", "6", "any"].includes(family)) throw new UsageError(`--family takes 4, 6 or any, not '${family}'`);
  const servers = listValue(parsed, "dns-server");
  const common: DiscoverOptions = {
    interval: interval === undefined ? undefined : parseDuration("--interval", interval),
    connectTimeout: connectTimeout === undefined ? undefined : parseDuration("--connect-timeout", connectTimeout),
  };
  const resolver = servers.length > 0 ? { servers } : undefined;
  const familyValue = family === undefined ? undefined : family === "any" ? "any" : (Number(family) as 4 | 6);
  const loops: DiscoverOptions[] = [];
  const dns = stringValue(parsed, "dns");
  const basename = stringValue(parsed, "basename");
  if (parsed.values.srv && dns === undefined) throw new UsageError("--srv queries the SRV records of the --dns name: give --dns too");
  if (parsed.values["srv-addresses"] && !parsed.values.srv) throw new UsageError("--srv-addresses goes with --srv");
  if (dns !== undefined) {
    if (!basename) throw new UsageError("--dns needs --basename (the part before '@' of the node names, e.g. --basename app for app@10.0.0.7)");
    loops.push(
      parsed.values.srv
        ? { ...common, srv: dns, basename, srvAddresses: Boolean(parsed.values["srv-addresses"]), family: familyValue, resolver }
        : { ...common, dns, basename, family: familyValue, resolver },
    );
  }
  const names = listValue(parsed, "static");
  for (const name of names) if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw new UsageError(`--static takes node names such as app@10.0.0.7, not '${name}'`);
  if (names.length > 0) loops.push({ ...common, static: names });
  const hosts = listValue(parsed, "epmd-scan");
  if (hosts.length > 0) loops.push({ ...common, epmdScan: { hosts, port: epmdPort } });
  return loops;
}

export function epmdPort(parsed: Parsed): number | undefined {
  const text = stringValue(parsed, "epmd-port");
  return text === undefined ? undefined : parsePort("--epmd-port", text, false);
}
