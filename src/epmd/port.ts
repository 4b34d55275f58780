// Which port epmd listens on, read from ERL_EPMD_PORT as erl and epmd read it: one parser for the client, the
// built-in server and the command, so a bad value fails the same way everywhere.

/** epmd's port when ERL_EPMD_PORT is unset (or empty). */
export const DEFAULT_EPMD_PORT = 4369;

/**
 * The epmd port: ERL_EPMD_PORT when set and not empty, else 4369. Throws a RangeError when ERL_EPMD_PORT is not a
 * TCP port number (an integer from 1 to 65535), rather than silently using another port than erl would.
 */
export function epmdPortFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env.ERL_EPMD_PORT;
  if (fromEnv === undefined || fromEnv === "") return DEFAULT_EPMD_PORT;
  const port = Number(fromEnv);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`ERL_EPMD_PORT must be a TCP port number, not '${fromEnv}'`);
  }
  return port;
}
