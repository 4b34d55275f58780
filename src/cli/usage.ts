// Command-line parsing shared by the subcommands: node:util's parseArgs with help text, durations, and the errors
// the command reports without a stack trace (UsageError exits 2, CommandError 1).
import { parseArgs, type ParseArgsConfig } from "node:util";

/** The command line is wrong: say what to do instead; exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The command could not do its job (a node unreachable, an rpc failed...); exit status 1. */
export class CommandError extends Error {
  override readonly name = "CommandError";
}

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses argv against `options`; unknown flags and missing values are UsageErrors naming the subcommand's help. */
export function parse(command: string, argv: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
    return { values: values as Parsed["values"], positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify.*$/s, "")}. Run 'erldist ${command} --help'.`);
  }
}

/** "5s", "500ms", "2m", "1.5s" or a number of milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} takes a duration such as 5s, 500ms or 2m, not '${text}'`);
  const value = Number(match[1]) * (match[2] === "s" ? 1000 : match[2] === "m" ? 60_000 : 1);
  if (!(value > 0)) throw new UsageError(`${flag} must be more than zero`);
  return Math.round(value);
}

export function parsePort(flag: string, text: string, allowZero = true): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) throw new UsageError(`${flag} takes a port number (${allowZero ? 0 : 1}-65535), not '${text}'`);
  return port;
}

export function stringValue(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

export function listValue(parsed: Parsed, name: string): string[] {
  const value = parsed.values[name];
  const items = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  return items.flatMap((item) => item.split(",")).map((s) => s.trim()).filter(Boolean);
}
