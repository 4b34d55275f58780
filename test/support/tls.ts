// A test certificate authority made with the openssl command in a temporary directory (removed by `remove`): CA
// certificates, node certificates signed by them (any SANs, expired on request), and OTP -ssl_dist_optfile files
// for erl (which erldist reads too). Keys are EC P-256: quick to make, and OTP 25 and Node both take them.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  /** subjectAltName IP addresses (iPAddress). */
  ips?: string[];
  /** subjectAltName DNS names (dNSName). OTP 25 checks a server's certificate against these only (see README). */
  dns?: string[];
  /** Days of validity (default 2); `expired: true` makes one that ended yesterday. */
  days?: number;
  expired?: boolean;
}

/** A new EC P-256 key, unencrypted. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A directory of certificates; every CA made with `ca` and every certificate issued lives in it. */
export class TestPki {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static create(): TestPki {
    return new TestPki(mkdtempSync(join(tmpdir(), "erldist-tls-")));
  }

  /** A new self-signed CA named `name`. */
  ca(name: string): TestCa {
    openssl(["req", "-x509", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "3", "-subj", `/CN=${name}`], this.dir);
    return new TestCa(this, name);
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  /** Writes a file into the directory (atomically: a temporary file renamed, as a Kubernetes secret volume swaps). */
  write(file: string, content: string | Buffer): string {
    const path = this.path(file);
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
    return path;
  }

  read(file: string): Buffer {
    return readFileSync(this.path(file));
  }

  /**
   * An OTP -ssl_dist_optfile with mutual verification (verify_peer and fail_if_no_peer_cert on the server,
   * verify_peer on the client), as a cluster that takes security seriously writes it.
   */
  optFile(name: string, cert: CertFiles, caFile: string): string {
    const common = `{certfile, "${cert.certFile}"}, {keyfile, "${cert.keyFile}"}, {cacertfile, "${caFile}"}, {verify, verify_peer}`;
    const text =
      `% written by test/support/tls.ts\n` +
      `[{server, [${common}, {fail_if_no_peer_cert, true}, {secure_renegotiate, true}]},\n` +
      ` {client, [${common}, {secure_renegotiate, true}]}].\n`;
    return this.write(`${name}.conf`, text);
  }

  /** Removes the directory and everything in it. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class TestCa {
  readonly certFile: string;

  constructor(
    private readonly pki: TestPki,
    readonly name: string,
  ) {
    this.certFile = pki.path(`${name}.pem`);
  }

  /** A key and a certificate signed by this CA for `name` (files <name>.pem and <name>.key), usable both ways. */
  issue(name: string, options: IssueOptions = {}): CertFiles {
    const dir = this.pki.dir;
    openssl(["req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
    const san = [...(options.ips ?? []).map((ip) => `IP:${ip}`), ...(options.dns ?? []).map((d) => `DNS:${d}`)];
    const ext = [
      ...(san.length > 0 ? [`subjectAltName=${san.join(",")}`] : []),
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
    ].join("\n");
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    // -days -1: valid from now until yesterday, which every verifier reports as expired.
    const days = options.expired ? "-1" : String(options.days ?? 2);
    const signing = ["-CA", `${this.name}.pem`, "-CAkey", `${this.name}.key`, "-CAcreateserial"];
    openssl(["x509", "-req", "-in", `${name}.csr`, ...signing, "-out", `${name}.pem`, "-days", days, "-extfile", `${name}.ext`], dir);
    return { certFile: this.pki.path(`${name}.pem`), keyFile: this.pki.path(`${name}.key`) };
  }
}
