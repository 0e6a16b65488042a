// What the firmware is: the ABI it implements and its own version.

export const ABI_VERSION: i32 = 1;
/** Firmware version, major << 16 | minor << 8 | patch. Test images for update rehearsals
 *  are built with another (--use IMPELLER_FW_VERSION=N); the flashable build never is. */
export const FIRMWARE_VERSION: i32 = isDefined(IMPELLER_FW_VERSION) ? IMPELLER_FW_VERSION : (0 << 16) | (1 << 8) | 0;
