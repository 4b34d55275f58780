// TLS distribution against real erl (the release under test, with -proto_dist inet_tls -ssl_dist_optfile): TLS first, then the
// version 6 handshake inside it, both ways, with mutual verification (verify_peer and fail_if_no_peer_cert on both
// sides); the refusals (no client certificate, another CA, expired, a BEAM node erldist does not trust, a name
// that does not match, plain TCP against TLS both ways), each a clear error that leaves the node serving others;
// incoming connections each on their own TLS socket (refusals at once told apart, a handshake that times out, a TLS
// error after the handshake, an IPv6 address); certificate rotation; and OTP's option file, read by erldist from
// the same file erl gets. The test CA is made with openssl in a temporary directory, removed at the end.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DistError, TlsError, parseOptFile } from "../../src/dist/index.js";
import { ErlangTextError, parseErlangTerm } from "../../src/dist/erlang-text.js";
import { Tuple, atom, tuple, type Atom, type Term } from "../../src/etf/index.js";
import { Node, NodeError, type NodeOptions } from "../../src/node/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { rejectionOf } from "../support/rejection.js";
import { otpReleaseOf } from "../support/release.js";
import { TestPki, type CertFiles, type TestCa } from "../support/tls.js";

const HOST = "127.0.0.1";
/**
 * What a certificate for a node named x@127.0.0.1 carries: OTP 25 matches only the DNS form, OTP 26+ and RFC 6125
 * the IP form; with both, every release accepts it.
 */
const LOOPBACK = { ips: [HOST], dns: [HOST] };

let pki: TestPki;
let ca: TestCa; // the cluster's CA
let otherCa: TestCa; // a CA nobody in the cluster trusts
let epmd: Epmd;
let beam: BeamNode; // TLS, mutual verification, certificate from the cluster's CA
let plainBeam: BeamNode; // plain TCP distribution
let rogue: BeamNode; // TLS, trusts the cluster's CA, but its own certificate is from the other CA
let node: Node; // erldist, TLS from the very option file `beam` runs with
const nodes: Node[] = [];
const beams: BeamNode[] = [];
let counter = 0;

function tlsArgs(optFile: string): string[] {
  return ["-proto_dist", "inet_tls", "-ssl_dist_optfile", optFile];
}

async function startBeam(optFile?: string): Promise<BeamNode> {
  const started = await BeamNode.start({ epmd, args: optFile ? tlsArgs(optFile) : [] });
  beams.push(started);
  return started;
}

async function startNode(options: Partial<NodeOptions> = {}): Promise<Node> {
  const started = await Node.start({ name: `tls${++counter}@${HOST}`, cookie: beam.cookie, epmd: { port: epmd.port }, listenHost: HOST, ...options });
  nodes.push(started);
  return started;
}

/** The protocol BEAM's net_kernel says the connection to `peer` runs on (tls or tcp). */
async function protocolSeenBy(from: BeamNode, peer: string): Promise<Term> {
  return from.eval(`{net_address, _, _, Protocol, _} = proplists:get_value(address, element(2, net_kernel:node_info('${peer}'))), Protocol.`);
}

const hiddenOf = async (b: BeamNode) => ((await b.eval("nodes(hidden).")) as Atom[]).map((a) => a.name);

/** The next incoming connection `target` refuses; checks that the event says where it came from. */
async function nextAcceptFailure(target: Node): Promise<DistError> {
  const [error, from] = await new Promise<[DistError, string]>((resolve) => target.once("acceptFailed", (...args) => resolve(args)));
  expect(from).toMatch(/^127\.0\.0\.1:\d+$/);
  return error;
}

/** erldist's TLS options for a node with `cert` (undefined: no certificate for outgoing connections). */
function tlsFor(cert: CertFiles | undefined, caFile = ca.certFile): NodeOptions["tls"] {
  const server = issueLoopback(`srv${++counter}`);
  return { caFile, server, client: cert ?? {} };
}

function issueLoopback(name: string, issuer: TestCa = ca): CertFiles {
  return issuer.issue(name, LOOPBACK);
}

beforeAll(async () => {
  pki = TestPki.create();
  ca = pki.ca("cluster-ca");
  otherCa = pki.ca("other-ca");
  epmd = await startEpmd();
  const beamOpt = pki.optFile("beam", issueLoopback("beam"), ca.certFile);
  const rogueOpt = pki.optFile("rogue", issueLoopback("rogue", otherCa), ca.certFile);
  [beam, plainBeam, rogue] = await Promise.all([startBeam(beamOpt), startBeam(), startBeam(rogueOpt)]);
  // One file serves BEAM and erldist: erldist reads the option file erl was started with.
  node = await startNode({ tls: { optFile: beamOpt } });
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(beams.map((b) => b.stop()));
  await epmd?.stop();
  pki?.remove();
});

describe("TLS distribution with erl, mutual verification both ways", () => {
  it("erldist connects to a TLS BEAM node: rpc and messages both ways over TLS", async () => {
    expect(await node.connect(beam.name)).toBe(true);
    expect(await protocolSeenBy(beam, node.name)).toBe(atom("tls"));
    expect(await hiddenOf(beam)).toContain(node.name);
    expect(await node.rpc(beam.name, "erlang", "node", [])).toBe(atom(beam.name));
    expect(await node.rpc(beam.name, "lists", "seq", [1, 5])).toEqual([1, 2, 3, 4, 5]);
    // erldist -> BEAM -> erldist: an echo process on the BEAM node answers a process of erldist.
    await beam.eval("register(tls_echo, spawn(fun Loop() -> receive {From, M} -> From ! {echo, M}, Loop() end end)), ok.");
    const p = node.spawn();
    await p.send(["tls_echo", beam.name], tuple(p.pid, "héllo over TLS"));
    const reply = await p.receive(undefined, { timeout: 5000 });
    expect(reply).toEqual(tuple(atom("echo"), Buffer.from("héllo over TLS")));
    // BEAM -> erldist, to a registered name.
    const inbox = node.spawn();
    node.register("tls_inbox", inbox);
    await beam.eval(`{tls_inbox, '${node.name}'} ! {from_beam, lists:seq(1, 3)}, ok.`);
    expect(await inbox.receive(undefined, { timeout: 5000 })).toEqual(tuple(atom("from_beam"), [1, 2, 3]));
    // Closing the TLS connection here closes it for BEAM too.
    expect(node.disconnect(beam.name)).toBe(true);
    await expect.poll(() => hiddenOf(beam), { timeout: 5000 }).not.toContain(node.name);
  });

  it("a TLS BEAM node connects to erldist (net_adm:ping): rpc and messages both ways", async () => {
    const other = await startBeam(pki.optFile("beam2", issueLoopback("beam2"), ca.certFile));
    const up = new Promise<string>((resolve) => node.once("nodeup", resolve));
    expect(await other.eval(`net_adm:ping('${node.name}').`)).toBe(atom("pong"));
    expect(await up).toBe(other.name);
    expect(node.nodes()).toContain(other.name);
    expect(await protocolSeenBy(other, node.name)).toBe(atom("tls"));
    expect(await node.rpc(other.name, "erlang", "node", [])).toBe(atom(other.name));
    const inbox = node.spawn();
    node.register("tls_inbox2", inbox);
    await other.eval(`{tls_inbox2, '${node.name}'} ! hello_from_the_acceptor_side, ok.`);
    expect(await inbox.receive(undefined, { timeout: 5000 })).toBe(atom("hello_from_the_acceptor_side"));
    // And a large message (fragments, many TLS records) arrives whole.
    await other.eval(`{tls_inbox2, '${node.name}'} ! {big, binary:copy(<<"x">>, 3000000)}, ok.`);
    const big = (await inbox.receive(undefined, { timeout: 10_000 })) as Tuple;
    expect((big.elements[1] as Buffer).length).toBe(3_000_000);
  });

  it("two erldist nodes connect over TLS (TLS 1.3 between them), also both at once (simultaneous connect)", async () => {
    const a = await startNode({ tls: tlsFor(issueLoopback("pair-a")) });
    const b = await startNode({ tls: tlsFor(issueLoopback("pair-b")) });
    await a.connect(b.name);
    expect(b.nodes()).toContain(a.name);
    expect(await a.ping(b.name)).toBe("pong");
    const c = await startNode({ tls: tlsFor(issueLoopback("pair-c")) });
    const d = await startNode({ tls: tlsFor(issueLoopback("pair-d")) });
    expect(await Promise.all([c.connect(d.name), d.connect(c.name)])).toEqual([true, true]);
    expect(c.nodes()).toEqual([d.name]);
    expect(d.nodes()).toEqual([c.name]);
    expect(await c.ping(d.name)).toBe("pong");
  });

  it("the server checks the client's address in its certificate when asked (OTP's verify_client)", async () => {
    const checking = await startNode({ tls: { ...tlsFor(issueLoopback("addr-c")), server: { ...issueLoopback("addr-s"), checkClientAddress: true } } });
    expect(await beam.eval(`net_adm:ping('${checking.name}').`)).toBe(atom("pong")); // its certificate has IP:127.0.0.1
    const dnsOnly = await startBeam(pki.optFile("dns-only", ca.issue("dns-only", { dns: [HOST] }), ca.certFile));
    const refused = nextAcceptFailure(checking);
    expect(await dnsOnly.eval(`net_adm:ping('${checking.name}').`)).toBe(atom("pang"));
    expect(await refused).toMatchObject({ code: "peer_cert_rejected", reason: "address_mismatch" });
  });

  it("an AbortSignal stops a connection attempt during the TLS handshake", async () => {
    const patient = await startNode({ tls: tlsFor(issueLoopback("patient")), connectTimeout: 10_000 });
    const started = Date.now();
    const error = await rejectionOf(patient.connect(plainBeam.name, { signal: AbortSignal.timeout(300) }), NodeError);
    expect(error.code).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await patient.ping(beam.name)).toBe("pong");
  });
});

describe("refusals: each a clear error, and the node goes on serving", () => {
  /** The refused node still serves: a TLS BEAM node connects to it, and erldist's own connection to beam works. */
  async function stillServing(target: Node): Promise<void> {
    expect(await beam.eval(`net_adm:ping('${target.name}').`)).toBe(atom("pong"));
    expect(await node.ping(beam.name)).toBe("pong");
  }

  it("erldist without a client certificate: the BEAM node refuses it (cert_rejected, no_certificate)", async () => {
    const bare = await startNode({ tls: tlsFor(undefined) });
    const error = await rejectionOf(bare.connect(beam.name), TlsError);
    expect(error.code).toBe("cert_rejected");
    expect(error.reason).toBe("no_certificate");
    expect(error.message).toContain(beam.name);
    expect(bare.nodes()).toEqual([]);
    await stillServing(bare);
  });

  it("erldist with a certificate from another CA: refused (cert_rejected, unknown_ca)", async () => {
    const foreign = await startNode({ tls: tlsFor(issueLoopback("foreign", otherCa)) });
    const error = await rejectionOf(foreign.connect(beam.name), TlsError);
    expect(error.code).toBe("cert_rejected");
    expect(error.reason).toBe("unknown_ca");
    await stillServing(foreign);
  });

  it("erldist with an expired certificate: refused (cert_rejected, expired)", async () => {
    const stale = await startNode({ tls: tlsFor(ca.issue("stale", { ...LOOPBACK, expired: true })) });
    const error = await rejectionOf(stale.connect(beam.name), TlsError);
    expect(error.code).toBe("cert_rejected");
    expect(error.reason).toBe("expired");
    await stillServing(stale);
  });

  it("a BEAM node whose certificate erldist does not trust: refused both ways (peer_cert_rejected, unknown_ca)", async () => {
    const out = await rejectionOf(node.connect(rogue.name), TlsError);
    expect(out.code).toBe("peer_cert_rejected");
    expect(out.reason).toBe("unknown_ca");
    expect(out.message).toContain(rogue.name);
    expect(out.message).toContain("CN=rogue");

    const refused = nextAcceptFailure(node);
    expect(await rogue.eval(`net_adm:ping('${node.name}').`)).toBe(atom("pang"));
    const incoming = (await refused) as TlsError;
    expect(incoming).toBeInstanceOf(TlsError);
    expect(incoming.code).toBe("peer_cert_rejected");
    expect(incoming.reason).toBe("unknown_ca");
    expect(node.nodes()).not.toContain(rogue.name);
    await stillServing(node);
  });

  it("a BEAM node whose certificate does not name its host: refused (name_mismatch); serverName: false skips the name check", async () => {
    const misnamed = await startBeam(pki.optFile("misnamed", ca.issue("misnamed", { dns: ["elsewhere.example"] }), ca.certFile));
    const error = await rejectionOf(node.connect(misnamed.name), TlsError);
    expect(error.code).toBe("peer_cert_rejected");
    expect(error.reason).toBe("name_mismatch");
    expect(error.message).toContain("elsewhere.example");
    const lenient = await startNode({ tls: { ...tlsFor(issueLoopback("lenient")), client: { ...issueLoopback("lenient-c"), serverName: false } } });
    expect(await lenient.connect(misnamed.name)).toBe(true);
  });

  it("plain erldist to a TLS BEAM node, and a TLS BEAM node to plain erldist: peer_requires_tls", async () => {
    const plain = await startNode();
    const out = await rejectionOf(plain.connect(beam.name), DistError);
    expect(out.code).toBe("peer_requires_tls");
    const refused = nextAcceptFailure(plain);
    expect(await beam.eval(`net_adm:ping('${plain.name}').`)).toBe(atom("pang"));
    expect((await refused).code).toBe("peer_requires_tls");
    expect(await plain.ping(plainBeam.name)).toBe("pong"); // and it serves plain peers as before

    // Between erldist nodes, both sides know at once.
    const toPlain = nextAcceptFailure(plain);
    const started = Date.now();
    expect(await rejectionOf(node.connect(plain.name), TlsError)).toMatchObject({ code: "peer_not_tls", reason: "not_tls" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await toPlain).code).toBe("peer_requires_tls");
  });

  it("TLS erldist to a plain BEAM node, and a plain BEAM node to TLS erldist: peer_not_tls", async () => {
    const quick = await startNode({ tls: tlsFor(issueLoopback("quick")) });
    const started = Date.now();
    const out = await rejectionOf(quick.connect(plainBeam.name, { timeout: 2000 }), TlsError);
    expect(out.code).toBe("peer_not_tls");
    expect(Date.now() - started).toBeLessThan(2000); // reported before the attempt's own timeout
    const refused = nextAcceptFailure(node);
    expect(await plainBeam.eval(`net_adm:ping('${node.name}').`)).toBe(atom("pang"));
    expect((await refused).code).toBe("peer_not_tls");
    await stillServing(node);
  });

  it("a TCP connection that closes before saying anything (a probe) is reported as such", async () => {
    const refused = nextAcceptFailure(node);
    const probe = connect({ host: HOST, port: node.port });
    probe.once("connect", () => probe.destroy());
    expect(await refused).toMatchObject({ code: "tls_failed", reason: "closed" });
    await stillServing(node);
  });

  it("between erldist nodes (TLS 1.3): a client certificate the server does not trust is reported on both sides", async () => {
    const server = await startNode({ tls: tlsFor(issueLoopback("strict-srv")) });
    const client = await startNode({ tls: tlsFor(issueLoopback("strict-cli", otherCa)) });
    const refused = nextAcceptFailure(server);
    const error = await rejectionOf(client.connect(server.name), TlsError);
    expect(error.code).toBe("cert_rejected");
    const incoming = (await refused) as TlsError;
    expect(incoming.code).toBe("peer_cert_rejected");
    expect(incoming.reason).toBe("unknown_ca");

    // The other way: a client that does not trust the server's certificate.
    const suspicious = await startNode({ tls: tlsFor(issueLoopback("suspicious", otherCa), otherCa.certFile) });
    const closedOn = nextAcceptFailure(server);
    const out = await rejectionOf(suspicious.connect(server.name), TlsError);
    expect(out).toMatchObject({ code: "peer_cert_rejected", reason: "unknown_ca" });
    expect(await closedOn).toMatchObject({ code: "cert_rejected", reason: "closed" });
  });
});

describe("incoming connections: one TLS socket each, each refusal told on its own", () => {
  /** The next refusal of `target` with where it came from. */
  function nextRefusal(target: Node): Promise<[DistError, string]> {
    return new Promise((resolve) => target.once("acceptFailed", (...args) => resolve(args)));
  }

  /** The codes along an error's chain of causes. */
  function codesOf(error: unknown): unknown[] {
    const codes: unknown[] = [];
    for (let at = error; at instanceof Error && codes.length < 10; at = at.cause) codes.push((at as { code?: unknown }).code);
    return codes;
  }

  /** Connects to `target` over TCP from 127.0.0.1. */
  async function tcpTo(target: Node, host = HOST): Promise<Socket> {
    const socket = connect({ host, port: target.port });
    await once(socket, "connect");
    return socket;
  }

  it("connections in their TLS handshakes at once: each refusal names its own connection", async () => {
    const refusals: Array<[DistError, string]> = [];
    const all = new Promise<void>((resolve) => {
      const onRefused = (...args: [DistError, string]): void => {
        refusals.push(args);
        if (refusals.length < 2) return;
        node.off("acceptFailed", onRefused);
        resolve();
      };
      node.on("acceptFailed", onRefused);
    });
    // And a TLS node connects meanwhile: a new connection, so that it runs its TLS handshake among the others.
    node.disconnect(beam.name);
    await expect.poll(() => hiddenOf(beam), { timeout: 5000 }).not.toContain(node.name);
    const [plain, probe] = await Promise.all([tcpTo(node), tcpTo(node)]);
    const [plainFrom, probeFrom] = [plain, probe].map((socket) => `${HOST}:${socket.localPort}`);
    const pinged = beam.eval(`net_adm:ping('${node.name}').`);
    plain.write(Buffer.from([0, 15, 0x4e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // a plain handshake's first bytes
    probe.destroy();
    await all;
    const byPort = new Map(refusals.map(([error, from]) => [from, error]));
    expect(byPort.get(plainFrom)).toMatchObject({ code: "peer_not_tls", reason: "not_tls" });
    expect(byPort.get(probeFrom)).toMatchObject({ code: "tls_failed", reason: "closed" });
    expect(await pinged).toBe(atom("pong"));
    plain.destroy();
  });

  it("a TLS handshake that does not complete within connectTimeout is refused (timeout)", async () => {
    const slow = await startNode({ tls: tlsFor(issueLoopback("slow-srv")), connectTimeout: 500 });
    const refused = nextRefusal(slow);
    const silent = await tcpTo(slow);
    const [error, from] = await refused;
    expect(from).toBe(`${HOST}:${silent.localPort}`);
    expect(error).toMatchObject({ code: "tls_failed", reason: "timeout", message: `the TLS handshake from ${from} did not complete in time` });
    await once(silent, "close"); // this node closed it
  });

  it("a broken TLS record after the handshake closes that connection, reported, as any TLS error then", async () => {
    const target = await startNode({ tls: tlsFor(issueLoopback("record-srv")), connectTimeout: 30_000 });
    const refused = nextRefusal(target);
    // A TLS client over a stream this test writes the TCP bytes of: after the handshake, bytes that are no record.
    const tcp = await tcpTo(target);
    const stream = new Duplex({ read() {}, write: (chunk, _encoding, done) => void tcp.write(chunk, done) });
    tcp.on("data", (data) => stream.push(data));
    const cert = issueLoopback("record-cli");
    const [certPem, keyPem, caPem] = [cert.certFile, cert.keyFile, ca.certFile].map((file) => readFileSync(file));
    const client = tlsConnect({ socket: stream, cert: certPem, key: keyPem, ca: caPem, checkServerIdentity: () => undefined });
    client.on("error", () => undefined); // the server's alert
    await once(client, "secureConnect");
    tcp.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(0x20, 7)]));
    const [error, from] = await refused;
    expect(from).toBe(`${HOST}:${tcp.localPort}`);
    // At once, with the TLS error: not left waiting (the TLS socket silent) until the distribution handshake times out.
    expect(error.code).not.toBe("timeout");
    expect(codesOf(error)).toContain("ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC");
    tcp.destroy();
  });

  it("from an IPv6 address: the address in brackets", async () => {
    const v6 = await startNode({ tls: tlsFor(issueLoopback("v6-srv")), listenHost: "::1" });
    const refused = nextRefusal(v6);
    const probe = await tcpTo(v6, "::1");
    const expected = `[::1]:${probe.localPort}`;
    probe.destroy();
    const [error, from] = await refused;
    expect(from).toBe(expected);
    expect(error).toMatchObject({ code: "tls_failed", reason: "closed", message: `a connection from ${expected} closed before its TLS handshake began` });
  });
});

describe("the name check follows the peer's release", () => {
  it("a server certificate naming 127.0.0.1 only as an IP address: OTP 25 refuses it, OTP 26+ accepts it", async () => {
    // OTP 25's client checks an IP host as a DNS name (hostname_check_failed without DNS:127.0.0.1); later releases
    // match the iPAddress SAN as RFC 6125 says.
    const ipOnly = await startNode({ tls: { caFile: ca.certFile, server: ca.issue("ip-only", { ips: [HOST] }), client: issueLoopback("ip-only-client") } });
    const client = await startBeam(pki.optFile("ip-only-beam", issueLoopback("ip-only-beam"), ca.certFile));
    if ((await otpReleaseOf(client)) >= 26) {
      expect(await client.eval(`net_adm:ping('${ipOnly.name}').`)).toBe(atom("pong"));
      expect(ipOnly.nodes()).toContain(client.name);
    } else {
      const refused = nextAcceptFailure(ipOnly);
      expect(await client.eval(`net_adm:ping('${ipOnly.name}').`)).toBe(atom("pang"));
      expect(await refused).toMatchObject({ code: "cert_rejected", reason: "handshake_failure" });
    }
  });
});

describe("certificate rotation: new connections use the files as they are now", () => {
  it("a new server certificate is presented to the next BEAM node that connects; existing connections stay", async () => {
    // Files in the place a Kubernetes secret volume would be; the first certificate names another host, so a BEAM
    // node of any release refuses it; the rotated one names this host.
    ca.issue("rot-a", { ips: ["10.99.0.7"], dns: ["elsewhere.example"] });
    ca.issue("rot-b", LOOPBACK);
    const certFile = pki.write("rot.pem", pki.read("rot-a.pem"));
    const keyFile = pki.write("rot.key", pki.read("rot-a.key"));
    const rotating = await startNode({ tls: { caFile: ca.certFile, certFile, keyFile } });
    expect(await rotating.connect(beam.name)).toBe(true); // outgoing: BEAM's server does not check names
    const client = await startBeam(pki.optFile("rot-client", issueLoopback("rot-client"), ca.certFile));
    // OTP's client ends the handshake with an alert when the name check fails (seen: handshake_failure on OTP 25,
    // bad_certificate on 27 and 29; 26 is taken to be as 27).
    const nameCheckAlert = (await otpReleaseOf(client)) >= 26 ? "bad_certificate" : "handshake_failure";
    const oldCertificateRefused = async () => {
      const refused = nextAcceptFailure(rotating);
      expect(await client.eval(`net_adm:ping('${rotating.name}').`)).toBe(atom("pang"));
      expect(await refused).toMatchObject({ code: "cert_rejected", reason: nameCheckAlert });
    };
    await oldCertificateRefused();

    // Half a rotation (the new certificate, the old key): they do not match, so the old pair stays in use, both for
    // incoming connections (refused for the name as before, not broken) and for outgoing ones.
    pki.write("rot.pem", pki.read("rot-b.pem"));
    await oldCertificateRefused();
    const another = await startBeam(pki.optFile("rot-other", issueLoopback("rot-other"), ca.certFile));
    expect(await rotating.connect(another.name)).toBe(true);

    pki.write("rot.key", pki.read("rot-b.key"));
    expect(await client.eval(`net_adm:ping('${rotating.name}').`)).toBe(atom("pong"));
    expect(rotating.nodes()).toEqual(expect.arrayContaining([beam.name, another.name, client.name]));
    expect(await rotating.ping(beam.name)).toBe("pong"); // made before the rotation, still up
  });

  it("a new client certificate is presented on the next outgoing connection", async () => {
    ca.issue("rotc-a", { ...LOOPBACK, expired: true });
    ca.issue("rotc-b", LOOPBACK);
    const certFile = pki.write("rotc.pem", pki.read("rotc-a.pem"));
    const keyFile = pki.write("rotc.key", pki.read("rotc-a.key"));
    const rotating = await startNode({ tls: { caFile: ca.certFile, server: issueLoopback("rotc-srv"), client: { certFile, keyFile } } });
    expect((await rejectionOf(rotating.connect(beam.name), TlsError)).reason).toBe("expired");
    pki.write("rotc.pem", pki.read("rotc-b.pem"));
    pki.write("rotc.key", pki.read("rotc-b.key"));
    expect(await rotating.connect(beam.name)).toBe(true);
  });
});

describe("options", () => {
  it("reads OTP's option file: comments, quoted atoms, disable, verify_fun, versions; erldist's own fields win", () => {
    const parsed = parseOptFile(
      `%% the cluster's TLS distribution options\n` +
        `[{server, [{certfile, "/etc/tls/tls.crt"}, {keyfile, <<"/etc/tls/tls.key">>}, {cacertfile, "/etc/\\x{74}ls/ca.crt"},\n` +
        `            {verify, verify_peer}, {fail_if_no_peer_cert, true}, {secure_renegotiate, true},\n` +
        `            {verify_fun, {inet_tls_dist, verify_client, []}}, {versions, ['tlsv1.2', 'tlsv1.3']}]},\n` +
        ` {client, [{certfile, "/etc/tls/" "tls.crt"}, {cacertfile, "/etc/tls/ca.crt"}, {verify, verify_peer},\n` +
        `           {server_name_indication, disable}, {depth, 2}]}].`,
    );
    expect(parsed.server).toEqual({
      certFile: "/etc/tls/tls.crt",
      keyFile: "/etc/tls/tls.key",
      caFile: "/etc/tls/ca.crt",
      verify: "verify_peer",
      failIfNoPeerCert: true,
      checkClientAddress: true,
      versions: ["TLSv1.2", "TLSv1.3"],
    });
    expect(parsed.client).toEqual({ certFile: "/etc/tls/tls.crt", caFile: "/etc/tls/ca.crt", verify: "verify_peer", serverName: false, depth: 2 });
  });

  it("rejects what it cannot honour, saying where", () => {
    const bad = (text: string) => {
      try {
        parseOptFile(text, "dist.conf");
      } catch (err) {
        expect(err).toBeInstanceOf(TlsError);
        expect((err as TlsError).code).toBe("tls_config");
        return (err as TlsError).message;
      }
      throw new Error("expected a rejection");
    };
    expect(bad(`[{server, [{certfile, "a.pem"}]}\n, {client, [{verify, verify_peer}]]`)).toMatch(/dist.conf: line 2/);
    expect(bad(`[{server, [{crl_check, peer}]}].`)).toContain("crl_check");
    expect(bad(`[{client, [{cacerts, []}]}].`)).toContain("cacerts");
    expect(bad(`[{client, [{versions, ['tlsv1.1']}]}].`)).toContain("tlsv1.1");
  });

  it("an unusable certificate, key or CA fails the start with tls_config", async () => {
    const good = issueLoopback("cfg");
    const start = (tls: NodeOptions["tls"]) => rejectionOf(Node.start({ name: `cfg${++counter}@${HOST}`, cookie: "c", epmd: false, tls }), TlsError);
    expect((await start({ caFile: ca.certFile, certFile: pki.path("missing.pem"), keyFile: good.keyFile })).message).toContain("missing.pem");
    expect((await start({ caFile: ca.certFile, certFile: good.certFile, keyFile: pki.path("other-ca.key") })).code).toBe("tls_config");
    expect((await start({ certFile: good.certFile, keyFile: good.keyFile })).message).toContain("verify_peer needs");
  });
});

describe("the option file reader on bad input", () => {
  it("fuzz: any text, and valid option files with characters changed, parse or fail with a typed error", () => {
    const valid =
      `[{server, [{certfile, "/etc/tls/tls.crt"}, {keyfile, <<"/k">>}, {verify, verify_peer}, {depth, 2}]},\n` +
      ` {client, [{cacertfile, "/etc/tls/ca.crt"}, {versions, ['tlsv1.2']}, {server_name_indication, disable}]}].`;
    const mutated = fc.array(fc.tuple(fc.nat(), fc.string({ minLength: 0, maxLength: 3 })), { minLength: 1, maxLength: 5 }).map((edits) => {
      let text = valid;
      for (const [at, insert] of edits) {
        const i = at % text.length;
        text = text.slice(0, i) + insert + text.slice(i + 1);
      }
      return text;
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }), mutated), (text) => {
        try {
          parseErlangTerm(text);
        } catch (err) {
          expect(err).toBeInstanceOf(ErlangTextError);
        }
        try {
          parseOptFile(text, "fuzz.conf");
        } catch (err) {
          expect(err).toBeInstanceOf(TlsError);
        }
      }),
      { numRuns: 20_000, seed: 11 },
    );
  });
});
