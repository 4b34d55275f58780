// gen_server's client and server sides, on the public process API as OTP's gen.erl is on erlang's: a call is a
// monitor, an alias, a send and a selective receive; a server is a registered process that answers in order.
import { EncodeError, ImproperList, Pid, Reference, Tuple, atom, improperList, isAtom, tuple, type Atom, type Encodable, type Term } from "../../etf/index.js";
import { ignorable, type NodeName } from "../destination.js";
import { CallError, NodeError, explainCallError } from "../errors.js";
import { downReason, isDown, isReply } from "../messages.js";
import type { ErlProcess } from "../process.js";
import type { ServiceHost } from "./host.js";

/** Where a call or cast goes: a pid, or `[name, node]`. */
export type ServerRef = Pid | readonly [name: string | Atom, node: NodeName];

/** The callbacks of a server made with `serve`. */
export interface ServerHandlers {
  /** gen_server:call: the value (or promise of it) is the reply. `from` is the caller's pid. */
  call?(request: Term, from: Pid): Encodable | Promise<Encodable>;
  /** gen_server:cast. */
  cast?(request: Term): void | Promise<void>;
  /** Any other message. */
  info?(message: Term): void | Promise<void>;
}

export function describeServer(dest: ServerRef): string {
  const text = (name: string | Atom) => (typeof name === "string" ? name : name.name);
  return Array.isArray(dest) ? `${text(dest[0])} on ${text(dest[1])}` : String(dest);
}

/**
 * For the EncodeError of a request the node wraps (`{'$gen_call', From, Request}`, rpc's arguments in rex's
 * request...): the same error with its path from the request, as encode(request) reports it, not from the wrapper
 * the caller never wrote. `at` is where the request sits in the wrapper ("{2}").
 */
export function pathFromRequest(at: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof EncodeError && err.path.startsWith(at)) throw new EncodeError(err.path.slice(at.length), err.detail);
    throw err;
  };
}

/**
 * gen_server:call: sends `{'$gen_call', {From, Tag}, Request}` to `dest`, monitors it, and resolves with the reply.
 * Rejects with a CallError: `timeout`, `noproc`, `noconnection`, or `exit` with the server's exit reason.
 */
export async function call(host: ServiceHost, dest: ServerRef, request: Encodable, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<Term> {
  const timeout = options.timeout ?? 5000;
  const caller = host.spawn();
  try {
    const mref = await caller.monitor(dest);
    // As OTP 24+ gen:call does: the tag [alias | Alias] makes the server reply to an alias of the caller
    // (ALIAS_SEND), so a reply arriving after a timeout is dropped instead of queued.
    const tag = improperList([atom("alias")], caller.alias());
    await caller.send(dest, tuple(atom("$gen_call"), tuple(caller.pid, tag), request)).catch(pathFromRequest("{2}"));
    let answer: Tuple;
    try {
      answer = (await caller.receive((m) => isReply(m, tag) || isDown(m, mref), { timeout, signal: options.signal })) as Tuple;
    } catch (err) {
      if (err instanceof NodeError && err.code === "timeout") {
        throw new CallError("timeout", `no reply from ${describeServer(dest)} within ${timeout} ms (timeout)`, undefined, { cause: err });
      }
      throw err;
    }
    if (isDown(answer, mref)) {
      const reason = downReason(answer);
      const code = isAtom(reason, "noproc") ? "noproc" : isAtom(reason, "noconnection") ? "noconnection" : "exit";
      const what = code === "exit" ? "exited during the call" : code === "noproc" ? "does not exist" : "is not reachable";
      throw new CallError(code, `${describeServer(dest)} ${what}: ${explainCallError({ code, reason })}`, reason);
    }
    caller.demonitor(mref);
    return answer.elements[1];
  } finally {
    caller.exit();
  }
}

/**
 * gen_server:cast: sends `{'$gen_cast', Request}` (connecting if needed); never waits for the server. The contract
 * of send: a bad destination throws at the call, and the promise may be ignored.
 */
export function cast(host: ServiceHost, dest: ServerRef, request: Encodable): Promise<void> {
  return ignorable(host.send(dest, tuple(atom("$gen_cast"), request)).catch(pathFromRequest("{1}")));
}

/**
 * A gen_server in TypeScript, registered as `name`: requests are handled one at a time, in order; `call` may be
 * async and its value is the reply. A handler that throws does not take the server down: the caller gets
 * `{error, <<Message>>}` and `onError` hears of it. Returns the server's process (exit() stops it).
 */
export function serve(host: ServiceHost, name: string, handlers: ServerHandlers, onError: (error: Error) => void): ErlProcess {
  const server = host.spawn();
  host.register(name, server);
  void run(server, handlers, onError);
  return server;
}

async function run(server: ErlProcess, handlers: ServerHandlers, onError: (error: Error) => void): Promise<void> {
  for await (const message of server) {
    try {
      const call = genCall(message);
      if (call) {
        let reply: Encodable;
        try {
          reply = handlers.call ? await handlers.call(call.request, call.from) : tuple(atom("error"), atom("no_call_handler"));
        } catch (err) {
          onError(err as Error);
          reply = tuple(atom("error"), String((err as Error)?.message ?? err));
        }
        await server.send(call.replyTo, tuple(call.tag, reply)).catch(() => {});
      } else if (message instanceof Tuple && message.length === 2 && isAtom(message.elements[0], "$gen_cast")) {
        await handlers.cast?.(message.elements[1]);
      } else {
        await handlers.info?.(message);
      }
    } catch (err) {
      onError(err as Error);
    }
  }
}

/**
 * `{'$gen_call', {From, Tag}, Request}`, with where its reply goes: as gen:reply/2, an OTP 24+ caller's tag
 * `[alias | Alias]` names the alias, so that a reply after the caller gave up is dropped instead of left in its
 * mailbox; an older caller's reply goes to its pid.
 */
function genCall(message: Term): { from: Pid; tag: Term; request: Term; replyTo: Pid | Reference } | undefined {
  if (!(message instanceof Tuple) || message.length !== 3 || !isAtom(message.elements[0], "$gen_call")) return undefined;
  const [, fromAndTag, request] = message.elements;
  if (!(fromAndTag instanceof Tuple) || fromAndTag.length !== 2) return undefined;
  const [from, tag] = fromAndTag.elements;
  if (!(from instanceof Pid)) return undefined;
  const alias = tag instanceof ImproperList && tag.elements.length === 1 && isAtom(tag.elements[0], "alias") && tag.tail instanceof Reference ? tag.tail : undefined;
  return { from, tag, request, replyTo: alias ?? from };
}
