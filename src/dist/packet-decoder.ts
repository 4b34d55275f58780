// The incoming side of a connection, after framing: one distribution packet in, its control tuple and payload out.
// Pass-through packets (<<112, 131, Control, [131, Payload]>>), distribution headers with the atom cache (68) and
// fragmented messages (69 starts one, 70 continues it) all end as the same pair of terms.
import { DecodeError, decodeTerm, type Atom, type DecodeOptions, type Term } from "../etf/index.js";
import { DistError } from "./errors.js";
import { DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, Reassembler, newAtomCache, readAtomCacheRefs } from "./header.js";

const PASS_THROUGH = 112;
const VERSION = 131;

/** A decoded packet: the control tuple (always decoded exactly) and the payload, if the message has one. */
export interface DecodedPacket {
  control: Term;
  payload: Term | undefined;
}

/** Counters the decoder adds to (its connection's stats). */
export interface DecoderStats {
  fragmentsIn: number;
  atomCacheRefsIn: number;
}

export class PacketDecoder {
  private readonly atomCache = newAtomCache();
  private readonly reassembler: Reassembler;
  /** The atoms a packet's header refers to, refilled for each packet (decoding keeps no hold of the array). */
  private readonly refs: Atom[] = [];
  /** Decode options with `refs` as the atom cache: for the control message, and for the payload (with `terms`). */
  private readonly refsOptions: DecodeOptions;
  private readonly payloadRefsOptions: DecodeOptions;

  constructor(
    /** The peer's name, for messages. */
    private readonly peerName: string,
    /** How payloads decode (the node's `terms`), or undefined for the codec's defaults. */
    private readonly payloadOptions: DecodeOptions | undefined,
    maxPacketSize: number,
    private readonly stats: DecoderStats,
  ) {
    this.reassembler = new Reassembler(maxPacketSize);
    this.refsOptions = { atomCache: this.refs };
    this.payloadRefsOptions = { ...payloadOptions, atomCache: this.refs };
  }

  /**
   * Decodes one packet: the message it completes, or undefined for a fragment that does not complete one yet.
   * Throws DistError `protocol` for a packet that is not a distribution message or does not decode.
   */
  decode(packet: Buffer): DecodedPacket | undefined {
    try {
      if (packet[0] === PASS_THROUGH && packet[1] === VERSION) return this.terms(packet, 1, undefined, true);
      if (packet[0] !== VERSION || packet.length < 2) {
        throw new DistError("protocol", `${this.peerName} sent a packet that is not a distribution message (first byte ${packet[0]})`);
      }
      switch (packet[1]) {
        case DIST_HEADER: {
          const refs = this.refs;
          const offset = readAtomCacheRefs(packet, 2, this.atomCache, refs);
          this.stats.atomCacheRefsIn += refs.length;
          return this.terms(packet, offset, refs, false);
        }
        case DIST_FRAG_HEADER: {
          this.stats.fragmentsIn++;
          const whole = this.reassembler.start(packet.subarray(1), this.atomCache);
          return whole && this.terms(whole.body, 0, whole.refs, false);
        }
        case DIST_FRAG_CONT: {
          this.stats.fragmentsIn++;
          const whole = this.reassembler.continue(packet.subarray(1));
          return whole && this.terms(whole.body, 0, whole.refs, false);
        }
        default:
          throw new DistError("protocol", `${this.peerName} sent an unknown distribution header tag ${packet[1]}`);
      }
    } catch (err) {
      if (err instanceof DistError) throw err;
      throw new DistError("protocol", `${this.peerName} sent a message that does not decode: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The control message (and payload) at `offset`; `versioned`: each term has its own version byte. */
  private terms(body: Buffer, offset: number, atomCache: Atom[] | undefined, versioned: boolean): DecodedPacket {
    // Options made once: none, or the node's `terms`, without atom cache references; with this packet's own, those
    // made around `refs` (a fragmented message keeps an array of its own, so it gets new ones).
    const cached = atomCache !== undefined && atomCache.length > 0;
    const own = atomCache === this.refs;
    const options = !cached ? undefined : own ? this.refsOptions : { atomCache };
    const first = decodeTerm(body, versioned ? skipVersion(body, offset) : offset, options);
    if (first.offset >= body.length) return { control: first.term, payload: undefined };
    const payloadOptions = !cached ? this.payloadOptions : own ? this.payloadRefsOptions : { ...this.payloadOptions, atomCache };
    const second = decodeTerm(body, versioned ? skipVersion(body, first.offset) : first.offset, payloadOptions);
    if (second.offset !== body.length) throw new DecodeError("trailing_bytes", second.offset, "bytes after the payload");
    return { control: first.term, payload: second.term };
  }
}

/** The offset after a pass-through term's own version byte. */
function skipVersion(body: Buffer, at: number): number {
  if (body[at] !== VERSION) throw new DecodeError("bad_version", at, "a pass-through term lacks its version byte");
  return at + 1;
}
