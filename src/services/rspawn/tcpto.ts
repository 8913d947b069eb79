// tcpto: qmail-remote's memory of hosts that time out (qmail-behaviour.md §4), in qmail's file
// QUEUE/lock/tcpto — 64 records of 16 bytes: the IPv4 address in bytes 0–3, the count of recent
// timeouts in byte 4 (at most 10), the time of the last one in bytes 8–11, little-endian. So
// qmail-tcpto and `tsqmail tcpto` read what rspawn writes.
// An address is skipped while its count is at least 2 and its last timeout is less than
// (60 + (pid & 31)) << 6 seconds old (about an hour). A timeout (s/qmail: a refusal too) counts
// once per 120 s; a connection that works, or fails otherwise, clears the record. A new address
// takes a free record, else the one with the smallest `last + count·1024`. IPv6 addresses have
// no place in the format and are never skipped.
// rspawn is the file's only writer and zero-fills it when it starts, as qmail-rspawn does;
// updates are serialised in this worker (Node cannot flock; each is one 16-byte positional write).
// The table is advice: a file that cannot be read or written counts as an empty table and is
// never a reason to fail a delivery (qmail-remote ignores tcpto's errors too).
// Reads and writes: QUEUE/lock/tcpto, through the file-system seam.

import { isIPv4 } from "node:net";
import type { SiteFs } from "../../io/fs.js";
import { TCPTO_SIZE } from "../../queue/queue-layout.js";

export const TCPTO_RECORD_BYTES = 16;
const MAX_COUNT = 10;
const RECOUNT_AFTER_SECONDS = 120;

export interface TcptoRecord {
  readonly address: string;
  /** qmail reads the count as a signed char. */
  readonly count: number;
  readonly last: number;
}

/** The table's records, in file order; a count below 1 is a free record. */
export function tcptoRecords(table: Buffer): TcptoRecord[] {
  const records: TcptoRecord[] = [];
  for (let at = 0; at + TCPTO_RECORD_BYTES <= table.length; at += TCPTO_RECORD_BYTES) {
    records.push({ address: [...table.subarray(at, at + 4)].join("."), count: table.readInt8(at + 4), last: table.readUInt32LE(at + 8) });
  }
  return records;
}

export class Tcpto {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fs: SiteFs,
    private readonly file: string,
    /** qmail spreads the skip period by pid so that not every qmail-remote retries at once. */
    private readonly pid: number,
  ) {}

  /** qmail-rspawn's start: every record free. Rejects when the file cannot be written (the caller logs it). */
  clear(): Promise<void> {
    return this.serial(() => this.writeAt(0, Buffer.alloc(TCPTO_SIZE), "w"));
  }

  /** Should a connection to `ip` not even be tried now? */
  skip(ip: string, now: number): Promise<boolean> {
    if (!isIPv4(ip)) return Promise.resolve(false);
    return this.serial(async () => {
      const record = tcptoRecords(await this.read()).find((entry) => entry.address === ip);
      return record !== undefined && record.count >= 2 && now - record.last < (60 + (this.pid & 31)) << 6;
    }).catch(() => false);
  }

  /** After a connection attempt to `ip`: `timedOut` counts against it, anything else clears it. */
  note(ip: string, timedOut: boolean, now: number): Promise<void> {
    if (!isIPv4(ip)) return Promise.resolve();
    return this.serial(async () => {
      const records = tcptoRecords(await this.read());
      const index = records.findIndex((entry) => entry.address === ip && entry.count > 0);
      if (index !== -1) {
        const record = records[index]!;
        if (!timedOut) return this.writeRecord(index, ip, 0, record.last);
        if (record.count >= MAX_COUNT || now - record.last < RECOUNT_AFTER_SECONDS) return;
        return this.writeRecord(index, ip, record.count + 1, now);
      }
      if (!timedOut) return;
      const free = records.findIndex((entry) => entry.count < 1);
      const slot = free !== -1 ? free : oldest(records);
      return this.writeRecord(slot, ip, 1, now);
    }).catch(() => {});
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private async read(): Promise<Buffer> {
    return (await this.fs.readFile(this.file)).subarray(0, TCPTO_SIZE);
  }

  private writeRecord(index: number, ip: string, count: number, last: number): Promise<void> {
    const record = Buffer.alloc(TCPTO_RECORD_BYTES);
    ip.split(".").forEach((part, i) => record.writeUInt8(Number(part), i));
    record.writeUInt8(count, 4);
    record.writeUInt32LE(last >>> 0, 8);
    return this.writeAt(index * TCPTO_RECORD_BYTES, record);
  }

  private async writeAt(position: number, bytes: Buffer, flags = "r+"): Promise<void> {
    const fh = await this.fs.open(this.file, flags, 0o644);
    try {
      await this.fs.write(fh, bytes, position);
    } finally {
      await this.fs.close(fh);
    }
  }
}

/** The record qmail reuses when none is free: the smallest `last + count·1024`. */
function oldest(records: readonly TcptoRecord[]): number {
  let best = 0;
  for (let i = 1; i < records.length; i++) {
    if (records[i]!.last + records[i]!.count * 1024 < records[best]!.last + records[best]!.count * 1024) best = i;
  }
  return best;
}
