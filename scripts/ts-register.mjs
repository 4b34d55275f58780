// Lets plain `node` run the TypeScript benchmarks and tools through ts-node's ESM loader.
import { register } from "node:module";
import { pathToFileURL } from "node:url";

register("ts-node/esm", pathToFileURL("./"));
