// erldist repl [<node>...]: an interactive REPL with a started node, the term helpers and top-level await. With
// ts-node installed (it is in a clone of the repository) it takes TypeScript; without, JavaScript.
import repl from "node:repl";
import { Module, createRequire } from "node:module";
import { join } from "node:path";
import * as erldist from "../../index.js";
import { IDENTITY_ENVIRONMENT, IDENTITY_HELP, IDENTITY_OPTIONS } from "../identity.js";
import { startNode, stopSession, type Output, type Session } from "../session.js";
import { parse } from "../usage.js";

export const HELP = `Usage: erldist repl [<node>...] [options]

Starts a hidden node, connects to the nodes given, and opens a REPL in which \`node\` is that node and the term
helpers (atom, tuple, Pid, encode, decode...) are in scope; top-level await works:

  > await node.rpc("app@10.0.0.7", "erlang", "node", [])
  > node.nodes()

TypeScript when ts-node is installed, JavaScript otherwise. Leave with .exit or Ctrl-D.

${IDENTITY_HELP}

Environment:
${IDENTITY_ENVIRONMENT}
`;

interface TsNodeRepl {
  nodeEval: repl.REPLEval;
  evalAwarePartialHost: object;
  setService(service: unknown): void;
  evalCode(code: string): unknown;
}

/** A REPL that compiles its input with ts-node (TypeScript, transpile only), if ts-node can be loaded. */
async function typescriptRepl(io: Output): Promise<repl.REPLServer | undefined> {
  let tsRepl: TsNodeRepl;
  try {
    const tsNode = (await import("ts-node")) as unknown as {
      createRepl(options: object): TsNodeRepl;
      create(options: object): unknown;
    };
    tsRepl = tsNode.createRepl({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    tsRepl.setService(
      tsNode.create({
        ...tsRepl.evalAwarePartialHost,
        transpileOnly: true,
        skipProject: true, // the REPL is not part of any project: no tsconfig.json from the working directory
        compilerOptions: { module: "commonjs", target: "es2022", strict: false },
      }),
    );
    // The CommonJS module the input runs in (ts-node compiles to CommonJS), as ts-node's own REPL sets it up; then
    // the input is marked a module, so that top-level await compiles.
    const replModule = new Module(join(process.cwd(), "<repl>"));
    Object.assign(globalThis, { module: replModule, exports: replModule.exports, require: createRequire(join(process.cwd(), "<repl>")) });
    tsRepl.evalCode("export {};\n");
  } catch (err) {
    io.err(`(ts-node is not available: ${(err as Error).message.split("\n")[0]}; the REPL takes JavaScript)\n`);
    return undefined;
  }
  // One input at a time: an input that awaits is finished before the next is compiled (pasted or piped lines
  // depend on each other), and leaving waits for the last one.
  let queue = Promise.resolve();
  const evalInOrder: repl.REPLEval = function (this: repl.REPLServer, code, context, file, callback) {
    queue = queue.then(
      () =>
        new Promise<void>((done) =>
          tsRepl.nodeEval.call(this, code, context, file, (err, result) => {
            callback(err, result);
            done();
          }),
        ),
    );
  };
  // ts-node evaluates in the global context, so the REPL uses it too (the helpers are put there).
  const server = repl.start({ prompt: "> ", eval: evalInOrder, useGlobal: true, terminal: process.stdout.isTTY });
  pendingInput = () => queue;
  return server;
}

/** Resolves once the TypeScript REPL has evaluated every input it was given. */
let pendingInput: () => Promise<void> = () => Promise.resolve();

export async function replCommand(argv: string[], io: Output): Promise<number> {
  const parsed = parse("repl", argv, { ...IDENTITY_OPTIONS, javascript: { type: "boolean" } });
  if (parsed.values.help) return io.out(HELP), 0;
  let session: Session | undefined;
  try {
    session = await startNode(parsed, io, { register: false });
    const node = session.node;
    for (const peer of parsed.positionals) {
      await node.connect(peer);
      io.out(`connected to ${peer}\n`);
    }
    io.out(`node ${node.name} (hidden: ${node.hidden}); \`node\` and the erldist helpers are in scope\n`);
    Object.assign(globalThis, erldist, { node, erldist });
    const server = (parsed.values.javascript ? undefined : await typescriptRepl(io)) ?? repl.start({ prompt: "> ", useGlobal: true });
    await new Promise<void>((resolve) => server.once("exit", () => resolve()));
    await pendingInput();
    return 0;
  } finally {
    await stopSession(session);
  }
}
