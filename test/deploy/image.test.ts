// The container image, built by the global setup from the project's Dockerfile unchanged (scripts/images.mjs, on a
// stand-in node:20-bookworm-slim), run with podman as a user runs it: --help, ping, eval and join against a real BEAM
// node on this machine (host network, the test's private epmd), the cookie from a file mounted where the image looks
// for it, as uid 1000. Also what the runtime stage holds: production dependencies and compiled JavaScript only.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Atom } from "../../src/etf/index.js";
import { BeamNode } from "../support/beam.js";
import { Container, containersUnavailable, podmanStatus, testImages } from "../support/containers.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { freePort } from "../support/net.js";

const unavailable = containersUnavailable();
if (unavailable) console.warn(`[test/deploy/image] skipped: ${unavailable}`);

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

let epmd: Epmd;
let beam: BeamNode;
let secrets: string;
let image: string;
const running: Container[] = [];

/** podman run flags for the image on this machine's network, with the cookie Secret mounted as deploy/erldist.yaml mounts it. */
function flags(extra: string[] = []): string[] {
  return [
    "--network", "host",
    "--user", "1000:1000",
    "--env", `ERL_EPMD_PORT=${epmd.port}`,
    "--env", "MY_POD_IP=127.0.0.1",
    "--volume", `${join(secrets, "cookie")}:/var/run/secrets/erldist:ro`,
    ...extra,
  ];
}

let serial = 0;
/** Runs the image to its end and returns what it printed and its exit status. */
async function runImage(args: string[], extra: string[] = []): Promise<{ status: number; output: string }> {
  const container = Container.run(`erldist-image-test-${process.pid}-${serial++}`, flags(extra), image, args);
  running.push(container);
  const { status } = await container.exited;
  return { status, output: container.output };
}

describe.skipIf(unavailable !== undefined)("the container image, built from the Dockerfile", () => {
  beforeAll(async () => {
    image = testImages().erldist;
    epmd = await startEpmd();
    beam = await BeamNode.start({ epmd, alive: "imagepeer" });
    secrets = mkdtempSync(join(tmpdir(), "erldist-image-secret-"));
    const dir = join(secrets, "cookie");
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, "cookie"), `${beam.cookie}\n`, { mode: 0o440 });
    chownSync(join(dir, "cookie"), 0, 1000); // as the kubelet gives a Secret's files to the pod's fsGroup
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.destroy()));
    await beam?.stop();
    await epmd?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  }, 60_000);

  it("runs as the node user (uid 1000) and prints the command's usage by default", async () => {
    const inspected = await podmanStatus(["image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}", image]);
    expect(inspected.stdout.trim()).toBe('node ["node","dist/cli/main.js"] ["--help"]');
    const id = await runImage([], ["--entrypoint", "id"]);
    expect(id.output).toMatch(/^uid=1000\(node\) gid=1000\(node\)/);
    const help = await runImage([]);
    expect(help.status).toBe(0);
    expect(help.output).toContain("Usage: erldist <command> [options]");
    for (const command of ["join", "ping", "eval"]) expect(help.output).toContain(command);
  });

  it("holds the compiled JavaScript and the production dependencies only: no sources, tests, compiler or test tools", async () => {
    const listing = await runImage(["-c", "ls /app; echo ---; ls /app/node_modules"], ["--entrypoint", "sh"]);
    expect(listing.status).toBe(0);
    const [app, modules] = listing.output.split("---").map((part) => part.split(/\s+/).filter(Boolean));
    expect(app.sort()).toEqual(["dist", "node_modules", "package-lock.json", "package.json"]);
    for (const name of Object.keys(pkg.dependencies)) expect(modules, `${name} (a dependency)`).toContain(name);
    for (const name of Object.keys(pkg.devDependencies)) expect(modules, `${name} is a devDependency`).not.toContain(name.split("/")[0]);
  });

  it("ping and eval reach a BEAM node, with the cookie read from the mounted Secret by default", async () => {
    const ping = await runImage(["ping", beam.name]);
    expect(ping.output.trim()).toBe("pong");
    expect(ping.status).toBe(0);
    const evaluated = await runImage(["eval", beam.name, "lists:seq(1, 3)."]);
    expect(evaluated.output.trim()).toBe("[1,2,3]");
    expect(evaluated.output).not.toContain(beam.cookie);
  });

  it("without the Secret mounted it exits 1 and says where it looked and what to mount", async () => {
    const container = Container.run(`erldist-image-test-${process.pid}-${serial++}`, ["--network", "host", "--user", "1000:1000", "--env", `ERL_EPMD_PORT=${epmd.port}`], image, ["ping", beam.name]);
    running.push(container);
    const { status } = await container.exited;
    expect(status).not.toBe(0);
    expect(container.output).toContain("cannot read the cookie file /var/run/secrets/erldist/cookie: ENOENT");
    expect(container.output).toContain("mount the cluster's cookie Secret there");
  });

  it("join: the BEAM node lists it as hidden; podman stop (SIGTERM) ends it with status 0 and the node sees it leave at once", async () => {
    const statusPort = await freePort();
    const container = Container.run(`erldist-image-test-${process.pid}-${serial++}`, flags(), image, ["join", "--static", beam.name, "--interval", "1s", "--status-port", String(statusPort), "--status-host", "127.0.0.1"]);
    running.push(container);
    const started = await container.line(/node (erldist-\S+) started/);
    const name = /node (erldist-\S+) started/.exec(started)![1];
    await container.line(new RegExp(`connected ${beam.name.replace(/\./g, "\\.")}`));
    await expect.poll(async () => ((await beam.eval("nodes(hidden).")) as Atom[]).map((a) => a.name), { timeout: 10_000 }).toContain(name);
    const health = await fetch(`http://127.0.0.1:${statusPort}/healthz`);
    expect(health.status).toBe(200);
    await beam.eval(
      `Self = self(), spawn(fun() -> register(erldist_image_watch, self()), ok = net_kernel:monitor_nodes(true, [{node_type, hidden}, nodedown_reason]), Self ! watching, receive {nodedown, N, Info} when N =:= '${name}' -> persistent_term:put(erldist_image_nodedown, Info) end end), receive watching -> ok end.`,
    );
    const exit = await container.stop(30);
    expect(exit.status, container.output).toBe(0);
    const nodedown = async () => JSON.stringify(await beam.eval("persistent_term:get(erldist_image_nodedown, none)."));
    // connection_closed: erldist closed the connection as it stopped (a vanished peer would be net_tick_timeout).
    await expect.poll(nodedown, { timeout: 10_000 }).toContain("connection_closed");
  });
});
