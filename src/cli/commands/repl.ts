// erldist repl [<node>...]: an interactive REPL with a started node, the term helpers and top-level await. With
// ts-node installed (it is in a clone of the repository) it takes TypeScript; without (an installed package, where
// ts-node is only a dev dependency), JavaScript, and it says so.
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

TypeScript when ts-node can be loaded (a clone of the repository has it; for an installed package, npm install
ts-node next to it), JavaScript otherwise (or with --javascript), saying so on stderr. Inputs run one at a
time, each awaited before the next, so pasted or piped lines may depend on each other. Leave with .exit or Ctrl-D.

Options:
  --javascript           take JavaScript even when ts-node is there

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
    const missing = (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND";
    io.err(
      missing
        ? "TypeScript needs ts-node, which is not installed here (npm install ts-node): this REPL takes JavaScript\n"
        : `ts-node could not be loaded (${(err as Error).message.split("\n")[0]}): this REPL takes JavaScript\n`,
    );
    return undefined;
  }
  // ts-node evaluates in the global context, so the REPL uses it too (the helpers are put there).
  const server = repl.start({ prompt: "> ", eval: inOrder(tsRepl.nodeEval), useGlobal: true, terminal: process.stdout.isTTY });
  return server;
}

/** Settles once the REPL has evaluated every input it was given. */
let pendingInput: Promise<void> = Promise.resolve();

/**
 * One input at a time: an input that awaits is finished before the next is evaluated (pasted or piped lines depend
 * on each other; Node's own REPL would run the next line while the await is pending), and leaving waits for the
 * last one.
 */
function inOrder(evaluate: repl.REPLEval): repl.REPLEval {
  return function (this: repl.REPLServer, code, context, file, callback) {
    pendingInput = pendingInput.then(
      () =>
        new Promise<void>((done) =>
          evaluate.call(this, code, context, file, (err, result) => {
            callback(err, result);
            done();
          }),
        ),
    );
  };
}

/** Node's REPL (JavaScript, top-level await), with inputs evaluated in order. */
function javascriptRepl(): repl.REPLServer {
  const server = repl.start({ prompt: "> ", useGlobal: true, terminal: process.stdout.isTTY });
  // The REPL calls server.eval for each input (typed readonly, but a plain property); its own is the JavaScript one.
  (server as { eval: repl.REPLEval }).eval = inOrder(server.eval);
  return server;
}

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
    if (parsed.values.javascript) io.err("--javascript: this REPL takes JavaScript\n");
    const server = (parsed.values.javascript ? undefined : await typescriptRepl(io)) ?? javascriptRepl();
    await new Promise<void>((resolve) => server.once("exit", () => resolve()));
    await pendingInput;
    return 0;
  } finally {
    await stopSession(session);
  }
}
