// supervise/status, the 18-byte record daemontools' svstat reads: TAI64N of the last change of
// pid (seconds and nanoseconds, big-endian), the pid (little-endian, 0 = down), the paused flag
// and the wanted state. Written as status.new and renamed over status, as supervise does, so a
// reader never sees a half-written record.

import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tai64nFromUnixMs, unixMsFromTai64n } from "./tai64.js";

export const STATUS_FILE_SIZE = 18;

/**
 * What supervise wants: "up" (restart on exit), "down", or "none" after `svc -o` (run once,
 * never restart), which daemontools records as a 0 byte.
 */
export type Want = "up" | "down" | "none";

export interface SuperviseStatus {
  /** Unix milliseconds of the last change of `pid` (a start or an exit). */
  readonly sinceMs: number;
  /** The running service's pid, or 0 when it is down. tsqmail records its worker's thread id. */
  readonly pid: number;
  readonly paused: boolean;
  readonly want: Want;
}

const WANT_BYTE: Readonly<Record<Want, number>> = { up: 0x75, down: 0x64, none: 0 };

export function encodeStatus(status: SuperviseStatus): Buffer {
  const bytes = Buffer.alloc(STATUS_FILE_SIZE);
  const since = tai64nFromUnixMs(status.sinceMs);
  bytes.writeUInt32BE(since.high, 0);
  bytes.writeUInt32BE(since.low, 4);
  bytes.writeUInt32BE(since.nano, 8);
  bytes.writeUInt32LE(status.pid, 12);
  bytes[16] = status.paused ? 1 : 0;
  bytes[17] = WANT_BYTE[status.want];
  return bytes;
}

/**
 * Decodes a status record; undefined when it is shorter than 18 bytes (svstat's "bad format").
 * Like svstat, bytes after the first 18 are ignored.
 */
export function decodeStatus(bytes: Uint8Array): SuperviseStatus | undefined {
  if (bytes.length < STATUS_FILE_SIZE) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wantByte = view[17];
  return {
    sinceMs: unixMsFromTai64n({
      high: view.readUInt32BE(0),
      low: view.readUInt32BE(4),
      nano: view.readUInt32BE(8),
    }),
    pid: view.readUInt32LE(12),
    paused: view[16] !== 0,
    // daemontools' svstat tests only for 'u' and 'd'; any other byte means neither.
    want: wantByte === WANT_BYTE.up ? "up" : wantByte === WANT_BYTE.down ? "down" : "none",
  };
}

/**
 * Replaces SUPERVISE_DIR/status. Synchronous on purpose: two asynchronous writes in flight could
 * rename in the wrong order and leave the older record in place; 18 bytes cost microseconds.
 * No fsync, like supervise: the record describes a live process and is rewritten at each change.
 */
export function writeStatusFile(superviseDir: string, status: SuperviseStatus): void {
  const next = join(superviseDir, "status.new");
  writeFileSync(next, encodeStatus(status));
  renameSync(next, join(superviseDir, "status"));
}
