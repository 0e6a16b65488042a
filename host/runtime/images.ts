// The firmware images of this checkout, as scripts/build-firmware.mjs builds them: the release
// image (the bytes flashed and the bytes every simulated pump runs), the debug build for
// harnesses, and the test images (faulty on purpose) that campaigns and supervision tests offer.

import fs from "node:fs";
import { compileFirmware, type CompiledFirmware } from "./firmware.js";

export const RELEASE_IMAGE = new URL("../../build/firmware.wasm", import.meta.url);
export const DEBUG_IMAGE = new URL("../../build/firmware.debug.wasm", import.meta.url);

/** A test image by name, e.g. "v0.2.0" or "trap-at-init" (build/test-images/firmware-NAME.wasm). */
export function testImage(name: string): URL {
  return new URL(`../../build/test-images/firmware-${name}.wasm`, import.meta.url);
}

export function releaseBytes(): Uint8Array {
  return new Uint8Array(fs.readFileSync(RELEASE_IMAGE));
}

/** The release image, compiled and checked against ABI v1. */
export async function loadRelease(): Promise<CompiledFirmware> {
  return compileFirmware(releaseBytes());
}
