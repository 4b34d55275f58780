// Erlang source text, handled by the remote node itself: erl_scan and erl_parse read it, erl_eval evaluates it and
// io_lib formats the result with ~tp, so that what the command accepts and prints is exactly what erl would
// (unicode included: <<"José"/utf8>>).
import { Tuple, charlist, type Encodable, type Term } from "../etf/index.js";
import { CallError, explainCallError, iolistToString, type Node, type ReasonSyntax } from "../node/index.js";
import { explainException } from "../node/errors.js";
import { CommandError } from "./usage.js";

function tag(term: Term): string | undefined {
  return term instanceof Tuple && term.elements.length > 0 && typeof (term.elements[0] as { name?: unknown }).name === "string"
    ? (term.elements[0] as { name: string }).name
    : undefined;
}

/** Formats an ErrorInfo `{Location, Module, Descriptor}` with Module:format_error/1 on the peer. */
async function describeError(node: Node, peer: string, info: Term, what: string): Promise<string> {
  if (info instanceof Tuple && info.elements.length === 3) {
    const [location, module, descriptor] = info.elements;
    try {
      const text = iolistToString(await node.erpc(peer, (module as { name: string }).name, "format_error", [descriptor as Encodable]));
      const line = typeof location === "number" ? location : location instanceof Tuple ? location.elements[0] : undefined;
      return `${what}${line !== undefined ? ` (line ${String(line)})` : ""}: ${text}`;
    } catch {
      // fall through to the raw term
    }
  }
  return `${what}: ${await pretty(node, peer, info)}`;
}

async function tokens(node: Node, peer: string, text: string): Promise<Term> {
  const source = /\.\s*$/.test(text) ? text : `${text}.`;
  const scanned = await node.erpc(peer, "erl_scan", "string", [charlist(source)]);
  if (tag(scanned) !== "ok") throw new CommandError(await describeError(node, peer, (scanned as Tuple).elements[1], "cannot scan the Erlang text"));
  return (scanned as Tuple).elements[1];
}

/** Reads one Erlang term written in Erlang syntax (e.g. `[[1,2,3]]`), with erl_parse:parse_term/1 on the peer. */
export async function parseTerm(node: Node, peer: string, text: string): Promise<Term> {
  const parsed = await node.erpc(peer, "erl_parse", "parse_term", [(await tokens(node, peer, text)) as Encodable]);
  if (tag(parsed) !== "ok") throw new CommandError(await describeError(node, peer, (parsed as Tuple).elements[1], `'${text}' is not an Erlang term`));
  return (parsed as Tuple).elements[1];
}

/** Evaluates Erlang expressions (e.g. `lists:seq(1, 3).`) on the peer with erl_eval; what they print goes to onOutput. */
export async function evaluate(node: Node, peer: string, text: string, onOutput: (text: string) => void, timeout?: number): Promise<Term> {
  const parsed = await node.erpc(peer, "erl_parse", "parse_exprs", [(await tokens(node, peer, text)) as Encodable]);
  if (tag(parsed) !== "ok") throw new CommandError(await describeError(node, peer, (parsed as Tuple).elements[1], "cannot parse the expression"));
  const bindings = await node.erpc(peer, "erl_eval", "new_bindings", []);
  let result: Term;
  try {
    result = await node.erpc(peer, "erl_eval", "exprs", [(parsed as Tuple).elements[1] as Encodable, bindings as Encodable], { onOutput, timeout });
  } catch (err) {
    if (err instanceof CallError && err.code === "exception") {
      throw new CommandError(`exception ${explainException(err.errorClass ?? "error", err.reason, err.stacktrace)}`, { cause: err });
    }
    throw err;
  }
  if (tag(result) !== "value") throw new CommandError(`unexpected answer from erl_eval: ${await pretty(node, peer, result)}`);
  return (result as Tuple).elements[1];
}

/** The term as io_lib:format("~tp", [Term]) writes it on the peer (unicode chardata, decoded as such). */
export async function pretty(node: Node, peer: string, term: Term): Promise<string> {
  return iolistToString(await node.erpc(peer, "io_lib", "format", [charlist("~tp"), [term as Encodable]]));
}

/**
 * A failed call in one line, with the Erlang reason explained as CallError messages explain it, its terms in the
 * given syntax: `<what> failed: <explanation>`. Without a reason (a timeout), the CallError's own message.
 */
export function describeCallError(what: string, err: CallError, syntax: ReasonSyntax = "erlang"): string {
  if (err.reason === undefined && err.code !== "exception") return err.message;
  return `${what} failed: ${explainCallError(err, syntax)}`;
}
