// Fixed work for counting instructions, which on a shared machine tell one version of erldist from another far
// better than rates do. Runs COUNT operations of one workload on a built tree (npm run build writes dist/):
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded bench/count-ops.mjs . ints-decode 20
//
// Run it with N and with 11N and divide the difference of the two totals ("Collected") by 10N: the instructions of
// one operation, start-up left out. Pass another tree's folder as the first argument to measure that version.
// Workloads: ints-decode, ints-encode (a list of 100,000 integers, a third of them below 256), floats-decode,
// floats-encode (10,000 floats), message-in (a REG_SEND of {n, I} with a distribution header, decoded and parsed as a
// connection does), message-out (the same message through FrameWriter.send into a sink that takes everything).
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
    case "message-out": {
      const { FrameWriter } = await from("dist/frame-writer.js");
      const sink = { write: () => true, cork() {}, uncork() {}, writableLength: 0 };
      const writer = new FrameWriter(sink, { headers: true, fragments: true, peerName: "b@127.0.0.1" });
      const name = atom("c2");
      const unused = atom("");
      let i = 0;
      return () => void writer.send(tuple(6, sender, unused, name), tuple(atom("n"), i++));
    }
    default:
      throw new Error(`unknown workload '${workload}': ints-decode, ints-encode, floats-decode, floats-encode, message-in or message-out`);
  }
}

const run = await operation();
for (let i = 0; i < count; i++) run();
