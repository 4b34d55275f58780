// The certificate, key and CA of one side of TLS distribution (server: incoming connections; client: outgoing ones),
// from inline PEM or from files that are re-read when they change, so that new connections use rotated
// certificates while existing ones keep theirs.
import { readFileSync, statSync, type Stats } from "node:fs";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { TlsError } from "./errors.js";
import type { ResolvedSide } from "./tls-options.js";

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * What tls.Server adds to its own secure context, which a server-side TLSSocket made by hand does not get: the
 * server's cipher preference, and a session id context (without one, OpenSSL fails a handshake that offers to
 * resume a session when it asks for the client's certificate).
 */
const SERVER_CONTEXT: SecureContextOptions = { honorCipherOrder: true, sessionIdContext: "erldist" };

/** The certificate, key and CA of one side, from inline PEM or from files that are re-read when they change. */
export class Material {
  private signature: string;
  private failedSignature = "";
  private context: SecureContext;
  private readonly files: string[];

  constructor(private readonly side: ResolvedSide) {
    this.files = [...new Set([side.certFile, side.keyFile, side.caFile].filter((f): f is string => f !== undefined))];
    this.signature = this.signatureOf(this.files.map((file) => statOrUndefined(file)));
    this.context = this.createContext(this.load()); // at start, a file that cannot be read is an error the caller sees
  }

  /** The secure context of the material last loaded. */
  get secureContext(): SecureContext {
    return this.context;
  }

  /**
   * Re-reads the files if any has changed since they were read (modification time, size or inode: a Kubernetes
   * secret volume swaps a symbolic link). Returns true when new material is in use. If the new files do not load
   * (half-written, a key that does not match its certificate), the previous material stays in use, and they are
   * read again when they change again. Synchronous (a few stat calls per new connection): an accepted socket is
   * handed to TLS in the same turn of the event loop, before it can read anything itself.
   */
  refresh(): boolean {
    if (this.files.length === 0) return false;
    const stats = this.files.map((file) => statOrUndefined(file));
    if (stats.includes(undefined)) return false; // a file missing for a moment (being replaced): keep what we have
    const signature = this.signatureOf(stats);
    if (signature === this.signature || signature === this.failedSignature) return false;
    try {
      const loaded = this.load();
      const context = this.createContext(loaded); // throws if the key does not match the certificate
      this.context = context;
      this.signature = signature;
      return true;
    } catch {
      this.failedSignature = signature;
      return false;
    }
  }

  private signatureOf(stats: Array<Stats | undefined>): string {
    return stats.map((s, i) => `${this.files[i]}:${s?.mtimeMs}:${s?.size}:${s?.ino}`).join("|");
  }

  private read(file: string, what: string): Buffer {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsError("tls_config", `cannot read the ${what} file ${file}: ${(err as Error).message}`, "config", { cause: err });
    }
  }

  private load(): SecureContextOptions {
    const side = this.side;
    const versions = [...side.versions].sort();
    return {
      cert: side.cert ?? (side.certFile !== undefined ? this.read(side.certFile, "certificate") : undefined),
      key: side.key ?? (side.keyFile !== undefined ? this.read(side.keyFile, "key") : undefined),
      ca: side.ca ?? (side.caFile !== undefined ? this.read(side.caFile, "CA certificate") : undefined),
      passphrase: side.password,
      minVersion: versions[0],
      maxVersion: versions[versions.length - 1],
      ciphers: side.ciphers,
      ...(side.role === "server" ? SERVER_CONTEXT : {}),
    };
  }

  private createContext(options: SecureContextOptions): SecureContext {
    try {
      return createSecureContext(options);
    } catch (err) {
      throw new TlsError("tls_config", `the TLS ${this.side.role} certificate, key or CA cannot be used: ${(err as Error).message}`, "config", {
        cause: err,
      });
    }
  }
}
