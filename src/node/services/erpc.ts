// erpc:call, as OTP's erpc.erl does it: a spawn request for erpc:execute_call/4 on the peer, monitored with the
// request's reference, whose exit reason carries the result. Written on ErlProcess.spawnRequest.
import { Tuple, atom, equals, isAtom, type Encodable, type Reference, type Term } from "../../etf/index.js";
import { CallError, NodeError, explainCallError, explainException, formatReason } from "../errors.js";
import { isDown, isSpawnReply } from "../messages.js";
import { pathFromRequest } from "./gen-server.js";
import type { ServiceHost } from "./host.js";
import { groupLeader, type RpcOptions } from "./rpc.js";

/**
 * erpc:call: runs `module:fn(...args)` on `peer` in a process spawned for it and resolves with the value. A remote
 * exception becomes a CallError `exception` with `errorClass`, `reason` and (for errors) `stacktrace`; a node that
 * cannot be reached, `noconnection`; no result in time, `timeout`; a node that cannot spawn it, `notsup`.
 */
export async function erpc(host: ServiceHost, peer: string, module: string, fn: string, args: Encodable[], options: RpcOptions = {}): Promise<Term> {
  const timeout = options.timeout ?? 30_000;
  const what = `${module}:${fn}/${args.length} on ${peer}`;
  try {
    await host.connect(peer);
  } catch (err) {
    throw new CallError("noconnection", `erpc to ${peer}: the node cannot be reached (noconnection): ${(err as Error).message}`, atom("noconnection"), { cause: err });
  }
  const caller = host.spawn();
  const leader = groupLeader(host, peer, options.onOutput ?? (() => {}));
  const resultTag = caller.alias(); // any reference of this node: erpc's tag for the result
  try {
    const reqId = await caller
      .spawnRequest(peer, "erpc", "execute_call", [resultTag, atom(module), atom(fn), args], { monitor: true, groupLeader: leader.pid, reply: "error_only" })
      .catch(pathFromRequest("[3]"));
    let answer: Tuple;
    try {
      answer = (await caller.receive((m) => isDown(m, reqId) || isSpawnReply(m, reqId), { timeout })) as Tuple;
    } catch (err) {
      if (err instanceof NodeError && err.code === "timeout") throw new CallError("timeout", `erpc ${what}: no result within ${timeout} ms (timeout)`, undefined, { cause: err });
      throw err;
    }
    if (isSpawnReply(answer, reqId)) {
      const reason = answer.elements[3];
      if (isAtom(reason, "noconnection")) throw new CallError("noconnection", `erpc ${what}: the connection was lost (noconnection)`, reason);
      throw new CallError("notsup", `erpc ${module}:${fn}/${args.length}: ${peer} could not spawn the call: ${formatReason(reason)}`, reason);
    }
    return erpcResult(answer.elements[4], resultTag, what);
  } finally {
    leader.exit();
    caller.exit();
  }
}

/** Turns the exit reason of erpc's execute_call into the value, or the CallError for what it raised. */
function erpcResult(reason: Term, tag: Reference, what: string): Term {
  if (reason instanceof Tuple && equals(reason.elements[0], tag)) {
    const [, kind, value, stack] = reason.elements;
    if (isAtom(kind, "return")) return value;
    const errorClass = (isAtom(kind) ? kind.name : "error") as "throw" | "exit" | "error";
    throw new CallError("exception", `erpc ${what} raised ${explainException(errorClass, value, stack)}`, value, { errorClass, stacktrace: stack });
  }
  if (isAtom(reason, "noconnection")) throw new CallError("noconnection", `erpc ${what}: the connection was lost (noconnection)`, reason);
  // Not erpc's own exit: the process running the call was killed, or exited by a link, before it could answer.
  throw new CallError("exit", `erpc ${what}: the process running it exited: ${explainCallError({ code: "exit", reason })}`, reason);
}
