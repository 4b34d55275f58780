// Real BEAM nodes for tests. Each node is a real `erl` with a long name on 127.0.0.1, registered with the test
// file's private epmd, running test/fixtures/erldist_ctl: a control channel on fds 3 and 4 ({packet, 4}) through
// which the test evaluates Erlang on the node and drives the codec round trips. stdout/stderr are kept for
// diagnostics. The node halts by itself when the channel closes.
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { atom, decode, encode, tuple, type Encodable, type Term } from "../../src/etf/index.js";
import { spawnTracked, stopChild } from "./children.js";
import type { Epmd } from "./epmd.js";
import { compileElixirFixtures, compileFixtures, elixirLibDir, envForRelease, fixturesDir } from "./fixtures.js";

/** Requests the control channel serves (see erldist_ctl.erl). */
export const CtlOp = { Eval: 1, Roundtrip: 2, Generate: 3, Verify: 4, Call: 6 } as const;
export type CtlOp = (typeof CtlOp)[keyof typeof CtlOp];

export interface BeamOptions {
  /** Private epmd the node registers with (only its port is used). */
  epmd: Pick<Epmd, "port">;
  /** Short part of the name; the node is `<alive>@<host>`. Default: a random one. */
  alive?: string;
  /** Host part of the name (default 127.0.0.1, which also binds distribution to loopback). */
  host?: string;
  /** A command the erl command line is run under, e.g. ["ip", "netns", "exec", "pod2"] for an emulated pod. */
  wrap?: string[];
  cookie?: string;
  /** Extra arguments to erl (e.g. ["-kernel", "net_ticktime", "4"]). */
  args?: string[];
  /** Milliseconds to wait for the node to come up (default 30 s). */
  startTimeout?: number;
  /**
   * The OTP release to run (one of the matrix's, see matrixBins; its fixtures are compiled first); default: the erl
   * on PATH.
   */
  otp?: string;
  /** Load the release's own Elixir (elixir and logger on the code path) and start the elixir application. */
  elixir?: boolean;
}

/** An error the Erlang side raised while serving a control request. */
export class BeamError extends Error {
  override readonly name = "BeamError";
}

export class BeamNode {
  readonly name: string;
  readonly cookie: string;
  private readonly child: ChildProcess;
  private readonly input: Writable;
  private pending: Array<{ resolve: (b: Buffer) => void; reject: (e: Error) => void }> = [];
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private log = "";
  private exited = false;

  private constructor(name: string, cookie: string, child: ChildProcess) {
    this.name = name;
    this.cookie = cookie;
    this.child = child;
    this.input = child.stdio[3] as Writable;
    this.input.on("error", () => {}); // EPIPE after the node died is reported through exit
    (child.stdio[4] as Readable).on("data", (chunk: Buffer) => this.onData(chunk));
    child.stdout?.on("data", (d: Buffer) => this.appendLog(d));
    child.stderr?.on("data", (d: Buffer) => this.appendLog(d));
    child.once("exit", (code, signal) => {
      this.exited = true;
      const error = new BeamError(`BEAM node ${name} exited (${signal ?? code}); its output:\n${this.log}`);
      for (const waiter of this.pending.splice(0)) waiter.reject(error);
    });
  }

  /** Starts a node and waits until its control channel says it is ready. */
  static async start(options: BeamOptions): Promise<BeamNode> {
    const alive = options.alive ?? `beam${randomBytes(4).toString("hex")}`;
    const host = options.host ?? "127.0.0.1";
    const name = `${alive}@${host}`;
    const cookie = options.cookie ?? "erldist-test-cookie";
    const wrap = options.wrap ?? [];
    if (options.otp) compileFixtures(options.otp); // quick when they are compiled already
    const erlArgs = [
      "-noinput",
      "-name", name,
      "-setcookie", cookie,
      "-start_epmd", "false",
      ...(host === "127.0.0.1" ? ["-kernel", "inet_dist_use_interface", "{127,0,0,1}"] : []),
      "-pa", fixturesDir(options.otp),
      ...(options.elixir ? elixirArgs(options.otp) : []),
      ...(options.args ?? []),
      "-s", "erldist_ctl", "start",
    ];
    const child = spawnTracked(
      wrap.length > 0 ? wrap[0] : "erl",
      wrap.length > 0 ? [...wrap.slice(1), "erl", ...erlArgs] : erlArgs,
      { stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"], env: { ERL_EPMD_PORT: String(options.epmd.port), ...(options.otp ? envForRelease(options.otp) : {}) } },
    );
    const node = new BeamNode(name, cookie, child);
    const ready = new Promise<Buffer>((resolve, reject) => node.pending.push({ resolve, reject }));
    const timeout = options.startTimeout ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new BeamError(`BEAM node ${name} did not start in ${timeout} ms:\n${node.log}`)), timeout);
        }),
      ]);
    } catch (err) {
      await stopChild(child);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return node;
  }

  /** The node's OS process id (for kill -9 / SIGSTOP tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the node printed so far. */
  get output(): string {
    return this.log;
  }

  /** Sends a control request; resolves with the reply payload or rejects with the Erlang error. */
  request(op: CtlOp, payload: Uint8Array = Buffer.alloc(0)): Promise<Buffer> {
    if (this.exited) return Promise.reject(new BeamError(`BEAM node ${this.name} is not running:\n${this.log}`));
    const header = Buffer.allocUnsafe(5);
    header.writeUInt32BE(payload.length + 1, 0);
    header[4] = op;
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.input.write(header);
      this.input.write(payload);
    });
  }

  /** Evaluates Erlang expressions (e.g. `"lists:seq(1, 3)."`) on the node and returns the value, decoded. */
  async eval(source: string): Promise<Term> {
    return decode(await this.request(CtlOp.Eval, Buffer.from(source, "utf8")));
  }

  /** Calls `Module:Function(Args...)` on the node with terms as arguments (no source text) and returns the result. */
  async call(module: string, fn: string, args: Encodable[]): Promise<Term> {
    return decode(await this.request(CtlOp.Call, encode(tuple(atom(module), atom(fn), args))));
  }

  /** Stops the node (closes the channel, then signals if it lingers) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.input.end();
    const timer = setTimeout(() => void stopChild(this.child), 3000);
    await exited;
    clearTimeout(timer);
  }

  private appendLog(data: Buffer): void {
    this.log += data.toString("utf8");
    if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
  }

  private onData(chunk: Buffer): void {
    this.received.push(chunk);
    this.receivedBytes += chunk.length;
    for (;;) {
      if (this.receivedBytes < 4) return;
      if (this.received[0].length < 4) this.received = [Buffer.concat(this.received)];
      const length = this.received[0].readUInt32BE(0);
      if (this.receivedBytes < 4 + length) return; // wait for the whole packet before joining chunks
      const all = this.received.length === 1 ? this.received[0] : Buffer.concat(this.received);
      const packet = all.subarray(4, 4 + length);
      const rest = all.subarray(4 + length);
      this.received = rest.length > 0 ? [rest] : [];
      this.receivedBytes = rest.length;
      const waiter = this.pending.shift();
      if (!waiter) continue;
      if (packet[0] === 0) waiter.resolve(packet.subarray(1));
      else waiter.reject(new BeamError(`on ${this.name}: ${packet.subarray(1).toString("utf8")}`));
    }
  }
}

/** erl arguments that give a node Elixir as the `elixir` command would: its ebin directories, the app started. */
function elixirArgs(release?: string): string[] {
  if (release) compileElixirFixtures(release); // the setup compiled them for the main release only
  const lib = elixirLibDir(release);
  // Started before erldist_ctl, so the node says it is ready only once Elixir runs (a failure halts the boot).
  return ["-pa", `${lib}/ebin`, `${lib}/../logger/ebin`, "-eval", "{ok, _} = application:ensure_all_started(elixir)"];
}

/** Frames buffers as the fixtures expect: each as <<Size:32, Bytes>>. */
export function frame(buffers: Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const b of buffers) {
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32BE(b.length, 0);
    parts.push(size, b);
  }
  return Buffer.concat(parts);
}

/** Splits <<Size:32, Bytes>>* back into buffers. */
export function unframe(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const size = data.readUInt32BE(at);
    out.push(data.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return out;
}
