// DNS sources against a real DNS server (dnsmasq on loopback): A, AAAA, SRV, and how each kind of failure is
// classified, because the loop's pruning depends on it: NXDOMAIN and no-records are answers, timeouts and refusals
// are not. Ends with the loop on a DNS source joining and pruning a real BEAM node.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Node } from "../../src/index.js";
import { atom } from "../../src/etf/index.js";
import { DiscoveryError, dnsSource, epmdScanSource, srvSource, type DiscoverySource } from "../../src/discovery/index.js";
import { BeamNode } from "../support/beam.js";
import { Dnsmasq } from "../support/dnsmasq.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { freePort } from "../support/net.js";

const SERVICE = "erlclu-headless.erlclu.svc.cluster.local";
let dns: Dnsmasq;
let silent: UdpSocket; // a "DNS server" that never answers
let silentPort: number;
let epmd: Epmd;
let beam: BeamNode;

beforeAll(async () => {
  dns = await Dnsmasq.start({
    hosts: [
      [SERVICE, "10.42.0.2"],
      [SERVICE, "10.42.0.3"],
      [SERVICE, "fd00:42::2"],
      ["v6only.cluster.local", "fd00:42::9"],
      ["pod-2.erlclu-headless.erlclu.svc.cluster.local", "10.42.0.2"],
      ["pod-3.erlclu-headless.erlclu.svc.cluster.local", "10.42.0.3"],
      ["loopback.cluster.local", "127.0.0.1"],
    ],
    srv: [
      { name: `_epmd._tcp.${SERVICE}`, target: `pod-2.${SERVICE}`, port: 4369 },
      { name: `_epmd._tcp.${SERVICE}`, target: `pod-3.${SERVICE}`, port: 4369 },
    ],
  });
  silent = createSocket("udp4");
  await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
  silentPort = silent.address().port;
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd, alive: "erlclu" });
});

afterAll(async () => {
  silent?.close();
  await beam?.stop();
  await epmd?.stop();
  await dns?.destroy();
});

const controller = new AbortController();
const lookup = (source: DiscoverySource) => source.lookup(controller.signal);
const resolver = () => ({ servers: [dns.server], timeout: 500, tries: 1 });

describe("DNS A and AAAA of a headless Service", () => {
  it("A records: one node per address, basename@ip", async () => {
    const result = await lookup(dnsSource({ name: SERVICE, basename: "erlclu", resolver: resolver() }));
    expect(result.status).toBe("found");
    expect(result.status !== "empty" && result.names.sort()).toEqual(["erlclu@10.42.0.2", "erlclu@10.42.0.3"]);
  });

  it("AAAA records, written as BEAM writes them; both families with 'any'", async () => {
    const v6 = await lookup(dnsSource({ name: SERVICE, basename: "erlclu", family: 6, resolver: resolver() }));
    expect(v6).toEqual({ status: "found", names: ["erlclu@fd00:42::2"] });
    const both = await lookup(dnsSource({ name: SERVICE, basename: "erlclu", family: "any", resolver: resolver() }));
    expect(both.status !== "empty" && both.names.sort()).toEqual(["erlclu@10.42.0.2", "erlclu@10.42.0.3", "erlclu@fd00:42::2"]);
  });

  it("NXDOMAIN and a name without records of the type are empty answers, each with its reason", async () => {
    expect(await lookup(dnsSource({ name: `nope.${SERVICE}`, basename: "erlclu", resolver: resolver() }))).toEqual({ status: "empty", reason: "nxdomain" });
    expect(await lookup(dnsSource({ name: "v6only.cluster.local", basename: "erlclu", resolver: resolver() }))).toEqual({ status: "empty", reason: "nodata" });
  });

  it("a refusal, a timeout and a server that is down are failed lookups (DiscoveryError lookup_failed, with the DNS code)", async () => {
    const refused = await lookup(dnsSource({ name: "example.com", basename: "x", resolver: resolver() })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiscoveryError);
    expect((refused as DiscoveryError).code).toBe("lookup_failed");
    expect(((refused as DiscoveryError).cause as { code: string }).code).toBe("EREFUSED");
    expect((refused as Error).message).toMatch(/DNS lookup of example\.com \(A\) failed \(EREFUSED\)/);

    const timedOut = await lookup(dnsSource({ name: SERVICE, basename: "x", resolver: { servers: [`127.0.0.1:${silentPort}`], timeout: 200, tries: 1 } })).catch((e: unknown) => e);
    expect(((timedOut as DiscoveryError).cause as { code: string }).code).toBe("ETIMEOUT");

    const down = await lookup(dnsSource({ name: SERVICE, basename: "x", resolver: { servers: [`127.0.0.1:${await freePort()}`], timeout: 500, tries: 1 } })).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DiscoveryError);
    expect(["ECONNREFUSED", "ETIMEOUT"]).toContain(((down as DiscoveryError).cause as { code: string }).code);
  });

  it("aborting the signal cancels the lookup", async () => {
    const abort = new AbortController();
    const pending = dnsSource({ name: SERVICE, basename: "x", resolver: { servers: [`127.0.0.1:${silentPort}`], timeout: 5000, tries: 1 } }).lookup(abort.signal);
    abort.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(((error as DiscoveryError).cause as { code: string }).code).toBe("ECANCELLED");
  });
});

describe("DNS SRV", () => {
  it("node names from the targets (StatefulSet host names), or from the targets' addresses on request", async () => {
    const byName = await lookup(srvSource({ name: `_epmd._tcp.${SERVICE}`, basename: "erlclu", resolver: resolver() }));
    expect(byName.status !== "empty" && byName.names.sort()).toEqual([`erlclu@pod-2.${SERVICE}`, `erlclu@pod-3.${SERVICE}`]);
    const byAddress = await lookup(srvSource({ name: `_epmd._tcp.${SERVICE}`, basename: "erlclu", addresses: true, resolver: resolver() }));
    expect(byAddress.status !== "empty" && byAddress.names.sort()).toEqual(["erlclu@10.42.0.2", "erlclu@10.42.0.3"]);
    expect(await lookup(srvSource({ name: `_epmd._tcp.nope.${SERVICE}`, basename: "erlclu", resolver: resolver() }))).toEqual({ status: "empty", reason: "nxdomain" });
  });
});

describe("DNS into the loop, with a real BEAM node", () => {
  it("epmd scan of the hosts a DNS name resolves to", async () => {
    const result = await lookup(epmdScanSource({ hosts: { dns: "loopback.cluster.local", resolver: resolver() }, port: epmd.port }));
    expect(result).toEqual({ status: "found", names: [beam.name] });
  });

  it("joins the node the A record names, and prunes it when the record is removed", async () => {
    const node = await Node.start({ name: "dnsloop@127.0.0.1", cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
    try {
      await dns.setHosts([["erlclu.cluster.local", "127.0.0.1"]]);
      const discovery = node.discover({ dns: "erlclu.cluster.local", basename: "erlclu", resolver: resolver(), interval: 200, jitter: 0 });
      await expect.poll(() => node.nodes(), { timeout: 5000 }).toEqual([beam.name]);
      expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(node.name));
      const pruned = new Promise<string>((resolve) => discovery.once("pruned", (name) => resolve(name)));
      await dns.setHosts([["erlclu.cluster.local", "127.0.0.2"]]); // the node "moved": the old name vanished
      expect(await pruned).toBe(beam.name);
      await expect.poll(() => beam.eval("nodes(hidden)."), { timeout: 5000 }).not.toContainEqual(atom(node.name));
    } finally {
      await node.stop();
    }
  });
});
