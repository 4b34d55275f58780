// rpc:call through the peer's rex server, as OTP's rpc.erl does it: a gen_server call to {rex, Node}, with a group
// leader of our own so that what the call prints comes back as text (the Erlang I/O protocol's put_chars).
import { Pid, Tuple, atom, isAtom, tuple, type Atom, type Encodable, type Term } from "../../etf/index.js";
import { CallError, explainCallError } from "../errors.js";
import { iolistToString } from "../iolist.js";
import type { ErlProcess } from "../process.js";
import { call, pathFromRequest } from "./gen-server.js";
import type { ServiceHost } from "./host.js";

export interface RpcOptions {
  /** Milliseconds to wait for the result (default 30000). */
  timeout?: number;
  /** What the call prints (io:format and friends), as text. */
  onOutput?: (text: string) => void;
}

/**
 * rpc:call: runs `module:fn(...args)` on `peer` through its rex server and resolves with the result.
 * `{badrpc, Reason}` becomes a CallError `badrpc` with that reason.
 */
export async function rpc(host: ServiceHost, peer: string, module: string, fn: string, args: Encodable[], options: RpcOptions = {}): Promise<Term> {
  const leader = groupLeader(host, peer, options.onOutput ?? (() => {}));
  try {
    const result = await call(host, ["rex", peer], tuple(atom("call"), atom(module), atom(fn), args, leader.pid), {
      timeout: options.timeout ?? 30_000,
    }).catch(pathFromRequest("{3}"));
    if (result instanceof Tuple && result.length === 2 && isAtom(result.elements[0], "badrpc")) {
      const reason = result.elements[1];
      throw new CallError("badrpc", `rpc ${module}:${fn}/${args.length} on ${peer} failed: ${explainCallError({ code: "badrpc", reason })}`, reason);
    }
    return result;
  } finally {
    leader.exit();
  }
}

/**
 * A group leader for remote calls: answers the Erlang I/O protocol, handing printed text to `onOutput`.
 * Formatting requests ({put_chars, Enc, Mod, Fun, Args}, what io:format sends) are formatted by the peer itself.
 */
export function groupLeader(host: ServiceHost, peer: string, onOutput: (text: string) => void): ErlProcess {
  const leader = host.spawn();
  const serve = async (): Promise<void> => {
    for await (const message of leader) {
      if (!(message instanceof Tuple) || message.length !== 4 || !isAtom(message.elements[0], "io_request")) continue;
      const [, from, replyAs, request] = message.elements;
      let reply: Encodable = atom("ok");
      try {
        const requests = request instanceof Tuple && isAtom(request.elements[0], "requests") ? (request.elements[1] as Term[]) : [request];
        for (const one of requests) await ioRequest(host, peer, one, onOutput);
      } catch {
        reply = tuple(atom("error"), atom("request"));
      }
      if (from instanceof Pid) await leader.send(from, tuple(atom("io_reply"), replyAs as Encodable, reply)).catch(() => {});
    }
  };
  void serve();
  return leader;
}

async function ioRequest(host: ServiceHost, peer: string, request: Term, onOutput: (text: string) => void): Promise<void> {
  if (!(request instanceof Tuple) || !isAtom(request.elements[0], "put_chars")) throw new Error("unsupported io request");
  const fields = request.elements;
  // {put_chars, Encoding, ...} says how the characters are encoded; the old {put_chars, Chars} is latin-1 bytes.
  const encoding = fields.length === 2 || isAtom(fields[1], "latin1") ? "latin1" : "unicode";
  if (fields.length === 3) return onOutput(iolistToString(fields[2], encoding));
  if (fields.length === 2) return onOutput(iolistToString(fields[1], encoding));
  if (fields.length === 5) {
    const [, , mod, fun, args] = fields;
    const text = await rpc(host, peer, (mod as Atom).name, (fun as Atom).name, args as Encodable[]);
    return onOutput(iolistToString(text, encoding));
  }
  throw new Error("unsupported put_chars");
}
