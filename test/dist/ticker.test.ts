// The net_ticktime logic on a hand-driven timer: no real time passes and nothing is timed. Each `elapse()` is one
// quarter of net_ticktime; the byte counters stand for what the connection read and wrote meanwhile. Then the same
// timer drives a real connection to erl: its ticks go out, and a silent peer is declared down.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistConnection, DistError, ERLDIST_FLAGS, initiateHandshake, makeControl } from "../../src/dist/index.js";
import { SILENT_INTERVALS, Ticker, type TickerTimer } from "../../src/dist/ticker.js";
import { lookupNode } from "../../src/epmd/index.js";
import { Pid, atom } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";

/** A timer that runs its interval callback only when told to. */
class HandTimer implements TickerTimer {
  callback: (() => void) | undefined;
  ms: number | undefined;
  cleared = false;

  setInterval(callback: () => void, ms: number): unknown {
    this.callback = callback;
    this.ms = ms;
    return this;
  }

  clearInterval(handle: unknown): void {
    expect(handle).toBe(this);
    this.cleared = true;
  }

  /** One interval passes (unless cleared, as a real interval would stop). */
  elapse(): void {
    if (!this.cleared) this.callback!();
  }
}

function setUp(tickTimeMs = 60_000) {
  const timer = new HandTimer();
  const peer = { read: 0, written: 0, ticks: 0, timeouts: 0 };
  const ticker = new Ticker({
    tickTimeMs,
    bytesRead: () => peer.read,
    bytesWritten: () => peer.written,
    sendTick: () => peer.ticks++,
    timeout: () => peer.timeouts++,
    timer,
  });
  return { timer, peer, ticker };
}

describe("ticker", () => {
  it("looks every quarter of net_ticktime", () => {
    expect(setUp(60_000).timer.ms).toBe(15_000);
    expect(setUp(2000).timer.ms).toBe(500);
  });

  it("writes a tick in each interval in which nothing was written, and none when something was", () => {
    const { timer, peer } = setUp();
    peer.read++;
    timer.elapse();
    expect(peer.ticks).toBe(1);
    peer.read++;
    peer.written += 100;
    timer.elapse();
    expect(peer.ticks).toBe(1);
    peer.read++;
    timer.elapse();
    expect(peer.ticks).toBe(2);
  });

  it("declares the peer down after 4 intervals without a byte from it, once, and stops", () => {
    expect(SILENT_INTERVALS).toBe(4);
    const { timer, peer, ticker } = setUp();
    for (let i = 1; i < SILENT_INTERVALS; i++) {
      timer.elapse();
      expect([ticker.silentIntervals, peer.timeouts]).toEqual([i, 0]);
    }
    timer.elapse();
    expect(peer.timeouts).toBe(1);
    expect(timer.cleared).toBe(true);
    expect(peer.ticks).toBe(SILENT_INTERVALS - 1); // no tick to a peer declared down
    timer.callback!(); // a late callback after clearing does nothing
    expect([peer.timeouts, peer.ticks]).toEqual([1, SILENT_INTERVALS - 1]);
  });

  it("any byte from the peer (a tick is 4) starts the silent count again", () => {
    const { timer, peer, ticker } = setUp();
    for (let round = 0; round < 10; round++) {
      for (let i = 1; i < SILENT_INTERVALS; i++) timer.elapse();
      expect(ticker.silentIntervals).toBe(SILENT_INTERVALS - 1);
      peer.read += 4;
      timer.elapse();
      expect(ticker.silentIntervals).toBe(0);
    }
    expect(peer.timeouts).toBe(0);
  });

  it("writing does not keep a silent peer alive: only reading does", () => {
    const { timer, peer } = setUp();
    for (let i = 0; i < SILENT_INTERVALS; i++) {
      peer.written += 10;
      timer.elapse();
    }
    expect([peer.timeouts, peer.ticks]).toEqual([1, 0]);
  });

  it("bytes read or written before the ticker started do not count as activity", () => {
    const timer = new HandTimer();
    const peer = { ticks: 0, timeouts: 0 };
    const ticker = new Ticker({
      tickTimeMs: 4000,
      bytesRead: () => 500,
      bytesWritten: () => 700,
      sendTick: () => peer.ticks++,
      timeout: () => peer.timeouts++,
      timer,
    });
    timer.elapse();
    expect([ticker.silentIntervals, peer.ticks]).toEqual([1, 1]);
  });

  it("stop clears the timer and nothing happens after", () => {
    const { timer, peer, ticker } = setUp();
    ticker.stop();
    ticker.stop();
    expect(timer.cleared).toBe(true);
    timer.callback!();
    expect([peer.ticks, peer.timeouts]).toEqual([0, 0]);
  });
});

describe("a connection to erl on a hand-driven ticker", () => {
  let epmd: Epmd;
  let beam: BeamNode;
  let counter = 0;
  const open: DistConnection[] = [];

  beforeAll(async () => {
    epmd = await startEpmd();
    beam = await BeamNode.start({ epmd });
  });

  afterAll(async () => {
    for (const connection of open) connection.close();
    await beam?.stop();
    await epmd?.stop();
  });

  async function connectTo(timer: TickerTimer): Promise<{ connection: DistConnection; name: string }> {
    const name = `ticked${counter++}@127.0.0.1`;
    const port = (await lookupNode(beam.name.split("@")[0], { port: epmd.port }))!.port;
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.once("connect", resolve));
    const handshake = await initiateHandshake(socket, { name, cookie: beam.cookie, creation: 3, flags: ERLDIST_FLAGS }, beam.name);
    const connection = new DistConnection(socket, handshake, { tickTimer: timer });
    open.push(connection);
    return { connection, name };
  }

  it("ticks in an interval in which it wrote nothing, and erl keeps the connection", async () => {
    const timer = new HandTimer();
    const { connection, name } = await connectTo(timer);
    timer.elapse();
    expect(connection.stats.ticksOut).toBe(1);
    await connection.send(makeControl("REG_SEND", { from: new Pid(atom(name), 1, 0, 3), toName: atom("nobody_here") }), atom("hi"));
    timer.elapse();
    expect(connection.stats.ticksOut).toBe(1);
    timer.elapse();
    expect(connection.stats.ticksOut).toBe(2);
    expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(name));
    expect(connection.open).toBe(true);
  });

  it("declares erl down after 4 intervals without a byte from it", async () => {
    const timer = new HandTimer();
    const { connection } = await connectTo(timer);
    const closed = new Promise<DistError | undefined>((resolve) => connection.once("close", resolve));
    // All four in one turn of the event loop: nothing can arrive from erl in between.
    for (let i = 0; i < SILENT_INTERVALS; i++) timer.elapse();
    const error = await closed;
    expect(error).toBeInstanceOf(DistError);
    expect(error!.code).toBe("timeout");
    expect(connection.open).toBe(false);
    expect(timer.cleared).toBe(true);
  });
});
