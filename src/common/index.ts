// What every layer shares, below all of them: the base of the typed errors, and deadlines (a timeout plus an
// AbortSignal). It imports nothing from erldist.
export { CodedError } from "./coded-error.js";
export { watchDeadline, withDeadline, type DeadlineOptions, type Expiry } from "./deadline.js";
