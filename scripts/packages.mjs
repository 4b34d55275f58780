// What a fresh machine lacks, installed where we can: Debian/Ubuntu packages with apt-get when running as root;
// elsewhere, the exact command to run.
import { execFileSync } from "node:child_process";

function log(message) {
  console.error(`[erldist] ${message}`);
}

/** True when `name` is a command on PATH. */
export function hasCommand(name) {
  try {
    execFileSync("sh", ["-c", `command -v "$0"`, name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The command that installs `packages`, as a user would type it. */
export function installCommand(packages) {
  return `${process.getuid?.() === 0 ? "" : "sudo "}apt-get install -y ${packages.join(" ")}`;
}

/** True when this process can install Debian packages itself (root, with apt-get). */
export function canInstall() {
  return process.getuid?.() === 0 && hasCommand("apt-get");
}

/**
 * Installs Debian packages with apt-get when this is a root shell on a machine with apt, saying what and why;
 * elsewhere throws with the exact command to run.
 */
export function installPackages(packages, why) {
  if (!canInstall()) {
    throw new Error(`${why} needs ${packages.join(", ")}: install ${packages.length > 1 ? "them" : "it"} with \`${installCommand(packages)}\` (Debian/Ubuntu) or your system's package manager`);
  }
  log(`installing ${packages.join(", ")} with apt-get (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...packages], { stdio: ["ignore", "ignore", "inherit"], env });
}

/**
 * Makes sure each needed package's command is there: installs the missing ones as root, or prints the command to run
 * and returns false.
 */
export function ensurePackages(needs, why) {
  const missing = [...new Set(needs.filter(({ command }) => !(command.startsWith("/") ? existsExecutable(command) : hasCommand(command))).map(({ pkg }) => pkg))];
  if (missing.length === 0) return true;
  if (!canInstall()) {
    log(`${why} needs ${missing.join(", ")}, which ${missing.length > 1 ? "are" : "is"} not installed: run \`${installCommand(missing)}\` (Debian/Ubuntu) or use your system's package manager`);
    return false;
  }
  installPackages(missing, why);
  return true;
}

function existsExecutable(path) {
  try {
    execFileSync("test", ["-x", path], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
