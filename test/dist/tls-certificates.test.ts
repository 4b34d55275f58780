// The certificate checks of TLS distribution as pure functions, fed certificates the test CA makes with openssl (as
// Node describes them: X509Certificate's legacy object is what getPeerCertificate returns): names and addresses in
// every spelling, the chain's length, OpenSSL's verdicts in OTP's words, and checkPeer's refusals per side's options.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { DetailedPeerCertificate, PeerCertificate } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TlsError } from "../../src/dist/errors.js";
import {
  certHasAddress,
  certNames,
  chainReason,
  checkPeer,
  describeCert,
  intermediates,
  type HandshakenSocket,
} from "../../src/dist/tls-certificates.js";
import type { ResolvedSide } from "../../src/dist/tls-options.js";
import { TestPki, type TestCa } from "../support/tls.js";

let pki: TestPki;
let ca: TestCa;
let otherCa: TestCa;
let node: PeerCertificate; // IP:10.1.2.3, IP:2001:db8::7, DNS:node.example, DNS:*.pods.example
let ipOnly: PeerCertificate; // IP:127.0.0.1
let dnsIp: PeerCertificate; // DNS:127.0.0.1 (what OTP 25 needs for a node named x@127.0.0.1)
let noSan: PeerCertificate;

/** A certificate as Node's getPeerCertificate() describes it. */
function described(certFile: string): PeerCertificate {
  return new X509Certificate(readFileSync(certFile)).toLegacyObject();
}

/** `leaf` with its chain as getPeerCertificate(true) links it: each issuer in turn, the last one its own issuer. */
function chain(leaf: PeerCertificate, ...issuers: PeerCertificate[]): DetailedPeerCertificate {
  const linked = [leaf, ...issuers].map((cert) => ({ ...cert }) as DetailedPeerCertificate);
  linked.forEach((cert, i) => (cert.issuerCertificate = linked[i + 1] ?? cert));
  return linked[0];
}

/** What checkPeer reads of a TLS socket after its handshake. */
function handshaken(cert: PeerCertificate | DetailedPeerCertificate | Record<string, never>, verifyError?: string): HandshakenSocket {
  return {
    getPeerCertificate: () => cert,
    authorized: verifyError === undefined,
    authorizationError: verifyError as unknown as Error, // Node sets OpenSSL's code, a string
  } as HandshakenSocket;
}

function side(role: "server" | "client", overrides: Partial<ResolvedSide> = {}): ResolvedSide {
  const defaults = { verify: "verify_peer", failIfNoPeerCert: true, serverName: undefined, checkClientAddress: false } as const;
  return { role, ...defaults, versions: ["TLSv1.2", "TLSv1.3"], ...overrides };
}

beforeAll(() => {
  pki = TestPki.create();
  ca = pki.ca("cert-ca");
  otherCa = pki.ca("cert-other-ca");
  node = described(ca.issue("node", { ips: ["10.1.2.3", "2001:db8::7"], dns: ["node.example", "*.pods.example"] }).certFile);
  ipOnly = described(ca.issue("ip-only", { ips: ["127.0.0.1"] }).certFile);
  dnsIp = described(ca.issue("dns-ip", { dns: ["127.0.0.1"] }).certFile);
  noSan = described(ca.issue("no-san").certFile);
}, 30_000);

afterAll(() => pki?.remove());

describe("addresses and names", () => {
  it("certNames: a host name as RFC 6125 (wildcards one label deep), an IP address as an IP SAN in any spelling", () => {
    expect(certNames(node, "node.example")).toBe(true);
    expect(certNames(node, "a.pods.example")).toBe(true);
    expect(certNames(node, "b.a.pods.example")).toBe(false);
    expect(certNames(node, "other.example")).toBe(false);
    expect(certNames(node, "10.1.2.3")).toBe(true);
    expect(certNames(node, "::ffff:10.1.2.3")).toBe(true);
    expect(certNames(node, "2001:DB8::7")).toBe(true);
    expect(certNames(node, "[2001:db8::7]")).toBe(true);
    expect(certNames(node, "10.1.2.4")).toBe(false);
    expect(certNames(noSan, "10.1.2.3")).toBe(false);
  });

  it("certNames takes an IP address spelled as a DNS SAN (OTP 25's form); certHasAddress wants an IP SAN", () => {
    expect(certNames(dnsIp, "127.0.0.1")).toBe(true);
    expect(certHasAddress(dnsIp, "127.0.0.1")).toBe(false);
    expect(certNames(ipOnly, "127.0.0.1")).toBe(true);
    expect(certHasAddress(ipOnly, "127.0.0.1")).toBe(true);
    expect(certHasAddress(ipOnly, "::ffff:127.0.0.1")).toBe(true);
    expect(certHasAddress(ipOnly, "127.0.0.2")).toBe(false);
    expect(certHasAddress(node, "2001:db8:0::7")).toBe(true);
    expect(certHasAddress(node, "node.example")).toBe(false); // not an address at all
    expect(certHasAddress(noSan, "10.1.2.3")).toBe(false);
  });

  it("describeCert: the subject's CN, the SANs, the issuer and the end of validity", () => {
    const text = describeCert(node);
    expect(text).toMatch(/^CN=node; /);
    expect(text).toContain("IP Address:10.1.2.3");
    expect(text).toContain("DNS:node.example");
    expect(text).toContain("issued by cert-ca");
    expect(text).toContain(`valid until ${node.valid_to}`);
    expect(describeCert(noSan)).toBe(`CN=no-san; issued by cert-ca; valid until ${noSan.valid_to}`);
    expect(describeCert({} as PeerCertificate)).toBe("no CN");
  });
});

describe("chains and verdicts", () => {
  it("intermediates counts the certificates between the peer's and the self-signed root", () => {
    const root = described(ca.certFile);
    const middle = described(otherCa.certFile); // a stand-in: only the links count
    expect(intermediates(chain(node))).toBe(0); // the peer's certificate alone
    expect(intermediates(chain(node, root))).toBe(0);
    expect(intermediates(chain(node, middle, root))).toBe(1);
    expect(intermediates(chain(node, ipOnly, middle, root))).toBe(2);
    const unlinked = { ...node } as DetailedPeerCertificate; // no issuer given
    expect(intermediates(unlinked)).toBe(0);
  });

  it("chainReason gives OTP's reason and words for OpenSSL's verdicts", () => {
    expect(chainReason("CERT_HAS_EXPIRED")).toEqual({ reason: "expired", words: "it has expired" });
    expect(chainReason("CERT_NOT_YET_VALID").reason).toBe("not_yet_valid");
    for (const code of ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT"]) {
      expect(chainReason(code)).toEqual({ reason: "unknown_ca", words: "it is not issued by a CA this node trusts" });
    }
    expect(chainReason("CERT_REVOKED").reason).toBe("revoked");
    expect(chainReason("CERT_CHAIN_TOO_LONG").reason).toBe("chain_too_long");
    expect(chainReason("INVALID_PURPOSE")).toEqual({ reason: "bad_certificate", words: "it does not verify (INVALID_PURPOSE)" });
  });
});

describe("checkPeer: the checks OTP makes with a side's options", () => {
  const from = "10.1.2.3:40000";

  function refusal(result: TlsError | undefined): TlsError {
    expect(result).toBeInstanceOf(TlsError);
    expect(result!.code).toBe("peer_cert_rejected");
    return result!;
  }

  it("verify_none checks nothing", () => {
    expect(checkPeer(handshaken({}), side("server", { verify: "verify_none" }), { from })).toBeUndefined();
    expect(checkPeer(handshaken(node, "CERT_HAS_EXPIRED"), side("client", { verify: "verify_none" }), { peer: "a@b", expected: "x" })).toBeUndefined();
  });

  it("no certificate: refused by a server with fail_if_no_peer_cert, and always by a client", () => {
    const server = refusal(checkPeer(handshaken({}), side("server"), { from }));
    expect(server).toMatchObject({ reason: "no_certificate", message: `refused the node connecting from ${from}: it presented no certificate` });
    expect(checkPeer(handshaken({}), side("server", { failIfNoPeerCert: false }), { from })).toBeUndefined();
    const client = refusal(checkPeer(handshaken({}), side("client", { failIfNoPeerCert: false }), { peer: "app@10.1.2.3" }));
    expect(client).toMatchObject({ reason: "no_certificate", message: "refused app@10.1.2.3: it presented no certificate" });
  });

  it("a chain OpenSSL did not verify: OTP's reason, and the certificate described", () => {
    const expired = refusal(checkPeer(handshaken(chain(node), "CERT_HAS_EXPIRED"), side("server"), { from }));
    expect(expired.reason).toBe("expired");
    expect(expired.message).toBe(`refused the certificate of the node connecting from ${from}: it has expired (${describeCert(node)})`);
    expect(expired.cause).toBe("CERT_HAS_EXPIRED");
    const foreign = refusal(checkPeer(handshaken(chain(node), "DEPTH_ZERO_SELF_SIGNED_CERT"), side("client"), { peer: "app@10.1.2.3" }));
    expect(foreign.reason).toBe("unknown_ca");
    expect(foreign.message).toContain("refused the certificate of app@10.1.2.3: it is not issued by a CA this node trusts (CN=node;");
  });

  it("depth: more intermediate CAs than allowed is chain_too_long", () => {
    const long = chain(node, described(otherCa.certFile), described(ca.certFile));
    expect(refusal(checkPeer(handshaken(long), side("client", { depth: 0 }), { peer: "a@b" })).reason).toBe("chain_too_long");
    expect(checkPeer(handshaken(long), side("client", { depth: 1 }), { peer: "a@b" })).toBeUndefined();
    expect(checkPeer(handshaken(long), side("client"), { peer: "a@b" })).toBeUndefined();
  });

  it("the client checks that the server's certificate names the expected host", () => {
    expect(checkPeer(handshaken(chain(node)), side("client"), { peer: "app@node.example", expected: "node.example" })).toBeUndefined();
    expect(checkPeer(handshaken(chain(node)), side("client"), { peer: "app@10.1.2.3", expected: "10.1.2.3" })).toBeUndefined();
    const misnamed = refusal(checkPeer(handshaken(chain(node)), side("client"), { peer: "app@elsewhere.example", expected: "elsewhere.example" }));
    expect(misnamed.reason).toBe("name_mismatch");
    expect(misnamed.message).toContain("refused the certificate of app@elsewhere.example: it is not for elsewhere.example (CN=node;");
    expect(misnamed.message).toContain("(or set serverName)");
    // expected undefined (serverName: false): the CA check only.
    expect(checkPeer(handshaken(chain(node)), side("client"), { peer: "app@elsewhere.example" })).toBeUndefined();
  });

  it("checkClientAddress: the server wants the client's address as an IP SAN (a client ignores the option)", () => {
    const checking = side("server", { checkClientAddress: true });
    expect(checkPeer(handshaken(chain(node)), checking, { from, address: "10.1.2.3" })).toBeUndefined();
    expect(checkPeer(handshaken(chain(node)), checking, { from, address: "::ffff:10.1.2.3" })).toBeUndefined();
    const elsewhere = refusal(checkPeer(handshaken(chain(node)), checking, { from: "[::ffff:10.9.9.9]:1", address: "::ffff:10.9.9.9" }));
    expect(elsewhere.reason).toBe("address_mismatch");
    expect(elsewhere.message).toContain("it does not carry the address 10.9.9.9 (CN=node;");
    expect(refusal(checkPeer(handshaken(chain(dnsIp)), checking, { from, address: "127.0.0.1" })).reason).toBe("address_mismatch");
    expect(checkPeer(handshaken(chain(node)), side("server"), { from, address: "10.9.9.9" })).toBeUndefined();
    expect(checkPeer(handshaken(chain(node)), side("client", { checkClientAddress: true }), { peer: "a@b", address: "10.9.9.9" })).toBeUndefined();
  });
});
