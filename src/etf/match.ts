// Matching tagged tuples, Erlang's {Tag, ...}: the shape of most messages and results ({ok, Value}, {error,
// Reason}, {'EXIT', Pid, Reason}). The tag is compared by name ({@link isAtom}), never by identity, so a match holds
// for atoms the decoder no longer interns (past ATOM_INTERN_LIMIT).
import { Tuple, isAtom, type Encodable, type Term } from "./types.js";

/**
 * The elements of `term` when it is a tuple whose first element is the atom `tag` (and, with `size`, that has
 * `size` elements, the tag included), else undefined: `taggedTuple(reply, "ok", 2)?.[1]` is the Value of
 * {ok, Value}.
 */
export function taggedTuple<E extends Encodable = Term>(term: unknown, tag: string, size?: number): E[] | undefined {
  return isTaggedTuple<E>(term, tag, size) ? term.elements : undefined;
}

/** True when `term` is a tuple whose first element is the atom `tag` (and, with `size`, of that many elements). */
export function isTaggedTuple<E extends Encodable = Term>(term: unknown, tag: string, size?: number): term is Tuple<E> {
  return term instanceof Tuple && (size === undefined || term.length === size) && isAtom(term.elements[0], tag);
}
