// Incoming signals, as ERTS's signal handling treats them: each control message a peer sends (checked and typed by
// the connection) is delivered to the local process it names, or answered as BEAM would answer it for a process
// that does not exist. Nothing here knows the wire: answers go through the connection's verbs.
import { Atom, Pid, Reference, atom, type Term, type TermOptions } from "../etf/index.js";
import { ALTACT_FLAG, type ControlMessage, type DistConnection } from "../dist/index.js";
import { asReceived, downMessage, spawnReplyMessage } from "./messages.js";
import type { ProcessTable } from "./process-table.js";
import type { ErlProcess } from "./process.js";

export class Router {
  constructor(
    private readonly table: ProcessTable,
    /** How the node maps terms (control tuples decode exactly; a reason inside one is mapped here). */
    private readonly terms: TermOptions,
  ) {}

  /**
   * Acts on one control message from `connection`'s peer. Every *_TT kind (and ALTACT_SIG_SEND with the TOKEN flag)
   * acts exactly as its untraced kind: the seq_trace token is ignored, as this node runs no seq_trace (a trace ends
   * at its boundary).
   */
  route(connection: DistConnection, message: ControlMessage): void {
    const table = this.table;
    switch (message.kind) {
      case "SEND":
      case "SEND_TT":
      case "SEND_SENDER":
      case "SEND_SENDER_TT":
        table.local(message.fields.to)?.deliver(message.payload); // a dead pid: dropped, as BEAM drops it
        return;
      case "REG_SEND":
      case "REG_SEND_TT":
        table.named(message.fields.toName.name)?.deliver(message.payload); // a free name: dropped
        return;
      case "ALIAS_SEND":
      case "ALIAS_SEND_TT":
        table.alias(message.fields.alias)?.process.deliver(message.payload); // an inactive alias: dropped
        return;
      case "ALTACT_SIG_SEND":
        return this.altact(message.fields, message.payload);
      case "MONITOR_P": {
        // A monitor of something this node does not run fires at once with noproc, as BEAM's would: a
        // gen_server:call to a missing name on this node then fails fast instead of waiting for its timeout.
        const { from, toProc, ref } = message.fields;
        const watched = table.resolve(toProc);
        if (watched) table.addWatcher(watched, { from, ref, toProc, peer: connection.peerName });
        else connection.monitorExit(toProc, from, ref, atom("noproc"));
        return;
      }
      case "DEMONITOR_P": {
        const { toProc, ref } = message.fields;
        const watched = table.resolve(toProc);
        if (watched) table.removeWatcher(watched, ref);
        return;
      }
      case "MONITOR_P_EXIT":
      case "PAYLOAD_MONITOR_P_EXIT": {
        const ref = message.fields.ref;
        const reason = message.kind === "MONITOR_P_EXIT" ? message.fields.reason : message.payload; // mapped as the 'DOWN' is built
        const monitor = table.takeHeld(ref);
        if (monitor) monitor.process.deliver(downMessage(ref, monitor.target, reason, this.terms));
        return;
      }
      case "SPAWN_REPLY":
      case "SPAWN_REPLY_TT":
        return this.spawnReply(message.fields.reqId, message.fields.result);
      case "SPAWN_REQUEST":
      case "SPAWN_REQUEST_TT": {
        // This node runs no Erlang code: the caller gets a prompt error (erpc raises {erpc, notsup}), not silence.
        const { reqId, from } = message.fields;
        connection.spawnReply(reqId, from, 0, atom("notsup"));
        return;
      }
      case "LINK": {
        const { from, to } = message.fields;
        const process = table.local(to);
        if (process) process.addLink(from);
        else connection.linkExit(to, from, atom("noproc"));
        return;
      }
      case "UNLINK_ID": {
        const { id, from, to } = message.fields;
        // The acknowledgement goes first, before any other signal to the sender (OTP 26's rule).
        connection.unlinkAck(id, to, from);
        table.local(to)?.dropLink(from);
        return;
      }
      case "UNLINK":
        table.local(message.fields.to)?.dropLink(message.fields.from);
        return;
      case "EXIT":
      case "EXIT_TT":
      case "EXIT2":
      case "EXIT2_TT": {
        const { from, to, reason } = message.fields;
        table.local(to)?.exitSignal(from, this.asPayload(reason), !message.kind.startsWith("EXIT2"));
        return;
      }
      case "PAYLOAD_EXIT":
      case "PAYLOAD_EXIT_TT":
      case "PAYLOAD_EXIT2":
      case "PAYLOAD_EXIT2_TT": {
        const { from, to } = message.fields;
        table.local(to)?.exitSignal(from, message.payload, !message.kind.startsWith("PAYLOAD_EXIT2"));
        return;
      }
      case "GROUP_LEADER":
        // BEAM's group_leader(GL, Pid) for an erldist pid: its processes do no I/O, so they need no group leader.
        return;
      case "UNLINK_ID_ACK":
        // The peer confirms an unlink; the link was dropped here when UNLINK_ID went out, so nothing is left to do.
        return;
      default: {
        // Every kind is handled above (tsc checks it): a kind added to the table must get a case.
        const unhandled: never = message;
        return unhandled;
      }
    }
  }

  /**
   * OTP 28+: a message (or with EXIT, an exit signal whose reason is the payload) to an alias, a name or a pid, as
   * erl_proc_sig_queue.c handles it: to an inactive alias or a free name it is dropped, and it is a priority one
   * only when PRIO is set and it came through an active priority alias.
   */
  private altact({ flags, from, to }: { flags: number; from: Pid; to: Pid | Atom | Reference }, payload: Term): void {
    let target: ErlProcess | undefined;
    let priorityAlias = false;
    if (to instanceof Reference) {
      const alias = this.table.alias(to);
      target = alias?.process;
      priorityAlias = alias?.priority === true;
    } else {
      target = this.table.resolve(to);
    }
    const priority = priorityAlias && (flags & ALTACT_FLAG.PRIO) !== 0;
    if ((flags & ALTACT_FLAG.EXIT) !== 0) target?.exitSignal(from, payload, false, priority);
    else target?.deliver(payload, priority);
  }

  /** The answer to a spawn request of a local process: the new pid, or why there is none. */
  private spawnReply(reqId: Reference, result: Pid | Atom): void {
    const key = this.table.keyOf(reqId);
    const request = this.table.spawnRequests.get(key);
    if (!request) return;
    this.table.spawnRequests.delete(key);
    if (result instanceof Pid) {
      const monitor = this.table.heldMonitor(reqId);
      if (monitor) {
        monitor.target = result; // what its 'DOWN' names, and what a demonitor names
        monitor.toProc = result;
      }
      if (request.reply === "yes" || request.reply === "success_only") request.process.deliver(spawnReplyMessage(reqId, { ok: result }, this.terms));
    } else {
      this.table.takeHeld(reqId); // no process, so no monitor
      if (request.reply === "yes" || request.reply === "error_only") request.process.deliver(spawnReplyMessage(reqId, { error: result }, this.terms));
    }
  }

  /** A term of a control tuple (decoded exactly, for routing) as payloads decode with the node's terms option. */
  private asPayload(term: Term): Term {
    return this.terms.binariesAsStrings || this.terms.nilAsNull ? asReceived(term, this.terms) : term;
  }
}
