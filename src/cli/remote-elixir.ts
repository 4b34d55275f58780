// Elixir source text, handled by the remote node itself: Code.string_to_quoted reads it, Code.eval_quoted evaluates
// it and Kernel.inspect writes the result, so that what `--elixir` accepts and prints is exactly what that node's
// Elixir would. One erpc runs a small Elixir program (EVALUATE) that does all three there.
import { Tuple, atom, isAtom, tuple, type Encodable, type Term } from "../etf/index.js";
import { CallError, iolistToString, type Node } from "../node/index.js";
import { CommandError } from "./usage.js";

/**
 * Run on the peer with Code.eval_string and the binding `source`: parses it (a syntax error is answered as
 * {:syntax_error, "nofile:Line:Column: message"}, one line in every Elixir release), evaluates it, and answers
 * {:ok, value, inspected} or {:raised, banner}; with Elixir 1.15+ the compiler's diagnostics are collected instead
 * of being printed on the peer's own stderr, and come back as {result, warnings, errors}.
 */
const EVALUATE = `
parse = fn ->
  case Code.string_to_quoted(source) do
    {:ok, quoted} -> {:ok, quoted}
    {:error, {meta, message, token}} ->
      message =
        case message do
          {prefix, suffix} when is_binary(prefix) and is_binary(suffix) -> prefix <> token <> suffix
          text when is_binary(text) -> text <> token
          other -> inspect(other) <> token
        end
      {line, column} = if is_list(meta), do: {meta[:line], meta[:column]}, else: {meta, nil}
      {:syntax_error, "nofile:#{line}#{if column, do: ":#{column}", else: ""}: #{message}"}
  end
end

run = fn ->
  case parse.() do
    {:ok, quoted} ->
      try do
        {value, _binding} = Code.eval_quoted(quoted)
        {:ok, value, inspect(value, pretty: true, limit: :infinity, printable_limit: :infinity)}
      rescue
        e -> {:raised, Exception.format_banner(:error, e, __STACKTRACE__)}
      catch
        kind, reason -> {:raised, Exception.format_banner(kind, reason, __STACKTRACE__)}
      end
    other -> other
  end
end

if function_exported?(Code, :with_diagnostics, 2) do
  {result, diagnostics} = Code.with_diagnostics(run)
  messages = fn severity -> for %{severity: ^severity, message: m} <- diagnostics, do: m end
  {result, messages.(:warning), messages.(:error)}
else
  {run.(), [], []}
end
`;

/** What EVALUATE gave: the value and its inspect text. */
export interface ElixirValue {
  value: Term;
  inspected: string;
}

/**
 * Evaluates Elixir code on the peer (what it prints goes to onOutput; compiler warnings to onWarning) and returns
 * the value with its inspect text. Syntax errors and exceptions are CommandErrors of one line.
 */
export async function evaluateElixir(
  node: Node,
  peer: string,
  source: string,
  io: { onOutput: (text: string) => void; onWarning: (text: string) => void },
  timeout?: number,
): Promise<ElixirValue> {
  let answer: Term;
  try {
    answer = await node.erpc(peer, "Elixir.Code", "eval_string", [EVALUATE, [tuple(atom("source"), source)]], { onOutput: io.onOutput, timeout });
  } catch (err) {
    throw notElixir(peer, err) ?? err;
  }
  const [result, warnings, errors] = ((answer as Tuple).elements[0] as Tuple).elements as [Tuple, Term[], Term[]];
  for (const warning of warnings) io.onWarning(`warning: ${oneLine(iolistToString(warning))}`);
  const [kind, first, second] = result.elements;
  if (isAtom(kind, "ok")) return { value: first, inspected: iolistToString(second) };
  const text = oneLine(iolistToString(first));
  if (isAtom(kind, "syntax_error")) throw new CommandError(`cannot parse the Elixir code: ${text}`);
  // "cannot compile file (errors have been logged)": the errors it means are the diagnostics collected.
  const details = errors.map((e) => oneLine(iolistToString(e)));
  throw new CommandError(details.length > 0 ? `${text}: ${details.join("; ")}` : text);
}

/** The term as Kernel.inspect writes it on the peer (pretty, nothing left out, as the eval result is printed). */
export async function inspectElixir(node: Node, peer: string, term: Term): Promise<string> {
  const options = [tuple(atom("pretty"), true), tuple(atom("limit"), atom("infinity")), tuple(atom("printable_limit"), atom("infinity"))];
  try {
    return iolistToString(await node.erpc(peer, "Elixir.Kernel", "inspect", [term as Encodable, options]));
  } catch (err) {
    throw notElixir(peer, err) ?? err;
  }
}

/**
 * A module name as Elixir writes it, as the atom it stands for: `Enum` and `String.Chars` are aliases of
 * `Elixir.Enum` and `Elixir.String.Chars`; `:lists` is the Erlang module `lists`.
 */
export function elixirModule(text: string): string {
  if (text.startsWith(":")) return text.slice(1).replace(/^"(.*)"$/, "$1");
  if (text.startsWith("Elixir.")) return text;
  return /^[A-Z]/.test(text) ? `Elixir.${text}` : text;
}

/** A peer without Elixir (no 'Elixir.Code' or 'Elixir.Kernel' module) said so: the error that says what to do. */
function notElixir(peer: string, err: unknown): CommandError | undefined {
  if (!(err instanceof CallError) || err.code !== "exception" || !isAtom(err.reason, "undef")) return undefined;
  const top = Array.isArray(err.stacktrace) ? err.stacktrace[0] : undefined;
  const module = top instanceof Tuple ? top.elements[0] : undefined;
  if (!isAtom(module, "Elixir.Code") && !isAtom(module, "Elixir.Kernel")) return undefined;
  return new CommandError(`--elixir needs Elixir on ${peer}, and it has no ${String(module)} module: is it an Elixir node? (without --elixir, the code is Erlang)`, { cause: err });
}

/** Elixir's messages may span lines (code snippets, "Got value:" blocks); the command's errors are one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
