// A service's log directory, ROOT/log/NAME/, kept as daemontools' `multilog t sSIZE nKEEP` keeps
// it: each line labelled "@<tai64n> ", written synchronously to `current`; rotated by size through
// `previous` to `@<tai64n>.s`, keeping KEEP files in all (current and KEEP-1 rotated); a current
// left by a crash (no x bit) saved at start as `@<tai64n>.u`; current set to 0744 on close.
// Also keeps multilog's empty `lock` and `state` files, so the directory looks like multilog's.
// No flock on `lock` (Node has none): the service's supervise lock already makes its log
// directory single-writer.

import { join } from "node:path";
import { clock } from "../../supervisors/clock.js";
import { logFs, type LogFs } from "./log-fs.js";
import { splitLogLines, type ServiceLog } from "./service-log.js";
import { formatTai64nLabel, parseTai64nLabel, tai64nLabel, TAI64N_LABEL_LENGTH } from "./tai64n.js";

export interface MultilogOptions {
  /** Rotate when current reaches this many bytes, or at a line end within 2000 bytes of it. */
  readonly maxSize: number;
  /** Files kept, current included (multilog's nKEEP). */
  readonly keep: number;
  /** Epoch milliseconds for labels; tsqmail's clock unless a test pins it. */
  readonly now?: () => number;
  readonly fs?: LogFs;
}

// multilog rotates at the first line end this close to the size limit rather than cut a line.
const LINE_END_SLACK = 2000;
// A clean close marks current with the owner's x bit; its absence at start means a crash.
const MODE_CLOSED = 0o744;
const MODE_OPEN = 0o644;

export class MultilogWriter implements ServiceLog {
  readonly dir: string;
  private readonly maxSize: number;
  private readonly keep: number;
  private readonly now: () => number;
  private readonly fs: LogFs;
  private fd: number;
  /** Size of current, counting what is still in `pending`. */
  private bytes = 0;
  private pending: Buffer[] = [];
  /** The greatest @-file label seen or made: new names must sort after it. */
  private lastLabel = "";
  private closed = false;

  constructor(dir: string, options: MultilogOptions) {
    this.dir = dir;
    this.maxSize = options.maxSize;
    this.keep = options.keep;
    this.now = options.now ?? clock.now;
    this.fs = options.fs ?? logFs();
    this.fs.mkdirs(dir, 0o700);
    this.fs.close(this.fs.openAppend(this.file("lock"), 0o600));
    for (const name of this.rotatedFiles()) {
      const label = name.slice(0, TAI64N_LABEL_LENGTH);
      if (label > this.lastLabel) this.lastLabel = label;
    }
    this.fd = this.start();
  }

  append(lines: readonly string[]): void {
    if (this.closed) throw new Error(`${this.dir}: log is closed`);
    const prefix = `${tai64nLabel(this.now())} `;
    for (const line of splitLogLines(lines)) this.put(Buffer.from(`${prefix}${line}\n`));
    this.flush();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.fs.fsync(this.fd);
    this.fs.fchmod(this.fd, MODE_CLOSED);
    this.fs.close(this.fd);
    this.closed = true;
  }

  /** multilog's start-up: append to a cleanly closed current, otherwise save what is there. */
  private start(): number {
    const current = this.fs.stat(this.file("current"));
    if (current !== undefined && (current.mode & 0o100) !== 0) {
      this.bytes = current.size;
      return this.openCurrent();
    }
    this.fs.unlink(this.file("state"));
    this.save("previous", "u");
    this.save("current", "u");
    this.fs.truncate(this.file("state"), 0o644);
    return this.openCurrent();
  }

  /** Adds one labelled line, splitting it only when it alone would overfill current. */
  private put(record: Buffer): void {
    for (let offset = 0; offset < record.length; ) {
      if (this.bytes >= this.maxSize) this.rotate();
      const take = Math.min(record.length - offset, this.maxSize - this.bytes);
      this.pending.push(record.subarray(offset, offset + take));
      this.bytes += take;
      offset += take;
    }
    if (this.bytes >= this.maxSize - LINE_END_SLACK) this.rotate();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.fs.writeAll(this.fd, data);
  }

  /**
   * current → previous → @<tai64n>.s. Every step leaves the lines in a file that start() saves,
   * so a crash at any point loses none.
   */
  private rotate(): void {
    this.flush();
    this.fs.fsync(this.fd);
    this.fs.fchmod(this.fd, MODE_CLOSED);
    this.fs.close(this.fd);
    this.fs.rename(this.file("current"), this.file("previous"));
    this.bytes = 0;
    this.fd = this.openCurrent();
    this.save("previous", "s");
  }

  private openCurrent(): number {
    const fd = this.fs.openAppend(this.file("current"), MODE_OPEN);
    this.fs.fchmod(fd, MODE_OPEN); // also clears the x bit of a current being reopened
    return fd;
  }

  /**
   * multilog's finish: link `name` to @<tai64n>.<code> and remove it (a second link means a
   * crash came between the two, and the @ file exists already), then drop the oldest files.
   */
  private save(name: string, code: "s" | "u"): void {
    const path = this.file(name);
    const stats = this.fs.stat(path);
    if (stats === undefined) return;
    if (stats.nlink === 1) this.fs.link(path, this.file(`${this.nextLabel()}.${code}`));
    this.fs.unlink(path);
    const rotated = this.rotatedFiles().sort();
    for (const oldest of rotated.slice(0, Math.max(0, rotated.length - (this.keep - 1)))) {
      this.fs.unlink(this.file(oldest));
    }
  }

  /** A label for a new @ file: now, or just after the newest one if the clock has not moved on. */
  private nextLabel(): string {
    let label = tai64nLabel(this.now());
    const last = parseTai64nLabel(this.lastLabel);
    if (last !== undefined && label <= this.lastLabel) {
      label = formatTai64nLabel(
        last.nano + 1 < 1_000_000_000 ? { ...last, nano: last.nano + 1 } : { ...last, low: last.low + 1, nano: 0 },
      );
    }
    this.lastLabel = label;
    return label;
  }

  private rotatedFiles(): string[] {
    // multilog counts any name of label length that starts with "@" as one of its files.
    return this.fs.readdir(this.dir).filter((n) => n.startsWith("@") && n.length >= TAI64N_LABEL_LENGTH);
  }

  private file(name: string): string {
    return join(this.dir, name);
  }
}
