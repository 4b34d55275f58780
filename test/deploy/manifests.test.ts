// deploy/ and the Dockerfile, checked without a cluster or a Docker engine: every manifest parses as kubectl reads
// it and is an object of namespace erlclu; kustomization.yaml lists every file; the headless Service selects the BEAM
// pods; erldist's Deployment passes only flags and environment variables that `erldist join --help` lists, probes
// its status port, takes its pod IP from the downward API and its cookie from the Secret secret.yaml defines,
// mounted where the image looks for it; and the Dockerfile's entry point, base images and user agree with
// package.json. That the image builds and runs as the manifests say is proven by test/deploy/image.test.ts and
// test/cluster/k8s-containers.test.ts, which build it and run it.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

// Manifests are untyped YAML: property access is checked by the assertions, not the compiler.
type Obj = Record<string, any>;

const root = fileURLToPath(new URL("../..", import.meta.url));
const deployDir = join(root, "deploy");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Obj;
const NAMESPACE = "erlclu";

interface Manifest {
  file: string;
  doc: Obj;
}

/**
 * Every document of deploy/*.yaml, parsed as YAML 1.1 (as kubectl reads it), and what is wrong with the files: a
 * parse error or warning, a duplicate key, a document that is not a mapping, or a scalar that YAML 1.2 reads
 * differently (`on`, `no`, `0400`... mean one thing to kubectl and another to YAML 1.2 tools: quote them).
 */
function loadManifests(): { manifests: Manifest[]; problems: string[] } {
  const files = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const manifests: Manifest[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(deployDir, file), "utf8");
    const docs11 = parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
    const docs12 = parseAllDocuments(text, { version: "1.2", uniqueKeys: true });
    if (!Array.isArray(docs11) || !Array.isArray(docs12)) {
      problems.push(`${file}: not a YAML stream`);
      continue;
    }
    const errors = [...docs11, ...docs12].flatMap((doc) => [...doc.errors, ...doc.warnings]);
    if (errors.length > 0) {
      problems.push(...errors.map((e) => `${file}: ${e.message}`));
      continue;
    }
    const values11 = docs11.map((d) => d.toJS() as unknown);
    const values12 = docs12.map((d) => d.toJS() as unknown);
    if (JSON.stringify(values11) !== JSON.stringify(values12)) problems.push(`${file} reads differently in YAML 1.1 and 1.2`);
    for (const value of values11) {
      if (value === null || value === undefined) continue; // an empty document: kubectl skips it too
      if (typeof value !== "object" || Array.isArray(value)) problems.push(`${file}: a document that is not a mapping`);
      else manifests.push({ file, doc: value as Obj });
    }
  }
  return { manifests, problems };
}

const { manifests, problems } = loadManifests();
const objects = manifests.filter((m) => m.doc.kind !== "Kustomization");

function find(kind: string, name: string): Obj {
  const found = objects.filter((m) => m.doc.kind === kind && m.doc.metadata?.name === name);
  expect(found.map((m) => `${m.file}: ${kind}/${name}`), `exactly one ${kind} named ${name}`).toHaveLength(1);
  return found[0].doc;
}

function only(kind: string, file?: string): Obj {
  const found = objects.filter((m) => m.doc.kind === kind && (file === undefined || m.file === file));
  expect(found.map((m) => m.doc.metadata?.name), `exactly one ${kind}${file ? ` in ${file}` : ""}`).toHaveLength(1);
  return found[0].doc;
}

const matches = (selector: Obj, labels: Obj | undefined): boolean =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

/** The container's port that `port` (a number or a port name) designates. */
function containerPort(container: Obj, port: number | string): Obj | undefined {
  return (container.ports ?? []).find((p: Obj) => (typeof port === "number" ? p.containerPort === port : p.name === port));
}

/** The Secret volume `container` mounts read-only at `path`: secret.yaml's Secret (its `secret` source). */
function secretMount(pod: Obj, container: Obj, path: string): Obj {
  const mount = ((container.volumeMounts ?? []) as Obj[]).find((m) => m.mountPath === path);
  expect(mount, `${container.name} mounts a volume at ${path}`).toBeDefined();
  expect(mount?.readOnly).toBe(true);
  const volume = ((pod.volumes ?? []) as Obj[]).find((v) => v.name === mount?.name);
  expect(volume?.secret?.secretName).toBe(secret().metadata.name);
  return volume?.secret as Obj;
}

function cookieKey(): string {
  return Object.keys({ ...secret().stringData, ...secret().data })[0];
}

function env(container: Obj, name: string): Obj {
  const found = (container.env ?? []).filter((e: Obj) => e.name === name);
  expect(found, `${container.name} sets ${name} once`).toHaveLength(1);
  return found[0];
}

/** The value following `flag` in an argument list (`--flag value` or `--flag=value`). */
function argValue(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

const workloads = () => objects.filter((m) => m.doc.kind === "Deployment" || m.doc.kind === "StatefulSet").map((m) => m.doc);

// The cluster's pieces, as the manifests define them.
const secret = () => only("Secret", "secret.yaml");
const headless = () => {
  const found = objects.filter((m) => m.doc.kind === "Service" && m.doc.spec?.clusterIP === "None");
  expect(found.map((m) => m.doc.metadata?.name), "exactly one headless Service").toHaveLength(1);
  return found[0].doc;
};
const beamSet = () => only("StatefulSet", "erlclu.yaml");
const beamContainer = () => beamSet().spec.template.spec.containers[0] as Obj;
const erldist = () => find("Deployment", "erldist");
const erldistContainer = () => {
  const containers = erldist().spec.template.spec.containers as Obj[];
  expect(containers.map((c) => c.name)).toEqual(["erldist"]);
  return containers[0];
};
const erldistArgs = () => erldistContainer().args as string[];
const headlessDnsName = () => `${headless().metadata.name}.${headless().metadata.namespace}.svc.cluster.local`;

describe("deploy/ manifests", () => {
  it("every file parses (the same as YAML 1.1 and 1.2) into objects with apiVersion, kind, name, all in namespace erlclu", () => {
    expect(problems).toEqual([]);
    expect(manifests.length).toBeGreaterThan(0);
    for (const { file, doc } of manifests) {
      const where = `${file}: ${doc.kind}/${doc.metadata?.name}`;
      expect(typeof doc.apiVersion, where).toBe("string");
      expect(typeof doc.kind, where).toBe("string");
      expect(typeof doc.metadata?.name, where).toBe("string");
      expect(doc.metadata.name, where).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/); // a DNS-1123 label
      if (doc.kind === "Namespace") expect(doc.metadata.name, where).toBe(NAMESPACE);
      else if (doc.kind === "Kustomization") expect(doc.namespace, where).toBe(NAMESPACE);
      else expect(doc.metadata.namespace, where).toBe(NAMESPACE);
    }
    expect(objects.filter((m) => m.doc.kind === "Namespace").map((m) => m.file)).toEqual(["namespace.yaml"]);
  });

  it("kustomization.yaml lists exactly the other files in deploy/", () => {
    const kustomization = manifests.filter((m) => m.doc.kind === "Kustomization");
    expect(kustomization.map((m) => m.file)).toEqual(["kustomization.yaml"]);
    const doc = kustomization[0].doc;
    expect(doc.apiVersion).toBe("kustomize.config.k8s.io/v1beta1");
    const resources = doc.resources as string[];
    expect(new Set(resources).size, "no file listed twice").toBe(resources.length);
    const files = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
    expect([...resources].sort()).toEqual(files.sort());
    for (const file of files) expect(objects.some((m) => m.file === file), `${file} holds an object`).toBe(true);
  });

  it("workloads are well formed: selectors match their pods, ports are named and unique, args and env are strings, $(VAR)s are defined", () => {
    expect(workloads().length).toBeGreaterThanOrEqual(2);
    for (const workload of workloads()) {
      const where = `${workload.kind}/${workload.metadata.name}`;
      const pod = workload.spec.template;
      expect(Object.keys(workload.spec.selector.matchLabels).length, where).toBeGreaterThan(0);
      expect(matches(workload.spec.selector.matchLabels, pod.metadata.labels), `${where}: the selector matches its pods`).toBe(true);
      for (const container of pod.spec.containers as Obj[]) {
        const ports = (container.ports ?? []) as Obj[];
        for (const port of ports) {
          expect(port.name, where).toMatch(/^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/); // IANA_SVC_NAME
          expect(port.name.length, where).toBeLessThanOrEqual(15);
          expect(Number.isInteger(port.containerPort), where).toBe(true);
        }
        expect(new Set(ports.map((p) => p.name)).size, `${where}: port names are unique`).toBe(ports.length);
        const names = ((container.env ?? []) as Obj[]).map((e) => e.name as string);
        expect(new Set(names).size, `${where}: env names are unique`).toBe(names.length);
        for (const e of (container.env ?? []) as Obj[]) {
          if ("value" in e) expect(typeof e.value, `${where}: env ${e.name} is a string`).toBe("string");
          else expect(e.valueFrom, `${where}: env ${e.name} has a value`).toBeTruthy();
        }
        for (const list of [container.command ?? [], container.args ?? []] as unknown[][]) {
          for (const arg of list) {
            // kubectl rejects a number or a boolean where Kubernetes wants a string ("8080", not 8080).
            expect(typeof arg, `${where}: ${JSON.stringify(arg)} is a string`).toBe("string");
            // Kubernetes expands $(VAR) only for variables the container defines, and leaves the rest as written.
            for (const [, name] of (arg as string).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
              expect(names, `${where}: $(${name}) is defined in env`).toContain(name);
            }
          }
        }
      }
    }
  });

  it("secret.yaml holds the cookie under a placeholder that says to replace it", () => {
    const doc = secret();
    const data = { ...(doc.stringData ?? {}), ...(doc.data ?? {}) } as Obj;
    expect(Object.keys(data).length).toBe(1);
    expect(String(Object.values(data)[0])).toMatch(/replace/i);
    expect(readFileSync(join(deployDir, "secret.yaml"), "utf8")).toMatch(/#.*REPLACE/);
  });

  it("the headless Service has clusterIP None, publishes unready pods and selects the BEAM pods (and not erldist)", () => {
    const service = headless();
    expect(service.metadata.name).toBe("erlclu-headless");
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    const selector = service.spec.selector as Obj;
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    const beam = beamSet();
    expect(beam.spec.replicas).toBe(3);
    expect(beam.spec.serviceName).toBe(service.metadata.name);
    expect(matches(selector, beam.spec.template.metadata.labels), "selects the BEAM pods").toBe(true);
    expect(matches(selector, erldist().spec.template.metadata.labels), "erldist's pod is not in the answer").toBe(false);
    // Its ports are the BEAM pods': epmd and the fixed distribution port.
    for (const port of service.spec.ports as Obj[]) {
      expect(containerPort(beamContainer(), port.targetPort ?? port.port), `targetPort ${port.targetPort}`).toBeDefined();
    }
    expect((service.spec.ports as Obj[]).map((p) => p.port)).toContain(4369);
  });

  it("the BEAM pods: erlang:25, erlclu@$(MY_POD_IP) with the Secret's cookie as $HOME/.erlang.cookie, a fixed distribution port, and the DNS loop", () => {
    const container = beamContainer();
    expect(container.image).toBe("erlang:25");
    const argv = [...(container.command ?? []), ...(container.args ?? [])] as string[];
    expect(argv[0]).toBe("erl");
    expect(argv).toContain("-noshell");
    expect(argValue(argv, "-name")).toBe("erlclu@$(MY_POD_IP)");
    expect(env(container, "MY_POD_IP").valueFrom).toEqual({ fieldRef: { fieldPath: "status.podIP" } });
    expect(argv, "the cookie is never on the command line").not.toContain("-setcookie");
    const home = env(container, "HOME").value as string;
    const mount = secretMount(beamSet().spec.template.spec, container, home);
    expect(mount.items).toEqual([{ key: cookieKey(), path: ".erlang.cookie" }]);
    expect(mount.defaultMode, "erl refuses a cookie file that group or others may read").toBe(0o400);
    const min = argValue(argv, "inet_dist_listen_min");
    expect(min).toMatch(/^\d+$/);
    expect(argValue(argv, "inet_dist_listen_max")).toBe(min);
    expect(argv.indexOf("-kernel")).toBeGreaterThan(-1);
    expect(argv.indexOf("-kernel")).toBeLessThan(argv.indexOf("inet_dist_listen_min"));
    expect(containerPort(container, Number(min)), "the distribution port is declared").toBeDefined();
    expect(containerPort(container, 4369), "epmd's port is declared").toBeDefined();
    const loop = argValue(argv, "-eval") as string;
    expect(loop).toContain(`"${headlessDnsName()}"`);
    expect(loop).toContain(`"${argValue(argv, "-name")?.split("@")[0]}@"`);
    expect(loop).toMatch(/inet_res:lookup\(/);
    expect(loop).toMatch(/net_kernel:connect_node\(/);
    expect(loop).toMatch(/timer:sleep\(5000\)/);
    // The -eval is Erlang that erl's own parser accepts (erl is on the PATH for every test: see global-setup).
    const check = [
      'R = case erl_scan:string(os:getenv("EXPR")) of',
      "  {ok, T, _} -> case erl_parse:parse_exprs(T) of {ok, _} -> parsed; E -> E end;",
      "  E -> E",
      "end,",
      'io:format("~p", [R]), halt().',
    ].join("\n");
    const parsed = execFileSync("erl", ["-noshell", "-eval", check], {
      env: { ...process.env, EXPR: loop, ERL_CRASH_DUMP_SECONDS: "0" }, // never an erl_crash.dump in the repository
      cwd: tmpdir(),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    }).toString();
    expect(parsed, "erl_scan/erl_parse on the -eval").toBe("parsed");
  });

  it("erldist's Deployment: 1 replica of erldist:latest, joining through the headless Service with basename erlclu", () => {
    const deployment = erldist();
    expect(deployment.spec.replicas).toBe(1);
    const container = erldistContainer();
    expect(container.image).toBe("erldist:latest");
    expect(container.imagePullPolicy).toBe("IfNotPresent");
    expect(container.command, "the image's ENTRYPOINT runs erldist").toBeUndefined();
    const args = erldistArgs();
    expect(args).toEqual(["join", "--dns", "erlclu-headless.erlclu.svc.cluster.local", "--basename", "erlclu", "--interval", "5s", "--status-port", "8080"]);
    expect(argValue(args, "--dns")).toBe(headlessDnsName());
    expect(argValue(args, "--basename")).toBe(argValue(beamContainer().args, "-name")?.split("@")[0]);
    expect(argValue(args, "--interval")).toMatch(/^\d+(\.\d+)?(ms|s|m)?$/);
    expect(args, "hidden, as the README says it must be").not.toContain("--visible");
  });

  it("erldist's pod: MY_POD_IP from status.podIP, the cookie from the Secret, mounted where the image's ERLDIST_COOKIE_FILE points", () => {
    const pod = erldist().spec.template.spec;
    const container = erldistContainer();
    expect(env(container, "MY_POD_IP").valueFrom).toEqual({ fieldRef: { fieldPath: "status.podIP" } });
    expect((container.env as Obj[]).map((e) => e.name), "no cookie in the environment").not.toContain("ERLANG_COOKIE");
    const stages = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
    const envLine = stages[stages.length - 1].filter((i) => i.op === "ENV" && /^ERLDIST_COOKIE_FILE=/.test(i.args)).at(-1);
    const file = envLine?.args.split("=")[1] as string;
    expect(file, "the image's ERLDIST_COOKIE_FILE").toMatch(/^\//);
    const mount = secretMount(pod, container, posix.dirname(file));
    expect(mount.items).toEqual([{ key: cookieKey(), path: posix.basename(file) }]);
    expect(mount.optional, "a missing cookie must stop the pod, not start it cookieless").not.toBe(true);
    // uid 1000 reads a file the kubelet gives to fsGroup with group read.
    expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup);
    expect(mount.defaultMode & 0o040).toBe(0o040);
    expect(mount.defaultMode & 0o007, "others may not read it").toBe(0);
  });

  it("erldist's readiness probe gets /readyz and its liveness probe /healthz, on the status port that --status-port and the erldist-status Service give", () => {
    const container = erldistContainer();
    const status = containerPort(container, "status") as Obj;
    expect(status?.containerPort).toBe(8080);
    expect(Number(argValue(erldistArgs(), "--status-port"))).toBe(status.containerPort);
    expect(container.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(container.livenessProbe?.httpGet?.path).toBe("/healthz");
    for (const probe of [container.readinessProbe, container.livenessProbe] as Obj[]) {
      expect(containerPort(container, probe.httpGet.port)?.containerPort).toBe(status.containerPort);
    }
    const service = find("Service", "erldist-status");
    expect(service.spec.type ?? "ClusterIP").toBe("ClusterIP");
    expect(matches(service.spec.selector, erldist().spec.template.metadata.labels)).toBe(true);
    const port = (service.spec.ports as Obj[]).find((p) => p.port === 8080) as Obj;
    expect(containerPort(container, port?.targetPort ?? port?.port)?.containerPort).toBe(status.containerPort);
  });

  it("erldist's pod has resource requests and limits and runs as a non-root user without privileges", () => {
    const pod = erldist().spec.template.spec;
    const container = erldistContainer();
    for (const kind of ["requests", "limits"]) {
      expect(container.resources?.[kind]?.cpu, kind).toBeDefined();
      expect(container.resources?.[kind]?.memory, kind).toBeDefined();
    }
    const context = { ...pod.securityContext, ...container.securityContext } as Obj;
    expect(context.runAsNonRoot).toBe(true);
    expect(context.runAsUser, "numeric, so that the kubelet can check runAsNonRoot").toBeGreaterThan(0);
    expect(context.allowPrivilegeEscalation).toBe(false);
    expect(context.capabilities?.drop).toContain("ALL");
  });

  describe("against `erldist join --help`", () => {
    let help = "";
    let failure = "";

    beforeAll(() => {
      const main = join(root, "dist", "cli", "main.js");
      let buildError = "";
      if (!existsSync(main) || statSync(main).mtimeMs < newestUnder(join(root, "src"))) {
        try {
          execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build"], { cwd: root, stdio: "pipe" });
        } catch (err) {
          // tsc still writes what it can; run whatever was built, and say why if that fails.
          buildError = `\nnpm run build failed: ${output(err)}`;
        }
      }
      try {
        help = execFileSync(process.execPath, [main, "join", "--help"], { cwd: root, stdio: "pipe", timeout: 30_000 }).toString();
      } catch (err) {
        failure = `node dist/cli/main.js join --help failed: ${output(err)}${buildError}`;
      }
    }, 300_000);

    const helpText = (): string => {
      if (failure) throw new Error(failure);
      return help;
    };

    it("every --flag erldist's Deployment passes is a flag `erldist join --help` lists", () => {
      const flags = helpFlags(helpText());
      expect(flags.size, "the help lists flags as '  --flag'").toBeGreaterThan(0);
      const args = erldistArgs();
      expect(args[0]).toBe("join");
      const passed = args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
      expect(passed.length).toBeGreaterThan(0);
      for (const flag of passed) expect([...flags], `${flag} is in erldist join --help`).toContain(flag);
    });

    it("every environment variable erldist's Deployment sets is one `erldist join --help` lists under Environment:", () => {
      const names = helpEnvironment(helpText());
      expect(names.size, "the help has an Environment: section listing '  NAME' lines").toBeGreaterThan(0);
      const set = ((erldistContainer().env ?? []) as Obj[]).map((e) => e.name as string);
      expect(set.length).toBeGreaterThan(0);
      for (const name of set) expect([...names], `${name} is under Environment: in erldist join --help`).toContain(name);
    });
  });
});

describe("Dockerfile", () => {
  const stages = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
  const final = stages[stages.length - 1];
  const last = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).at(-1);

  it("builds on node 20 images, the oldest Node that package.json's engines accept", () => {
    const minimum = /^>=\s*(\d+)(\.\d+)*$/.exec(pkg.engines.node)?.[1];
    expect(minimum, `engines.node ${pkg.engines.node}`).toBe("20");
    expect(stages.length).toBeGreaterThanOrEqual(2); // multi-stage: the compiler stays out of the image
    for (const stage of stages) {
      const image = stage[0].args.split(/\s+/).find((word) => !word.startsWith("--")) as string;
      expect(image).toMatch(/^node:(\d+)(-[a-z0-9.-]+)?$/);
      expect(image.split(":")[1].split("-")[0], image).toBe(minimum);
    }
    expect(stages[0].some((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(true);
    expect(stages[0].some((i) => i.op === "RUN" && /\bnpm run build\b/.test(i.args))).toBe(true);
    expect(final.some((i) => i.op === "RUN" && /\bnpm ci\b.*--omit=dev/.test(i.args)), "production dependencies only").toBe(true);
  });

  it("its ENTRYPOINT runs package.json's bin.erldist, copied from the build stage, with --help by default", () => {
    const entrypoint = JSON.parse(last(final, "ENTRYPOINT")?.args ?? "null") as string[];
    expect(entrypoint?.[0]).toBe("node");
    expect(posix.normalize(entrypoint[1])).toBe(posix.normalize(pkg.bin.erldist));
    expect(JSON.parse(last(final, "CMD")?.args ?? "null")).toEqual(["--help"]);
    const workdir = last(final, "WORKDIR")?.args;
    expect(workdir, "a WORKDIR, so that the relative path resolves").toMatch(/^\//);
    const copies = final.filter((i) => i.op === "COPY").map((i) => i.args.split(/\s+/));
    const destinations = copies.map((words) => posix.resolve(workdir as string, words[words.length - 1]));
    const distDir = posix.resolve(workdir as string, posix.dirname(posix.dirname(entrypoint[1])));
    expect(copies.some((words, i) => words.some((w) => w.startsWith("--from=")) && destinations[i] === distDir), "dist/ comes from the build stage").toBe(true);
    // dist/cli/main.js reads ../../package.json for its version.
    expect(copies.some((words) => words.includes("package.json")), "package.json is in the image").toBe(true);
    expect(final.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/))).toContain("8080");
  });

  it("runs as a non-root user", () => {
    const user = last(final, "USER")?.args;
    expect(user, "the final stage sets USER").toBeDefined();
    expect(user?.split(":")[0]).not.toMatch(/^(root|0)$/);
  });

  it(".dockerignore keeps node_modules, dist and .git out of the build context", () => {
    const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const entry of ["node_modules", "dist", ".git"]) expect(ignored).toContain(entry);
  });
});

/** Lines `  --flag...`: each flag the help lists. */
function helpFlags(text: string): Set<string> {
  return new Set([...text.matchAll(/^ {2}(--[A-Za-z0-9][A-Za-z0-9-]*)/gm)].map((m) => m[1]));
}

/** The names of the `  NAME ...` lines that follow the line `Environment:`, up to the next unindented line. */
function helpEnvironment(text: string): Set<string> {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trimEnd() === "Environment:");
  const names = new Set<string>();
  if (start < 0) return names;
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") continue;
    if (!/^\s/.test(line)) break;
    const match = /^ {2}([A-Za-z_][A-Za-z0-9_]*)(\s|$)/.exec(line);
    if (match) names.add(match[1]);
  }
  return names;
}

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's instructions, one list per stage (each starting with its FROM); comments and continuations undone. */
function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    if (whole !== "") logical.push(whole);
  }
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line) as RegExpExecArray;
    const instruction = { op: op.toUpperCase(), args: args.trim() };
    if (instruction.op === "FROM") stages.push([instruction]);
    else if (stages.length > 0) stages[stages.length - 1].push(instruction);
    else if (instruction.op !== "ARG") throw new Error(`Dockerfile: ${instruction.op} before the first FROM`);
  }
  return stages;
}

/** The newest modification time under `dir` (src/ is being edited as this runs: a file gone meanwhile is skipped). */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    try {
      newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
    } catch {
      // removed since the listing
    }
  }
  return newest;
}

function output(err: unknown): string {
  const e = err as { stderr?: Buffer; stdout?: Buffer; message?: string };
  const text = `${e.stderr?.toString() ?? ""}${e.stdout?.toString() ?? ""}`.trim();
  return text || (e.message ?? String(err));
}
