// The command's --tls-* flags against a real erl started with -proto_dist inet_tls and an -ssl_dist_optfile that
// demands mutual verification: the same option file works for erldist, or the certificate files one by one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atom } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { runCli, startCli } from "../support/cli.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { TestPki, type CertFiles } from "../support/tls.js";

let epmd: Epmd;
let pki: TestPki;
let beam: BeamNode;
let caFile: string;
let client: CertFiles;
let optFile: string;
let env: Record<string, string>;

beforeAll(async () => {
  pki = TestPki.create();
  const ca = pki.ca("cli-ca");
  caFile = ca.certFile;
  // OTP 25 checks a server's certificate against its dNSName SANs, also for an IP address (see the README).
  const loopback = { ips: ["127.0.0.1"], dns: ["127.0.0.1"] };
  optFile = pki.optFile("beam", ca.issue("beam", loopback), caFile);
  client = ca.issue("cli", loopback);
  epmd = await startEpmd();
  beam = await BeamNode.start({ epmd, alive: "tlsbeam", args: ["-proto_dist", "inet_tls", "-ssl_dist_optfile", optFile] });
  env = { ERL_EPMD_PORT: String(epmd.port), ERLANG_COOKIE: beam.cookie };
}, 60_000);

afterAll(async () => {
  await beam?.stop();
  await epmd?.stop();
  pki?.remove();
});

describe("the command over TLS distribution", () => {
  it("rpc with erl's own option file, and with the certificate flags; plain TCP is refused with the reason", async () => {
    const withFile = await runCli(["rpc", beam.name, "erlang", "node", "[]", "--tls-optfile", optFile], env);
    expect([withFile.code, withFile.stdout]).toEqual([0, `'${beam.name}'\n`]);
    const withFlags = await runCli(["rpc", beam.name, "lists", "sum", "[[1,2,3]]", "--tls-cert", client.certFile, "--tls-key", client.keyFile, "--tls-ca", caFile], env);
    expect([withFlags.code, withFlags.stdout]).toEqual([0, "6\n"]);
    const plain = await runCli(["rpc", beam.name, "erlang", "node", "[]"], env);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/TLS/);
    const noCert = await runCli(["rpc", beam.name, "erlang", "node", "[]", "--tls-ca", caFile], env);
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toMatch(/certificate/i);
    const badValue = await runCli(["ping", beam.name, "--tls-verify", "maybe"], env);
    expect([badValue.code, badValue.stderr]).toEqual([2, "erldist ping: --tls-verify takes verify_peer or verify_none, not 'maybe'\n"]);
  });

  it("join over TLS: connected, seen by erl as a TLS connection, stopped cleanly", async () => {
    const name = "clitls@127.0.0.1";
    const join = startCli(["join", "--static", beam.name, "--interval", "500ms", "--status-port", "0", "--name", name, "--tls-optfile", optFile], env);
    try {
      await join.waitFor(`connected ${beam.name}`);
      expect(await beam.eval("nodes(hidden).")).toContainEqual(atom(name));
      const protocol = `{net_address, _, _, Protocol, _} = proplists:get_value(address, element(2, net_kernel:node_info('${name}'))), Protocol.`;
      expect(await beam.eval(protocol)).toBe(atom("tls"));
    } finally {
      expect((await join.stop("SIGTERM")).code).toBe(0);
    }
  });
});
