// What net_kernel answers on a node without Erlang code: is_auth (what net_adm:ping/1 asks) with yes, any other call
// with an error, never silence. A registered server like any other, trapping exits as the real one does.
import { atom, isAtom, tuple, Tuple } from "../../etf/index.js";
import type { ErlProcess } from "../process.js";
import { serve } from "./gen-server.js";
import type { ServiceHost } from "./host.js";

export function startNetKernel(host: ServiceHost, onError: (error: Error) => void): ErlProcess {
  const server = serve(
    host,
    "net_kernel",
    {
      call: (request) => (request instanceof Tuple && isAtom(request.elements[0], "is_auth") ? atom("yes") : tuple(atom("error"), atom("not_supported"))),
    },
    onError,
  );
  server.trapExits = true; // an exit signal to net_kernel is a message to it, as for BEAM's own
  return server;
}
