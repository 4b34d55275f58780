// The live status page in a real browser (Debian's headless Chromium, driven by playwright-core; no browser is ever
// downloaded): it shows the connected BEAM nodes, a BEAM node that joins later appears without a reload, untrusted
// names stay text, and when the server goes away the page says it is disconnected and reconnects by itself.
// Without /usr/bin/chromium this test fails (it never skips): install it with `apt-get install -y chromium`, or run
// `bash .ci/run`, which does.
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Node, StatusServer, type Discovery } from "../../src/index.js";
import { BeamNode } from "../support/beam.js";
import { startEpmd, type Epmd } from "../support/epmd.js";
import { otpReleaseOf } from "../support/release.js";

const CHROMIUM = "/usr/bin/chromium";
// Without the background-networking flags Chromium's own connections are refused by the closed network.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SCREENSHOT = fileURLToPath(new URL("../../.build/screenshots/status.png", import.meta.url));
const HOSTILE = "<script>x</script>@127.0.0.1";
const LATE = "late@127.0.0.1";

let epmd: Epmd | undefined;
const beams: BeamNode[] = [];
let release: string; // the BEAM nodes' OTP release, as they report it
let node: Node | undefined;
let discovery: Discovery;
let server: StatusServer | undefined;
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing (${CHROMIUM}): the status page's browser test needs it. Run \`apt-get install -y chromium\` or \`bash .ci/run\`.`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

beforeAll(async () => {
  browser = await launchChromium(); // first: without Chromium, fail before starting anything else
  epmd = await startEpmd();
  for (const alive of ["web1", "web2"]) beams.push(await BeamNode.start({ epmd, alive }));
  release = String(await otpReleaseOf(beams[0]));
  node = await Node.start({ name: "statusweb@127.0.0.1", cookie: beams[0].cookie, epmd: { port: epmd.port }, listenHost: "127.0.0.1" });
  // LATE is named before it runs: the loop keeps retrying it (quickly) and connects it once it starts.
  discovery = node.discover({ static: [beams[0].name, beams[1].name, LATE, HOSTILE], interval: 200, backoff: { initial: 100, max: 300 } });
  server = await StatusServer.start({ node, discoveries: [discovery], port: 0, host: "127.0.0.1" });
  await vi.waitFor(() => expect(node!.nodes()).toHaveLength(2), { timeout: 10_000, interval: 50 });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => message.type() === "error" && pageErrors.push(`console: ${message.text()}`));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await node?.stop();
  await Promise.all(beams.map((beam) => beam.stop()));
  await epmd?.stop();
});

const row = (section: string, name: string) => page.locator(`${section} tr[data-node="${name}"]`);

describe("the status page in Chromium", () => {
  it("shows the connected nodes, and a node that joins later appears without a reload", async () => {
    await page.goto(server!.url);
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 10_000 }).toBe("live");
    for (const beam of beams) {
      await row("#peers", beam.name).waitFor({ timeout: 10_000 });
      await expect.poll(() => row("#peers", beam.name).locator('[data-field="otp"]').textContent(), { timeout: 10_000 }).toBe(release);
    }
    expect(await page.locator("#this-node [data-field=name]").textContent()).toBe(node!.name);
    expect(await row(".discovery", LATE).getAttribute("data-state")).toMatch(/^(backing_off|connecting|discovered)$/);
    await page.evaluate("window.__sameDocument = 42");

    const late = await BeamNode.start({ epmd: epmd!, alive: LATE.split("@")[0] });
    beams.push(late);
    await row("#peers", LATE).waitFor({ timeout: 15_000 });
    await expect.poll(() => row(".discovery", LATE).getAttribute("data-state"), { timeout: 10_000 }).toBe("connected");
    await expect.poll(() => row("#peers", LATE).locator('[data-field="otp"]').textContent(), { timeout: 10_000 }).toBe(release);
    expect(await page.locator("#peers .count").textContent()).toBe("3");
    expect(await page.evaluate("window.__sameDocument")).toBe(42); // re-rendered in place: no reload

    // The hostile name is shown as text; its markup never became an element.
    const hostile = row(".discovery", HOSTILE);
    expect(await hostile.locator("td.mono").textContent()).toBe(HOSTILE);
    expect(await hostile.getAttribute("data-state")).toMatch(/^(backing_off|connecting)$/);
    expect(await page.evaluate("document.scripts.length")).toBe(1);
    expect(await page.locator("main script").count()).toBe(0);

    mkdirSync(fileURLToPath(new URL("../../.build/screenshots/", import.meta.url)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(pageErrors).toEqual([]); // no script error, no Content-Security-Policy violation
  });

  it("says it is disconnected when the server goes away, and reconnects by itself when it is back", async () => {
    const port = server!.port;
    await server!.close();
    await expect.poll(() => page.locator("#live").getAttribute("class"), { timeout: 10_000 }).toBe("live down");
    expect(await page.locator("#live").textContent()).toMatch(/disconnected/);
    expect(await page.evaluate("document.body.classList.contains('stale')")).toBe(true);

    server = await StatusServer.start({ node: node!, discoveries: [discovery], port, host: "127.0.0.1" });
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 15_000 }).toBe("live");
    expect(await page.evaluate("document.body.classList.contains('stale')")).toBe(false);
    expect(await page.evaluate("window.__sameDocument")).toBe(42);
    await expect.poll(() => page.locator("#peers tbody tr").count(), { timeout: 5000 }).toBe(3);
  });
});
