// Tests follow the peer: they ask the running BEAM node for its release and expect what that release does.
import { charlistToString } from "../../src/etf/index.js";
import type { BeamNode } from "./beam.js";
import { otpRelease } from "./fixtures.js";

/** The OTP major release a running BEAM node reports (erlang:system_info(otp_release)), as a number. */
export async function otpReleaseOf(beam: BeamNode): Promise<number> {
  return Number(charlistToString((await beam.eval("erlang:system_info(otp_release).")) as number[]));
}

/** The OTP major release of the erl on PATH, the one every BEAM node of this run is (as a string, e.g. "27"). */
export function testedOtpRelease(): string {
  return otpRelease();
}
