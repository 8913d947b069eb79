// tai64n labels as multilog's `t` action writes them and tai64nlocal reads them: "@", 16 hex
// digits of TAI64 seconds and 8 of nanoseconds, lower case. Formats a time and parses a label.

import { tai64nFromUnixMs, type Tai64n } from "../../supervisors/daemontools/tai64.js";

export const TAI64N_LABEL_LENGTH = 25;

export function formatTai64nLabel(t: Tai64n): string {
  return `@${hex8(t.high)}${hex8(t.low)}${hex8(t.nano)}`;
}

/** The label of a Unix time in milliseconds. */
export function tai64nLabel(unixMs: number): string {
  return formatTai64nLabel(tai64nFromUnixMs(unixMs));
}

/** The instant of a label (the first 25 characters of `text`); undefined if it is not one. */
export function parseTai64nLabel(text: string): Tai64n | undefined {
  if (!/^@[0-9a-f]{24}/.test(text)) return undefined;
  const nano = Number.parseInt(text.slice(17, 25), 16);
  if (nano >= 1_000_000_000) return undefined;
  return {
    high: Number.parseInt(text.slice(1, 9), 16),
    low: Number.parseInt(text.slice(9, 17), 16),
    nano,
  };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}
