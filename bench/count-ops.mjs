// Fixed work for counting instructions, which on a shared machine tell one version of erldist from another far
// better than rates do. Runs COUNT operations of one workload on a built tree (npm run build writes dist/):
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded bench/count-ops.mjs . ints-decode 20
//
// Run it with N and with 11N and divide the difference of the two totals ("Collected") by 10N: the instructions of
// one operation, start-up left out. Pass another tree's folder as the first argument to measure that version.
// Workloads: ints-decode, ints-encode (a list of 100,000 integers, a third of them below 256), floats-decode,
// floats-encode (10,000 floats), message-in (a REG_SEND of {n, I} with a distribution header, decoded and parsed as a
// connection does), message-in-cached (the same with its atoms as atom cache references, as BEAM sends it),
// message-out (the same message through FrameWriter.send into a sink that takes everything), bulk-out (a 1 MiB binary
// the same way).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [tree = ".", workload = "", countText = "0"] = process.argv.slice(2);
const count = Number(countText);
const from = (path) => import(pathToFileURL(resolve(tree, "dist", path)).href);
const { atom, decode, encode, float, tuple, Pid } = await from("etf/index.js");

function integers() {
  let seed = 7;
  return Array.from({ length: 100_000 }, (_, i) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return i % 3 === 0 ? seed % 256 : seed | 0;
  });
}

const floats = () => Array.from({ length: 10_000 }, (_, i) => float(i * 1.5 + 0.25));
const sender = new Pid(atom("b@127.0.0.1"), 81, 0, 1764570000);

async function operation() {
  switch (workload) {
    case "ints-decode": {
      const bytes = encode(integers());
      return () => decode(bytes);
    }
    case "ints-encode": {
      const list = integers();
      return () => encode(list);
    }
    case "floats-decode": {
      const bytes = encode(floats());
      return () => decode(bytes);
    }
    case "floats-encode": {
      const list = floats();
      return () => encode(list);
    }
    case "message-in": {
      const { PacketDecoder } = await from("dist/packet-decoder.js");
      const { parseControl } = await from("dist/control.js");
      const control = encode(tuple(6, sender, atom(""), atom("c4")));
      const payload = encode(tuple(atom("n"), 12345));
      // <<131, 68, 0>>: a distribution header with no atom cache refs; the terms follow without version bytes.
      const packet = Buffer.concat([Buffer.from([131, 68, 0]), control.subarray(1), payload.subarray(1)]);
      const decoder = new PacketDecoder("b@127.0.0.1", undefined, 1 << 26, { fragmentsIn: 0, atomCacheRefsIn: 0 });
      return () => {
        const decoded = decoder.decode(packet);
        if (parseControl(decoded.control, decoded.payload).kind !== "REG_SEND") throw new Error("not a REG_SEND");
      };
    }
    case "message-in-cached": {
      // The same message as BEAM sends it: its four atoms as atom cache references, entered by the first packet.
      const { PacketDecoder } = await from("dist/packet-decoder.js");
      const { parseControl } = await from("dist/control.js");
      const text = (t) => [t.length, ...Buffer.from(t)];
      const seed = [3, 0x88, 0x88, 0, 0, ...text("b@127.0.0.1"), 1, ...text(""), 2, ...text("c4"), 3, ...text("n")];
      const refer = [3, 0, 0, 0, 0, 1, 2, 3];
      const u32 = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
      const body = [104, 4, 97, 6, 88, 82, 0, ...u32(81), ...u32(0), ...u32(1764570000), 82, 1, 82, 2, 104, 2, 82, 3, 98, ...u32(12345)];
      const packet = (header) => Buffer.from([131, 68, header[0] + 1, ...header.slice(1), ...body]);
      const decoder = new PacketDecoder("b@127.0.0.1", undefined, 1 << 26, { fragmentsIn: 0, atomCacheRefsIn: 0 });
      const first = decoder.decode(packet(seed));
      if (first.payload.elements[0] !== atom("n") || first.control.elements[1].node !== atom("b@127.0.0.1")) throw new Error("bad packet");
      const steady = packet(refer);
      return () => {
        const decoded = decoder.decode(steady);
        if (parseControl(decoded.control, decoded.payload).kind !== "REG_SEND") throw new Error("not a REG_SEND");
      };
    }
    case "message-out": {
      const { FrameWriter } = await from("dist/frame-writer.js");
      const sink = { write: () => true, cork() {}, uncork() {}, writableLength: 0 };
      const writer = new FrameWriter(sink, { headers: true, fragments: true, peerName: "b@127.0.0.1" });
      const name = atom("c2");
      const unused = atom("");
      let i = 0;
      return () => void writer.send(tuple(6, sender, unused, name), tuple(atom("n"), i++));
    }
    case "bulk-out": {
      // A 1 MiB binary through FrameWriter.send: written by reference, in 64 KiB fragments.
      const { FrameWriter } = await from("dist/frame-writer.js");
      const sink = { write: (_chunk, done) => void done?.(), cork() {}, uncork() {}, writableLength: 0 };
      const writer = new FrameWriter(sink, { headers: true, fragments: true, peerName: "b@127.0.0.1" });
      const name = atom("c6");
      const unused = atom("");
      const bin = atom("bin");
      const chunk = Buffer.alloc(1 << 20);
      return () => void writer.send(tuple(6, sender, unused, name), tuple(bin, chunk));
    }
    default:
      throw new Error(`unknown workload '${workload}': ints-decode, ints-encode, floats-decode, floats-encode, message-in, message-in-cached, message-out or bulk-out`);
  }
}

const run = await operation();
if (workload === "ints-decode" || workload === "floats-decode") {
  // Warm the list decoder from its entry first, as a long-running node does. Otherwise, under --single-threaded,
  // V8 optimizes it only on stack, inside its first long loop, and that copy deoptimizes at every loop's end.
  const short = encode(workload === "ints-decode" ? integers().slice(0, 8) : floats().slice(0, 8));
  for (let i = 0; i < 20_000; i++) decode(short);
}
for (let i = 0; i < count; i++) run();
