// Awaits a promise that must reject with an error of class `kind`, and returns that error for further checks.
import { expect } from "vitest";

export async function rejectionOf<E extends Error>(promise: Promise<unknown>, kind: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return err as E;
  }
  throw new Error(`expected a rejection with ${kind.name}`);
}
