// TAI64N time stamps as daemontools writes them: 8 bytes of TAI64 seconds (2^62 + 10 + unix
// seconds, the 10 being TAI's offset from UTC in 1970 as daemontools counts it) and 4 bytes of
// nanoseconds. Shared by supervise's status file and multilog's line labels.

/** A TAI64N instant, split so that both halves fit in plain numbers (no BigInt on the log path). */
export interface Tai64n {
  /** The upper 32 bits of the TAI64 seconds: 0x40000000 until the year 2106. */
  readonly high: number;
  /** The lower 32 bits of the TAI64 seconds. */
  readonly low: number;
  readonly nano: number;
}

const TWO_32 = 2 ** 32;
const TAI64_HIGH_BASE = 0x40000000; // 2^62 seen from the upper 32 bits
const TAI_UTC_OFFSET = 10;

/**
 * The TAI64N of a Unix time in milliseconds. Nanoseconds follow daemontools' taia_now
 * (microseconds × 1000 + 500), so a label never claims more precision than the clock had.
 */
export function tai64nFromUnixMs(unixMs: number): Tai64n {
  const unixSeconds = Math.floor(unixMs / 1000);
  const taiSeconds = unixSeconds + TAI_UTC_OFFSET;
  const micros = (unixMs - unixSeconds * 1000) * 1000;
  return {
    high: TAI64_HIGH_BASE + Math.floor(taiSeconds / TWO_32),
    low: taiSeconds % TWO_32,
    nano: Math.floor(micros) * 1000 + 500,
  };
}

/** Whole Unix seconds of a TAI64 seconds value. */
export function unixSecondsFromTai64(t: Pick<Tai64n, "high" | "low">): number {
  return (t.high - TAI64_HIGH_BASE) * TWO_32 + t.low - TAI_UTC_OFFSET;
}

/** Unix milliseconds of a TAI64N (the inverse of `tai64nFromUnixMs`, to the millisecond). */
export function unixMsFromTai64n(t: Tai64n): number {
  return unixSecondsFromTai64(t) * 1000 + Math.floor(t.nano / 1_000_000);
}
