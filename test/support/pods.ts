// Kubernetes-like pods on one machine: each pod is a network namespace with its own IP on a private bridge, its own
// loopback and its own /etc/resolv.conf (`ip netns exec` mounts /etc/netns/<ns>/resolv.conf over it), so the BEAM
// and erldist nodes in it resolve names through the test's cluster DNS on the bridge, as pods do through kube-dns.
// Needs root. Every namespace, veth, bridge and resolv.conf made here is removed by destroy(), and the global
// teardown removes (and reports) any that a crashed run left behind: their names carry the run's marker.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { RUN_MARKER, spawnTracked, stopChild } from "./children.js";
import { canConnect } from "./net.js";

/** Why pods cannot be made here (not root, no `ip`), or undefined when they can. */
export function podsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "emulated pods need root (network namespaces); CI runs as root";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "emulated pods need iproute2's `ip` (apt-get install -y iproute2)";
  }
  return undefined;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/** The prefix of every namespace and interface name a run makes: from the test run's marker when there is one. */
export function podPrefixFor(marker: string | undefined): string {
  return (marker ?? randomBytes(4).toString("hex")).replace(/[^0-9a-f]/gi, "").slice(0, 6).toLowerCase();
}

export interface Pod {
  /** Its network namespace. */
  readonly ns: string;
  readonly ip: string;
  readonly index: number;
  /** The command prefix that runs a program inside the pod. */
  readonly wrap: string[];
}

const EPMD_GUARD = 'epmd -port 4369 & pid=$!; trap \'kill $pid 2>/dev/null; wait $pid 2>/dev/null\' EXIT TERM INT; read -r _ || true';

export class PodNetwork {
  readonly id: string;
  readonly bridge: string;
  /** The bridge's address: the "node" the pods route through, where the cluster DNS listens. */
  readonly gateway: string;
  private readonly prefix: string;
  private readonly pods = new Map<number, Pod>();
  private readonly epmds = new Map<number, ChildProcess>();

  private constructor(id: string, prefix: string) {
    this.id = id;
    this.prefix = prefix;
    this.bridge = `edbr${id}`;
    this.gateway = `${prefix}.1`;
  }

  /**
   * Makes the bridge on a free 10.x.y.0/24. `tag` (a letter or two) tells apart networks of test files that run at
   * the same time; names stay within the run's prefix, so the global teardown still finds leftovers.
   */
  static create(options: { tag?: string } = {}): PodNetwork {
    const id = podPrefixFor(process.env[RUN_MARKER]) + (options.tag ?? "").replace(/[^a-z]/g, "").slice(0, 2);
    const routes = execFileSync("ip", ["-4", "route"]).toString();
    let prefix = "";
    for (let attempt = 0; attempt < 50 && prefix === ""; attempt++) {
      const candidate = `10.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 250)}`;
      if (!routes.includes(`${candidate}.`)) prefix = candidate;
    }
    const network = new PodNetwork(id, prefix);
    tryIp("link", "del", network.bridge); // a leftover of an earlier run with the same marker prefix
    ip("link", "add", network.bridge, "type", "bridge");
    // A fixed MAC: otherwise the bridge takes the lowest of its ports' MACs, which changes as pods come and go, and
    // pods keep sending to the gateway's old MAC (their DNS queries time out) until their ARP entry goes stale.
    ip("link", "set", network.bridge, "address", `02:ed:${randomBytes(4).toString("hex").match(/../g)!.join(":")}`);
    ip("addr", "add", `${network.gateway}/24`, "dev", network.bridge);
    ip("link", "set", network.bridge, "up");
    return network;
  }

  /** The address pod `index` gets. */
  address(index: number): string {
    return `${this.prefix}.${index}`;
  }

  /** Makes pod `index` (address <prefix>.<index>), with epmd running on port 4369 in it unless `epmd` is false. */
  async addPod(index: number, options: { epmd?: boolean } = {}): Promise<Pod> {
    const ns = `erldist-${this.id}-p${index}`;
    const veth = `ve${this.id}p${index}`;
    const address = this.address(index);
    tryIp("netns", "del", ns);
    ip("netns", "add", ns);
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("link", "set", veth, "master", this.bridge, "up");
    ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "route", "add", "default", "via", this.gateway);
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${this.gateway}\noptions timeout:1 attempts:2\n`, { mode: 0o644 });
    const pod: Pod = { ns, ip: address, index, wrap: ["ip", "netns", "exec", ns] };
    this.pods.set(index, pod);
    if (options.epmd === false) return pod;
    const epmd = spawnTracked(pod.wrap[0], [...pod.wrap.slice(1), "sh", "-c", EPMD_GUARD, "epmd-guard"], { stdio: ["pipe", "ignore", "ignore"] });
    this.epmds.set(index, epmd);
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(address, 4369))) {
      if (Date.now() > deadline || epmd.exitCode !== null) throw new Error(`epmd did not start in pod ${ns}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return pod;
  }

  /** Kills everything in the pod and removes it. */
  async removePod(pod: Pod): Promise<void> {
    const epmd = this.epmds.get(pod.index);
    this.epmds.delete(pod.index);
    if (epmd) await stopChild(epmd);
    killAllIn(pod.ns);
    tryIp("netns", "del", pod.ns);
    tryIp("link", "del", `ve${this.id}p${pod.index}`);
    rmSync(`/etc/netns/${pod.ns}`, { recursive: true, force: true });
    this.pods.delete(pod.index);
  }

  /** Removes every pod and the bridge. */
  async destroy(): Promise<void> {
    for (const pod of [...this.pods.values()]) await this.removePod(pod);
    tryIp("link", "del", this.bridge);
  }
}

function killAllIn(ns: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns]).toString().split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
  } catch {
    // no such namespace
  }
}

/** Removes namespaces, interfaces and resolv.conf folders a run with this marker left; returns what it removed. */
export function removeLeftoverPods(marker: string): string[] {
  const id = podPrefixFor(marker);
  const removed: string[] = [];
  const netnsDir = "/var/run/netns";
  if (existsSync(netnsDir)) {
    for (const ns of readdirSync(netnsDir).filter((n) => n.startsWith(`erldist-${id}`))) {
      killAllIn(ns);
      tryIp("netns", "del", ns);
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
      removed.push(`netns ${ns}`);
    }
  }
  try {
    const links = execFileSync("ip", ["-o", "link", "show"]).toString();
    for (const match of links.matchAll(/^\d+: ([^:@]+)[:@]/gm)) {
      const name = match[1];
      if (name.startsWith(`edbr${id}`) || name.startsWith(`ve${id}`)) {
        tryIp("link", "del", name);
        removed.push(`link ${name}`);
      }
    }
  } catch {
    // no ip command: nothing can have been made
  }
  return removed;
}
