// A pod template from deploy/, run as the kubelet would run it, with podman: the container's command and args with
// $(VAR) expanded from its env, the env itself (values, the downward API's status.podIP, Secret keys), the pod's and
// container's securityContext, volumes (emptyDir as a tmpfs, Secrets as read-only files with their mode and fsGroup),
// resource limits, the pod's network namespace and the cluster DNS (dnsPolicy ClusterFirst). Probes are run the way
// the kubelet runs them (httpGet from the node, exec inside the container). A field this file does not know how to
// run fails the test, so what is tested is the manifest as written.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { Container } from "./containers.js";

// Manifests are untyped YAML.
type Obj = Record<string, any>;

const deployDir = fileURLToPath(new URL("../../deploy", import.meta.url));

/** The objects of a deploy/ file. */
export function manifest(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(deployDir, file), "utf8")).map((doc) => doc.toJS() as Obj).filter(Boolean);
}

/** The workload (Deployment, StatefulSet) of that kind and name in a deploy/ file. */
export function workload(file: string, kind: string, name: string): Obj {
  const found = manifest(file).find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`deploy/${file} has no ${kind} ${name}`);
  return found;
}

export interface PodRun {
  /** podman run flags. */
  flags: string[];
  /** The arguments after the image (the container's args, expanded; with `command`, its command first). */
  args: string[];
  /** The image the manifest names. */
  image: string;
  /** Seconds between SIGTERM and SIGKILL (terminationGracePeriodSeconds, default 30). */
  graceSeconds: number;
  /** The folder the Secret volumes' files were written to; remove() deletes it. */
  remove(): void;
}

export interface PodContext {
  /** The pod's network namespace (/run/netns/<ns>) and IP (status.podIP). */
  ns: string;
  ip: string;
  /** The pod's name (its host name). */
  name: string;
  /** The cluster DNS server, and the pod's namespace (for the search domains). */
  dns: string;
  namespace: string;
  /** Each Secret's data by name, standing in for the cluster's Secrets. */
  secrets: Record<string, Record<string, string>>;
}

const KNOWN_CONTAINER_KEYS = new Set([
  "name", "image", "imagePullPolicy", "command", "args", "env", "ports", "readinessProbe", "livenessProbe",
  "resources", "securityContext", "volumeMounts",
]);
const KNOWN_POD_KEYS = new Set(["automountServiceAccountToken", "terminationGracePeriodSeconds", "securityContext", "containers", "volumes"]);

function unsupported(what: string): never {
  throw new Error(`test/support/manifest-pod.ts does not know how to run ${what}: teach it, so that the test still runs the manifest as written`);
}

/** Kubernetes' $(VAR) expansion: defined variables are replaced, $$ escapes, anything else stays as written. */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\((\w+)\)/g, (whole, name: string | undefined) => (name === undefined ? "$" : name in vars ? vars[name] : whole));
}

function memory(quantity: string): string {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity) ?? unsupported(`the memory quantity ${quantity}`);
  return `${m[1]}${({ Ki: "k", Mi: "m", Gi: "g" } as Record<string, string>)[m[2] ?? ""] ?? "b"}`;
}

function cpus(quantity: string): string {
  const m = /^(\d+)(m)?$/.exec(String(quantity)) ?? unsupported(`the cpu quantity ${quantity}`);
  return m[2] ? String(Number(m[1]) / 1000) : m[1];
}

/** The podman run flags and arguments for `container` of pod template `spec`, in the pod `pod`. */
export function podRun(spec: Obj, containerName: string, pod: PodContext): PodRun {
  for (const key of Object.keys(spec)) if (!KNOWN_POD_KEYS.has(key)) unsupported(`the pod field ${key}`);
  const container = (spec.containers as Obj[]).find((c) => c.name === containerName) ?? unsupported(`a pod without container ${containerName}`);
  if (spec.containers.length !== 1) unsupported("a pod of several containers");
  for (const key of Object.keys(container)) if (!KNOWN_CONTAINER_KEYS.has(key)) unsupported(`the container field ${key}`);
  const flags = [
    "--network", `ns:/run/netns/${pod.ns}`,
    "--hostname", pod.name,
    // dnsPolicy ClusterFirst, as kube-dns gives it.
    "--dns", pod.dns,
    "--dns-search", `${pod.namespace}.svc.cluster.local`, "--dns-search", "svc.cluster.local", "--dns-search", "cluster.local",
    "--dns-option", "ndots:5",
  ];
  const vars: Record<string, string> = {};
  for (const entry of (container.env ?? []) as Obj[]) {
    let value: string;
    if (entry.value !== undefined) value = expand(String(entry.value), vars);
    else if (entry.valueFrom?.fieldRef?.fieldPath === "status.podIP") value = pod.ip;
    else if (entry.valueFrom?.secretKeyRef) {
      const ref = entry.valueFrom.secretKeyRef;
      value = pod.secrets[ref.name]?.[ref.key] ?? unsupported(`a reference to the missing Secret key ${ref.name}/${ref.key}`);
    } else unsupported(`the env entry ${JSON.stringify(entry)}`);
    vars[entry.name] = value;
    flags.push("--env", `${entry.name}=${value}`);
  }
  const context = { ...spec.securityContext, ...container.securityContext } as Obj;
  for (const key of Object.keys(context)) {
    if (!["runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities"].includes(key)) {
      unsupported(`the securityContext field ${key}`);
    }
  }
  if (context.runAsNonRoot && !(Number(context.runAsUser) > 0)) unsupported("runAsNonRoot without a numeric runAsUser");
  if (context.runAsUser !== undefined) flags.push("--user", `${context.runAsUser}${context.runAsGroup !== undefined ? `:${context.runAsGroup}` : ""}`);
  if (context.fsGroup !== undefined) flags.push("--group-add", String(context.fsGroup));
  if (context.seccompProfile && context.seccompProfile.type !== "RuntimeDefault") unsupported(`the seccomp profile ${context.seccompProfile.type}`);
  if (context.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges");
  if (context.readOnlyRootFilesystem) flags.push("--read-only", "--read-only-tmpfs=false");
  for (const cap of context.capabilities?.drop ?? []) flags.push("--cap-drop", cap);
  for (const cap of context.capabilities?.add ?? []) flags.push("--cap-add", cap);
  const limits = container.resources?.limits ?? {};
  if (limits.memory) flags.push("--memory", memory(limits.memory));
  if (limits.cpu) flags.push("--cpus", cpus(limits.cpu));
  const secretsDir = mkdtempSync(join(tmpdir(), "erldist-pod-secrets-"));
  const volumes = new Map<string, Obj>(((spec.volumes ?? []) as Obj[]).map((v) => [v.name, v]));
  for (const mount of (container.volumeMounts ?? []) as Obj[]) {
    const volume = volumes.get(mount.name) ?? unsupported(`the volume mount ${mount.name} without its volume`);
    if (volume.emptyDir) {
      const size = volume.emptyDir.sizeLimit ? `,size=${memory(volume.emptyDir.sizeLimit)}` : "";
      // The kubelet makes an emptyDir with mode 0777.
      flags.push("--tmpfs", `${mount.mountPath}:rw,mode=0777${size}`);
    } else if (volume.secret) {
      const data = pod.secrets[volume.secret.secretName] ?? unsupported(`the missing Secret ${volume.secret.secretName}`);
      const dir = join(secretsDir, mount.name);
      mkdirSync(dir, { mode: 0o755 });
      const items: Obj[] = (volume.secret.items as Obj[] | undefined) ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        const file = join(dir, item.path);
        writeFileSync(file, data[item.key] ?? unsupported(`the missing Secret key ${item.key}`), { mode: item.mode ?? volume.secret.defaultMode ?? 0o644 });
        // The kubelet gives a Secret's files to the fsGroup when the pod has one (root otherwise).
        chownSync(file, 0, Number(context.fsGroup ?? 0));
      }
      flags.push("--volume", `${dir}:${mount.mountPath}:ro`);
    } else unsupported(`the volume ${JSON.stringify(volume)}`);
  }
  const args = [...((container.args ?? []) as string[])].map((a) => expand(String(a), vars));
  if (container.command) {
    const [entry, ...rest] = (container.command as string[]).map((a) => expand(String(a), vars));
    flags.push("--entrypoint", entry);
    args.unshift(...rest);
  }
  return {
    flags,
    args,
    image: container.image,
    graceSeconds: spec.terminationGracePeriodSeconds ?? 30,
    remove: () => rmSync(secretsDir, { recursive: true, force: true }),
  };
}

/** Runs a probe once, as the kubelet does: httpGet from outside the pod (2xx and 3xx pass), exec in the container. */
export async function probe(probeSpec: Obj, container: Obj, pod: { ip: string }, running: Container): Promise<{ ok: boolean; detail: string }> {
  if (probeSpec.httpGet) {
    const port = typeof probeSpec.httpGet.port === "number" ? probeSpec.httpGet.port : (container.ports as Obj[]).find((p) => p.name === probeSpec.httpGet.port)?.containerPort;
    if (!port) unsupported(`the probe port ${probeSpec.httpGet.port}`);
    try {
      const response = await fetch(`http://${pod.ip}:${port}${probeSpec.httpGet.path}`, { signal: AbortSignal.timeout((probeSpec.timeoutSeconds ?? 1) * 1000) });
      const body = await response.text();
      return { ok: response.status >= 200 && response.status < 400, detail: `${response.status} ${body.trim()}` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
  if (probeSpec.exec) {
    const result = await running.exec(probeSpec.exec.command as string[]);
    return { ok: result.status === 0, detail: `exit ${result.status} ${result.stdout}${result.stderr}`.trim() };
  }
  return unsupported(`the probe ${JSON.stringify(probeSpec)}`);
}
