// net_ticktime, as BEAM's dist_util applies it: every ticktime/4 the connection looks at what moved since the last
// look. Nothing written: it writes a tick, so that the peer hears from it. Nothing read for 4 looks in a row: the
// peer is declared down. Like BEAM, the ticker compares the connection's byte counters instead of being told about
// every read and write, which keeps it off the hot paths. Time comes from an injectable timer, so that tests
// drive it without real time.

/** The interval timer the ticker runs on (default: setInterval, unref'd so that it never keeps Node alive). */
export interface TickerTimer {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realTimer: TickerTimer = {
  setInterval(callback, ms) {
    const handle = setInterval(callback, ms);
    handle.unref();
    return handle;
  },
  clearInterval(handle) {
    clearInterval(handle as NodeJS.Timeout);
  },
};

export interface TickerOptions {
  /** net_ticktime in milliseconds: a look every quarter of it. */
  tickTimeMs: number;
  /** Bytes read from the peer so far (ticks included): any change is a sign of life. */
  bytesRead(): number;
  /** Bytes written to the peer so far, ticks not included: no change means the peer needs a tick. */
  bytesWritten(): number;
  /** Writes a tick (an empty frame). */
  sendTick(): void;
  /** The peer has been silent for 4 intervals; the ticker has stopped. */
  timeout(): void;
  timer?: TickerTimer;
}

/** Intervals without a byte from the peer after which it is down (BEAM's, fixed). */
export const SILENT_INTERVALS = 4;

export class Ticker {
  private readonly options: TickerOptions;
  private readonly timer: TickerTimer;
  private readonly handle: unknown;
  private lastRead: number;
  private lastWritten: number;
  private silent = 0;
  private stopped = false;

  constructor(options: TickerOptions) {
    this.options = options;
    this.timer = options.timer ?? realTimer;
    this.lastRead = options.bytesRead();
    this.lastWritten = options.bytesWritten();
    this.handle = this.timer.setInterval(() => this.look(), options.tickTimeMs / 4);
  }

  /** Intervals in a row in which nothing came from the peer. */
  get silentIntervals(): number {
    return this.silent;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer.clearInterval(this.handle);
  }

  private look(): void {
    if (this.stopped) return;
    const read = this.options.bytesRead();
    if (read !== this.lastRead) {
      this.lastRead = read;
      this.silent = 0;
    } else if (++this.silent >= SILENT_INTERVALS) {
      this.stop();
      this.options.timeout();
      return;
    }
    const written = this.options.bytesWritten();
    if (written === this.lastWritten) this.options.sendTick();
    this.lastWritten = written;
  }
}
