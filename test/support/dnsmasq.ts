// dnsmasq as the cluster DNS for tests: A/AAAA records from a hosts file (rewritten and re-read on SIGHUP, so records
// change without a restart) and SRV records from the command line. It runs in the foreground as a tracked child.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resolver } from "node:dns/promises";
import { execFileSync, type ChildProcess } from "node:child_process";
import { spawnTracked, stopChild } from "./children.js";
import { freePort } from "./net.js";

export interface SrvRecord {
  /** e.g. "_epmd._tcp.erlclu-headless.erlclu.svc.cluster.local" */
  name: string;
  target: string;
  port: number;
}

export interface DnsmasqOptions {
  /** Address to listen on (default 127.0.0.1). */
  address?: string;
  /** Port (default: a free one; 53 for a cluster DNS that pods reach through resolv.conf). */
  port?: number;
  /** SRV records (fixed for the life of the server). */
  srv?: SrvRecord[];
  /** Initial A/AAAA records: [name, address] pairs. */
  hosts?: Array<[name: string, address: string]>;
  /** Domains answered only from these records (others get REFUSED). Default: every name's last label. */
  localDomains?: string[];
}

/** Throws with an install hint when dnsmasq is missing. */
export function requireDnsmasq(): void {
  try {
    execFileSync("dnsmasq", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("dnsmasq was not found: the discovery tests use it as the cluster DNS. Install it (`apt-get install -y dnsmasq-base`) or run `bash .ci/run`.");
  }
}

const SENTINEL_DOMAIN = "erldist-sentinel.test";

export class Dnsmasq {
  readonly address: string;
  readonly port: number;
  private readonly dir: string;
  private readonly hostsFile: string;
  private readonly options: DnsmasqOptions;
  private child: ChildProcess | undefined;
  private hosts: Array<[string, string]>;
  private serial = 0;

  private constructor(options: DnsmasqOptions, port: number) {
    this.options = options;
    this.address = options.address ?? "127.0.0.1";
    this.port = port;
    this.hosts = options.hosts ?? [];
    this.dir = mkdtempSync(join(tmpdir(), "erldist-dns-"));
    chmodSync(this.dir, 0o755); // dnsmasq drops root after start and must still read the file
    this.hostsFile = join(this.dir, "hosts");
  }

  static async start(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
    requireDnsmasq();
    const server = new Dnsmasq(options, options.port ?? (await freePort()));
    await server.run();
    return server;
  }

  /** "address:port", as a resolver's server. */
  get server(): string {
    return this.address.includes(":") ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Replaces the A/AAAA records and waits until dnsmasq answers from the new ones. */
  async setHosts(hosts: Array<[name: string, address: string]>): Promise<void> {
    this.hosts = hosts;
    this.writeHosts();
    if (!this.child) return;
    this.child.kill("SIGHUP");
    await this.waitForSerial();
  }

  /** Stops the server (queries are then refused by the closed port). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await stopChild(child);
  }

  /** Starts it again after stop(), with the current records. */
  async restart(): Promise<void> {
    if (!this.child) await this.run();
  }

  /** Stops it and removes its files. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeHosts(): void {
    this.serial++;
    const lines = this.hosts.map(([name, address]) => `${address} ${name}`);
    lines.push(`127.0.0.${(this.serial % 250) + 1} serial-${this.serial}.${SENTINEL_DOMAIN}`);
    writeFileSync(this.hostsFile, `${lines.join("\n")}\n`, { mode: 0o644 });
    chmodSync(this.hostsFile, 0o644);
  }

  private async run(): Promise<void> {
    this.writeHosts();
    const names = [...this.hosts.map(([name]) => name), ...(this.options.srv ?? []).flatMap((r) => [r.name, r.target])];
    const domains = this.options.localDomains ?? [...new Set(names.map((n) => n.split(".").pop() as string))];
    const args = [
      "--keep-in-foreground",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      "--bind-interfaces",
      `--listen-address=${this.address}`,
      `--port=${this.port}`,
      `--addn-hosts=${this.hostsFile}`,
      "--local-ttl=0",
      "--cache-size=0",
      `--pid-file=${join(this.dir, "pid")}`,
      ...[...domains, "test"].map((d) => `--local=/${d}/`),
      ...(this.options.srv ?? []).map((r) => `--srv-host=${r.name},${r.target},${r.port}`),
    ];
    const child = spawnTracked("dnsmasq", args, { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    this.child = child;
    try {
      await this.waitForSerial();
    } catch (err) {
      await this.stop();
      throw new Error(`dnsmasq did not start: ${(err as Error).message}\n${log}`);
    }
  }

  /** Waits until the newest sentinel record resolves: the server is up and has read the current hosts file. */
  private async waitForSerial(): Promise<void> {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.server]);
    const deadline = Date.now() + 10_000;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (this.child && this.child.exitCode !== null) throw new Error(`dnsmasq exited with ${this.child.exitCode}`);
      try {
        await resolver.resolve4(`serial-${this.serial}.${SENTINEL_DOMAIN}`);
        return;
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    throw new Error(`dnsmasq did not answer with the current records in 10 s (${String(lastError)})`);
  }
}
