// The mailbox on its own (no node, no BEAM): selective receive's timeout and AbortSignal, and that a receive that
// ended leaves no waiter behind to swallow a later message.
import { describe, expect, it } from "vitest";
import { atom, type Term } from "../../src/etf/index.js";
import { NodeError } from "../../src/node/errors.js";
import { Mailbox } from "../../src/node/mailbox.js";
import { rejectionOf } from "../support/rejection.js";

describe("Mailbox.receive", () => {
  it("times out with NodeError timeout, and the message that arrives later stays queued", async () => {
    const mailbox = new Mailbox();
    const error = await rejectionOf(mailbox.receive(undefined, { timeout: 5 }), NodeError);
    expect(error.code).toBe("timeout");
    expect(error.message).toBe("no matching message within 5 ms");
    mailbox.deliver(atom("late"));
    expect(mailbox.size).toBe(1);
    expect(await mailbox.receive()).toBe(atom("late"));
  });

  it("rejects with NodeError aborted, the signal's reason as cause, when the signal aborts", async () => {
    const mailbox = new Mailbox();
    const controller = new AbortController();
    const pending = mailbox.receive(undefined, { signal: controller.signal, timeout: 60_000 });
    const reason = new Error("gave up");
    controller.abort(reason);
    const error = await rejectionOf(pending, NodeError);
    expect(error.code).toBe("aborted");
    expect(error.message).toBe("receive was aborted");
    expect(error.cause).toBe(reason);
    mailbox.deliver(atom("after"));
    expect(mailbox.size).toBe(1);
  });

  it("rejects at once for a signal aborted already, unless a queued message matches", async () => {
    const mailbox = new Mailbox();
    expect((await rejectionOf(mailbox.receive(undefined, { signal: AbortSignal.abort("no") }), NodeError)).code).toBe("aborted");
    mailbox.deliver(atom("queued"));
    expect(mailbox.size).toBe(1); // no waiter took it
    expect(await mailbox.receive(undefined, { signal: AbortSignal.abort("no") })).toBe(atom("queued"));
  });

  it("resolves with the matching message delivered in time, and the deadline does not fire after", async () => {
    const mailbox = new Mailbox();
    const isPair = (m: Term): boolean => Array.isArray(m) && m.length === 2;
    const pending = mailbox.receive(isPair, { timeout: 30 });
    mailbox.deliver(atom("other"));
    mailbox.deliver([1, 2]);
    expect(await pending).toEqual([1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mailbox.size).toBe(1);
    expect(await mailbox.receive()).toBe(atom("other"));
  });

  it("rejects with the close error when the mailbox closes while waiting, and every later receive with the same one", async () => {
    const mailbox = new Mailbox();
    const pending = mailbox.receive(undefined, { timeout: 60_000 });
    let made = 0;
    mailbox.close(() => (made++, new NodeError("exited", "the process exited")));
    const error = await rejectionOf(pending, NodeError);
    expect(error.code).toBe("exited");
    expect(await rejectionOf(mailbox.receive(), NodeError)).toBe(error);
    mailbox.deliver(atom("dropped"));
    expect(mailbox.size).toBe(0);
    expect(made).toBe(1);
  });

  it("closed with nobody waiting, it makes its error only when a receive needs it", async () => {
    const mailbox = new Mailbox();
    let made = 0;
    mailbox.close(() => (made++, new NodeError("exited", "the process exited")));
    expect(made).toBe(0);
    expect((await rejectionOf(mailbox.receive(), NodeError)).code).toBe("exited");
    expect(made).toBe(1);
  });
});
