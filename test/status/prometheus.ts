// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every sample must belong to
// a metric family announced by # HELP and # TYPE, label values must be well quoted, values must be numbers.

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!match) throw new Error(`bad labels in: ${line}`);
    labels[match[1]] = match[2].replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(match[0].length);
  }
  return labels;
}

/** Parses exposition text into metric families by name; throws on anything malformed. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "", help: "", samples: [] }));
    return f;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      if (!NAME.test(meta[2])) throw new Error(`bad metric name: ${line}`);
      if (meta[1] === "HELP") family(meta[2]).help = meta[3];
      else if (["counter", "gauge", "histogram", "summary", "untyped"].includes(meta[3])) family(meta[2]).type = meta[3];
      else throw new Error(`bad type: ${line}`);
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample) throw new Error(`bad sample line: ${line}`);
    const value = Number(sample[3].replace(/^\+Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity"));
    if (Number.isNaN(value) && sample[3] !== "NaN") throw new Error(`bad value: ${line}`);
    const base = sample[1].replace(/_(bucket|sum|count)$/, "");
    const owner = families.get(sample[1]) ?? families.get(base);
    if (!owner || owner.type === "") throw new Error(`a sample without # TYPE: ${line}`);
    owner.samples.push({ labels: parseLabels(sample[2] ?? "", line), value });
  }
  return families;
}

/** The value of `name`'s one sample whose labels include `labels`; throws if there is not exactly one. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  const matches = family.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0].value;
}
