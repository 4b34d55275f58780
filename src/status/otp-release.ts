// The OTP release of each connected node: asked once per connection (rpc erlang:system_info(otp_release)), kept
// until that connection goes down. A peer that does not answer (an erldist node runs no rex) stays null.
import { Buffer } from "node:buffer";
import { atom, charlistToString, type Term } from "../etf/index.js";
import type { Node } from "../node/index.js";

interface Entry {
  /** Which connection it was asked on (its `since`). */
  since: number;
  release: string | null;
}

/** The release as a string, from the charlist erlang:system_info(otp_release) returns (or a binary, to be lenient). */
export function releaseText(term: Term): string | null {
  try {
    if (Array.isArray(term)) return charlistToString(term);
    if (Buffer.isBuffer(term)) return term.toString("utf8");
    if (typeof term === "string") return term;
  } catch {
    // not a charlist
  }
  return null;
}

export class OtpReleases {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  /** `onChange` runs when an answer arrives (or a question fails), so the page can show it. */
  constructor(
    private readonly node: Node,
    private readonly onChange: () => void,
    private readonly timeoutMs = 5000,
  ) {}

  /** The release of `peer` on its connection made at `since`; asks for it (once) on first sight of that connection. */
  get(peer: string, since: number): string | null {
    const entry = this.entries.get(peer);
    if (entry?.since === since) return entry.release;
    if (!this.closed) this.ask(peer, since);
    return null;
  }

  /** Asks every connected node not asked yet on its current connection. */
  askNew(): void {
    for (const peer of this.node.peers()) this.get(peer.name, peer.since);
  }

  /** The connection to `peer` went down: its next connection is asked again. */
  forget(peer: string): void {
    this.entries.delete(peer);
  }

  close(): void {
    this.closed = true;
    this.entries.clear();
  }

  private ask(peer: string, since: number): void {
    const entry: Entry = { since, release: null };
    this.entries.set(peer, entry);
    this.node
      .rpc(peer, "erlang", "system_info", [atom("otp_release")], { timeout: this.timeoutMs })
      .then(
        (term) => {
          entry.release = releaseText(term);
        },
        () => undefined, // stays null
      )
      .finally(() => {
        if (!this.closed && this.entries.get(peer) === entry) this.onChange();
      });
  }
}
