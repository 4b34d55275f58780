// Making Buffer views fast. Buffer#subarray goes through the typed-array species protocol; constructing Node's
// FastBuffer (the class of every Buffer, which Buffer[Symbol.species] returns) directly takes half the time and
// yields the same genuine Buffer (same prototype, so deepStrictEqual and matchers treat it as one).
import { Buffer } from "node:buffer";

type BufferCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;
const species = (Buffer as unknown as { [Symbol.species]?: unknown })[Symbol.species];
const FastBuffer: BufferCtor | undefined =
  typeof species === "function" && species !== Buffer && Object.getPrototypeOf(new (species as BufferCtor)(new ArrayBuffer(1), 0, 1)) === Buffer.prototype
    ? (species as BufferCtor)
    : undefined;

/** A Buffer viewing `length` bytes of an ArrayBuffer from `offset`; no copy. */
export const viewOfArrayBuffer: (buffer: ArrayBufferLike, offset: number, length: number) => Buffer = FastBuffer
  ? (buffer, offset, length) => new FastBuffer(buffer, offset, length)
  : (buffer, offset, length) => Buffer.from(buffer as ArrayBuffer, offset, length);

/** A Buffer viewing `length` bytes of `source` from `start`; no copy. */
export const viewOf: (source: Buffer, start: number, length: number) => Buffer = FastBuffer
  ? (source, start, length) => new FastBuffer(source.buffer, source.byteOffset + start, length)
  : (source, start, length) => source.subarray(start, start + length);
