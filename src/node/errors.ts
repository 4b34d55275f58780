// Typed errors of the node layer, and the one-line explanations of Erlang reasons that CallError messages carry.

import { Buffer } from "node:buffer";
import { CodedError } from "../common/coded-error.js";
import { format } from "../etf/format.js";
import { Atom, ImproperList, Tuple, atom, improperList, isAtom, taggedTuple, type Encodable, type Term } from "../etf/index.js";

export type NodeErrorCode =
  | "no_cookie" // no cookie given and none in ERLANG_COOKIE or ~/.erlang.cookie
  | "bad_name" // not an alive@host node name
  | "bad_argument" // not a destination (pid, alias, name or [name, node]), or a name that is not a string or Atom
  | "listen_failed" // the distribution port could not be opened
  | "not_registered" // epmd on the peer's host knows no node of that name
  | "timeout" // no answer in time
  | "disconnected" // the connection was closed by this node
  | "aborted" // the caller's AbortSignal fired
  | "exited" // the process has exited
  | "name_taken" // a name registered already
  | "stopped"; // the node is stopped

export class NodeError extends CodedError<NodeErrorCode> {
  override readonly name = "NodeError";
}

/** How a call (gen_server:call semantics) or an rpc failed; `reason` is the Erlang term BEAM gave, if any. */
export type CallErrorCode =
  | "timeout" // no reply in time
  | "noproc" // no such process (or registered name) on that node
  | "noconnection" // the node is down or went down during the call
  | "exit" // the server exited during the call; `reason` is its exit reason
  | "badrpc" // rpc:call's {badrpc, Reason}
  | "exception" // erpc: the remote function raised; see `errorClass`, `reason` and `stacktrace`
  | "notsup"; // erpc: the remote node cannot run the request (spawn_reply error); `reason` says why

export type ErrorClass = "throw" | "exit" | "error";

export class CallError extends CodedError<CallErrorCode> {
  override readonly name = "CallError";
  constructor(
    code: CallErrorCode,
    message: string,
    /** The Erlang reason (exit reason, badrpc reason), when there is one. */
    readonly reason?: unknown,
    options?: { cause?: unknown; errorClass?: ErrorClass; stacktrace?: unknown },
  ) {
    super(code, message, options);
    this.errorClass = options?.errorClass;
    this.stacktrace = options?.stacktrace;
  }
  /** For `exception`: the class the remote function raised (throw, exit or error). */
  readonly errorClass: ErrorClass | undefined;
  /** For `exception`: the remote stack trace, as erpc gives it. */
  readonly stacktrace: unknown;
}

/** Syntax the explanations write terms in. */
export type ReasonSyntax = "erlang" | "elixir";

/** Formatted reasons longer than this many characters are cut there and end with "…". */
export const REASON_LIMIT = 200;

/**
 * One line: the term as `format` writes it, cut to `limit` characters (code points, so no character is split) plus
 * "…" when longer. An Elixir exception struct is written as Elixir writes it, whatever the syntax.
 */
export function formatReason(term: unknown, syntax: ReasonSyntax = "erlang", limit = REASON_LIMIT): string {
  const chars = [...show(term, isElixirException(term) ? "elixir" : syntax)];
  return chars.length > limit ? `${chars.slice(0, limit).join("")}…` : chars.join("");
}

/** The term on one line in this syntax, never throwing: an explanation must not hide the error it explains. */
function show(term: unknown, syntax: ReasonSyntax): string {
  try {
    return format(bounded(term) as Term, { syntax: usable(syntax), lineLength: Infinity });
  } catch {
    return String(term); // not a term (a reason always is one)
  }
}

/** Terms up to about this many elements and bytes are formatted whole; only the first REASON_LIMIT chars are kept. */
const FORMAT_BUDGET = 64 * 1024;
/** What a large term keeps of each part: enough that the kept text still reaches past REASON_LIMIT characters. */
const KEEP = 2 * REASON_LIMIT;

/**
 * The term itself, or for a large one (an exit reason holding a server's 64 MiB state) a copy with every binary,
 * string, list, tuple and map cut to its first KEEP parts and nesting cut at KEEP levels, so that formatting it
 * costs little. Each part kept still prints to at least KEEP characters; only where the whole decides the notation
 * (a binary or a list printed as text or as numbers) may the kept text differ from the whole term's.
 */
function bounded(term: unknown): unknown {
  let budget = FORMAT_BUDGET;
  const measure = (t: unknown, depth: number): void => {
    if (depth > KEEP) budget = 0;
    if (budget <= 0) return;
    budget--;
    const parts = Array.isArray(t) ? t : t instanceof Tuple ? t.elements : t instanceof ImproperList ? [...t.elements, t.tail] : undefined;
    if (Buffer.isBuffer(t) || typeof t === "string") budget -= t.length;
    else if (parts) for (let i = 0; i < parts.length && budget > 0; i++) measure(parts[i], depth + 1);
    else if (t instanceof Map) for (const [k, v] of t as Map<unknown, unknown>) if (budget > 0) measure(k, depth + 1), measure(v, depth + 1); else break;
  };
  measure(term, 0);
  if (budget > 0) return term;
  const prune = (t: unknown, depth: number): unknown => {
    if (depth > KEEP) return atom("...");
    if (Buffer.isBuffer(t)) return t.length > KEEP ? t.subarray(0, KEEP) : t;
    if (typeof t === "string") return [...t.slice(0, 2 * KEEP)].slice(0, KEEP).join("");
    if (Array.isArray(t)) return t.slice(0, KEEP).map((e) => prune(e, depth + 1));
    if (t instanceof Tuple) return new Tuple(t.elements.slice(0, KEEP).map((e) => prune(e, depth + 1) as Term));
    if (t instanceof ImproperList) {
      const elements = t.elements.slice(0, KEEP).map((e) => prune(e, depth + 1) as Encodable);
      return t.elements.length > KEEP ? elements : improperList(elements, prune(t.tail, depth + 1) as Encodable);
    }
    if (t instanceof Map) {
      const kept = new Map<unknown, unknown>();
      for (const [k, v] of t as Map<unknown, unknown>) {
        if (kept.size >= KEEP) break;
        kept.set(prune(k, depth + 1), prune(v, depth + 1));
      }
      return kept;
    }
    return t;
  };
  return prune(term, 0);
}

let elixirSyntax: boolean | undefined;

/** The syntax asked for, or Erlang's if this build's format cannot write Elixir. */
function usable(syntax: ReasonSyntax): ReasonSyntax {
  if (syntax === "elixir" && elixirSyntax === undefined) {
    try {
      format(0, { syntax: "elixir" });
      elixirSyntax = true;
    } catch {
      elixirSyntax = false;
    }
  }
  return syntax === "elixir" && elixirSyntax ? "elixir" : "erlang";
}

/**
 * The explanation a CallError message gives after its "what failed" part: what the Erlang reason means (which
 * function is undefined, which clause did not match, where an exception was raised), then the reason itself.
 */
export function explainCallError(
  error: { code: CallErrorCode; reason?: unknown; errorClass?: ErrorClass; stacktrace?: unknown },
  syntax: ReasonSyntax = "erlang",
): string {
  const { code, reason } = error;
  if (code === "exception") return explainException(error.errorClass ?? "error", reason, error.stacktrace, syntax);
  if (reason === undefined) return code;
  if (code === "badrpc") {
    // rpc:call catches an error as {'EXIT', {Reason, Stack}}.
    const exit = taggedTuple(reason, "EXIT", 2)?.[1];
    const crash = exit === undefined ? undefined : withStack(exit);
    return crash ? `${explainError(crash.reason, crash.stack, syntax)}; badrpc reason: ${formatReason(reason, syntax)}` : formatReason(reason, syntax);
  }
  const crash = withStack(reason); // a process that crashed exits with {Reason, Stack}
  return crash ? `${explainError(crash.reason, crash.stack, syntax)}; exit reason: ${formatReason(reason, syntax)}` : formatReason(reason, syntax);
}

/** An exception's class, reason and where it was raised: "error badarith at erlang:'/'/2". */
export function explainException(errorClass: ErrorClass, reason: unknown, stack: unknown, syntax: ReasonSyntax = "erlang"): string {
  const frames = Array.isArray(stack) ? stack : [];
  if (!frame(frames[0])) return `${errorClass} ${formatReason(reason, syntax)}`;
  // undef and function_clause mean something only as errors (exit(undef) is just an exit reason).
  const meaning = errorClass === "error" ? knownError(reason, frames, syntax) : undefined;
  if (meaning) return `${errorClass} ${formatReason(reason, syntax)}: ${meaning}`;
  return `${errorClass} ${formatReason(reason, syntax)} at ${frameText(frames[0], syntax)}`;
}

/** An error reason raised with this stack (whose top is a frame): what it means, or the reason and where. */
function explainError(reason: unknown, stack: unknown[], syntax: ReasonSyntax): string {
  return knownError(reason, stack, syntax) ?? `${formatReason(reason, syntax)} at ${frameText(stack[0], syntax)}`;
}

/** What undef and function_clause mean, said with the frame that raised them. */
function knownError(reason: unknown, stack: unknown[], syntax: ReasonSyntax): string | undefined {
  const top = frame(stack[0]);
  if (!top) return undefined;
  if (isAtom(reason, "undef")) {
    // The top frame is the call that had no function to go to (its arguments, not an arity).
    const hint = elixirAliasHint(top.module, syntax);
    return `undefined function ${mfa(top, syntax)}${hint ? ` (did you mean ${hint}?)` : ""}`;
  }
  if (isAtom(reason, "function_clause")) {
    const where = `${mfa(top, syntax)}${location(top)}`;
    // A gen_server's handle_call/3 without a clause for the request: say which request, the usual mistake
    // (a string where the server matches an atom, say).
    if (top.function.name === "handle_call" && top.args?.length === 3) {
      return `no clause of ${where} matches the request ${formatReason(top.args[0], syntax, 80)}`;
    }
    return `no function clause matching ${where}`;
  }
  return undefined;
}

interface Frame {
  module: Atom;
  function: Atom;
  arity: number;
  args?: unknown[];
  file?: string;
  line?: number;
}

/** A stack frame {Module, Function, Arity | Args, Location}, or undefined if `term` is not one. */
function frame(term: unknown): Frame | undefined {
  if (!(term instanceof Tuple) || term.length !== 4) return undefined;
  const [module, fn, arityOrArgs, info] = term.elements;
  if (!(module instanceof Atom) || !(fn instanceof Atom)) return undefined;
  const args = Array.isArray(arityOrArgs) ? (arityOrArgs as unknown[]) : undefined;
  const arity = args ? args.length : arityOrArgs;
  if (typeof arity !== "number") return undefined;
  const found: Frame = { module, function: fn, arity, args };
  if (Array.isArray(info)) {
    for (const item of info) {
      const pair = item instanceof Tuple && item.length === 2 ? item.elements : undefined;
      if (pair && isAtom(pair[0], "file")) found.file = text(pair[1]);
      if (pair && isAtom(pair[0], "line") && typeof pair[1] === "number") found.line = pair[1];
    }
  }
  return found;
}

/** `module:function/arity (file:line)`, as the stack frame gives it (Elixir: `Module.function/arity`). */
export function frameText(term: unknown, syntax: ReasonSyntax = "erlang"): string {
  const found = frame(term);
  return found ? `${mfa(found, syntax)}${location(found)}` : formatReason(term, syntax, 80);
}

function mfa(f: Frame, syntax: ReasonSyntax): string {
  if (usable(syntax) === "elixir") {
    // Elixir calls functions with a dot, and names them bare unless they need quotes (:"odd name" -> "odd name").
    return `${show(f.module, syntax)}.${show(f.function, syntax).replace(/^:/, "")}/${f.arity}`;
  }
  return `${show(f.module, "erlang")}:${show(f.function, "erlang")}/${f.arity}`;
}

function location(f: Frame): string {
  if (f.file === undefined) return "";
  return f.line === undefined ? ` (${f.file})` : ` (${f.file}:${f.line})`;
}

/**
 * For a module named like an Elixir alias without its Elixir. prefix (`Enum`, `String.Chars`): the module meant,
 * `'Elixir.Enum'` (Elixir syntax: `Enum`, since the prefix is what an Elixir alias stands for).
 */
export function elixirAliasHint(module: Atom, syntax: ReasonSyntax = "erlang"): string | undefined {
  if (module.name.startsWith("Elixir.") || !/^[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*$/.test(module.name)) return undefined;
  return usable(syntax) === "elixir" ? module.name : `'Elixir.${module.name}'`;
}

/** {Reason, Stack} where Stack is a list of frames (an exit reason or a caught error), or undefined. */
function withStack(term: unknown): { reason: unknown; stack: unknown[] } | undefined {
  if (!(term instanceof Tuple) || term.length !== 2) return undefined;
  const [reason, stack] = term.elements;
  return Array.isArray(stack) && stack.length > 0 && frame(stack[0]) ? { reason, stack } : undefined;
}

function isElixirException(term: unknown): boolean {
  if (!(term instanceof Map)) return false;
  for (const [key, value] of term as Map<unknown, unknown>) if (isAtom(key, "__exception__") && value === true) return true;
  return false;
}

/** A file name from a stack frame: a charlist, a binary, or a string. */
function text(term: unknown): string | undefined {
  if (typeof term === "string") return term;
  if (Buffer.isBuffer(term)) return term.toString("utf8");
  if (Array.isArray(term) && term.every((c) => typeof c === "number")) return String.fromCodePoint(...(term as number[]));
  return undefined;
}
