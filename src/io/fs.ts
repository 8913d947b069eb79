// File-system seam. Code that touches files asks for a `SiteFs` bound to its site name
// ("enqueue", "todo", "maildir", "log", …) and makes every call through it, so a fault plan can
// fail exactly the calls of one site. The operations are the durable-write vocabulary tsqmail
// needs: exclusive create, full writes, fsync of files and of directories, link, rename.
//
// Every operation returns a promise, but only those that may wait for the disk or burn long in the
// kernel go through libuv's thread pool: fsync of files and directories, reads and writes of more
// than SMALL_IO bytes (a large write may be held back until dirty pages reach the disk), the calls
// whose size has no bound (readdir; readFile of a large file), and exclusive creates. The rest —
// open of an existing file, close, link, rename, unlink, stat, small reads and writes, which meet
// the page cache — are system calls of a few microseconds, made synchronously, as qmail's programs
// make them. A trip through the pool costs more than the call itself: about 25 µs of CPU on this
// Node (a lock, a wake-up of a pool thread, an eventfd write back and a wake-up of the loop)
// against 8 to 12 µs for the call, so nine calls of a queue file's life took 300 µs through the
// pool and 100 made directly; a message crosses some thirty of them between smtpd, send and
// lspawn. An exclusive create is the exception: it makes an inode, and ext4 without a journal
// steps past every inode of the block group freed in the last minutes, checking each one's
// deletion time. Measured on this machine's root disk, that was about 300 µs of kernel time a
// create and about half of smtpd's thread; in the pool it runs beside the thread that asked
// (docs/queue.md, "Exclusive creates").
// Where the pool is used, it is through Node's callback API, each call wrapped in one promise:
// fs/promises costs two to three times the CPU per call in Node 20. An open file is a `FileHandle`
// that remembers being closed: a call on it afterwards fails with EBADF, as on a closed
// fs/promises handle, and never reaches a descriptor number the system may since have given to
// another file.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { constants, type Dirent, type Stats } from "node:fs";
import { promisify } from "node:util";
import { faultPoint } from "./faults.js";

/** An open file or directory, from `SiteFs.open`; closed only by `SiteFs.close`. */
export interface FileHandle {
  readonly fd: number;
}

/** The handle's own record: the descriptor while it is open, -1 once closed. */
class OpenFile implements FileHandle {
  constructor(private descriptor: number) {}

  get fd(): number {
    if (this.descriptor < 0) throw closedError();
    return this.descriptor;
  }

  /** The descriptor, now given up: the handle is closed from here on, whatever close(2) says. */
  release(): number {
    const fd = this.fd;
    this.descriptor = -1;
    return fd;
  }
}

function closedError(): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error("EBADF: file handle already closed");
  error.code = "EBADF";
  return error;
}

type Done<T> = (error: NodeJS.ErrnoException | null, value: T) => void;

/** One callback call as a promise (a throw while starting it, e.g. EBADF, rejects it too). */
function call<T>(start: (done: Done<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value)));
  });
}

/** The same for a call whose callback gets only an error. */
function run(start: (done: (error: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    start((error) => (error ? reject(error) : resolve()));
  });
}

export interface SiteFs {
  readonly site: string;
  open(path: string, flags: string | number, mode?: number): Promise<FileHandle>;
  /** Reads into `buffer` from the current position (or from `position`); 0 at end of file. */
  read(fh: FileHandle, buffer: Uint8Array, position?: number): Promise<number>;
  /** Writes all of `data` at the current position (or at `position`). */
  write(fh: FileHandle, data: Uint8Array, position?: number): Promise<void>;
  sync(fh: FileHandle): Promise<void>;
  close(fh: FileHandle): Promise<void>;
  /** fsync a directory, making the entries created, linked or removed in it durable. */
  syncDir(path: string): Promise<void>;
  link(existing: string, created: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, mode?: number): Promise<void>;
  readdir(path: string): Promise<string[]>;
  readdirTyped(path: string): Promise<Dirent[]>;
  stat(path: string): Promise<Stats>;
  lstat(path: string): Promise<Stats>;
  readFile(path: string): Promise<Buffer>;
  utimes(path: string, atime: number, mtime: number): Promise<void>;
  futimes(fh: FileHandle, atime: number, mtime: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  truncate(fh: FileHandle, length: number): Promise<void>;
  fstat(fh: FileHandle): Promise<Stats>;
  /** fsync a directory already opened (O_RDONLY|O_DIRECTORY); `path` names it for fault plans. */
  syncOpenDir(dir: FileHandle, path: string): Promise<void>;
  /** Creates a named pipe with exactly `mode` (coreutils mkfifo: Node has no mkfifo(2)). */
  mkfifo(path: string, mode: number): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** Reads and writes up to this many bytes are made synchronously (see the head comment). */
const SMALL_IO = 64 * 1024;

export const O_EXCL_CREATE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;

/** An exclusive create always makes a new inode (see the head comment for why that is pooled). */
function createsInode(flags: string | number): boolean {
  return typeof flags === "number" ? (flags & constants.O_EXCL) !== 0 : flags.includes("x");
}

export function siteFs(site: string): SiteFs {
  const at = (op: string, path?: string): void =>
    faultPoint(path === undefined ? { seam: "fs", site, op } : { seam: "fs", site, op, path });
  return {
    site,
    async open(path, flags, mode) {
      at("open", path);
      if (!createsInode(flags)) return new OpenFile(fs.openSync(path, flags, mode ?? 0o666));
      return new OpenFile(await call<number>((opened) => fs.open(path, flags, mode ?? 0o666, opened)));
    },
    async read(fh, buffer, position) {
      at("read");
      if (buffer.length <= SMALL_IO) return fs.readSync(fh.fd, buffer, 0, buffer.length, position ?? null);
      return call<number>((done) => fs.read(fh.fd, buffer, 0, buffer.length, position ?? null, done));
    },
    async write(fh, data, position) {
      at("write");
      let done = 0;
      while (done < data.length) {
        const offset = done;
        const at = position === undefined ? null : position + offset;
        const length = data.length - offset;
        done += length <= SMALL_IO ? fs.writeSync(fh.fd, data, offset, length, at) : await call<number>((written) => fs.write(fh.fd, data, offset, length, at, written));
      }
    },
    async sync(fh) {
      at("fsync");
      await run((done) => fs.fsync(fh.fd, done));
    },
    async close(fh) {
      at("close");
      fs.closeSync((fh as OpenFile).release());
    },
    async syncDir(path) {
      at("fsync", path);
      const fd = fs.openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        await run((done) => fs.fsync(fd, done));
      } finally {
        fs.closeSync(fd);
      }
    },
    async link(existing, created) {
      at("link", created);
      fs.linkSync(existing, created);
    },
    async rename(from, to) {
      at("rename", to);
      fs.renameSync(from, to);
    },
    async unlink(path) {
      at("unlink", path);
      fs.unlinkSync(path);
    },
    async mkdir(path, mode) {
      at("mkdir", path);
      fs.mkdirSync(path, mode === undefined ? {} : { mode });
    },
    async readdir(path) {
      at("readdir", path);
      return call<string[]>((done) => fs.readdir(path, done));
    },
    async readdirTyped(path) {
      at("readdir", path);
      return call<Dirent[]>((done) => fs.readdir(path, { withFileTypes: true }, done));
    },
    async stat(path) {
      at("stat", path);
      return fs.statSync(path);
    },
    async lstat(path) {
      at("lstat", path);
      return fs.lstatSync(path);
    },
    async readFile(path) {
      at("read", path);
      const fd = fs.openSync(path, constants.O_RDONLY);
      try {
        return fs.fstatSync(fd).size <= SMALL_IO ? fs.readFileSync(fd) : await call<Buffer>((done) => fs.readFile(fd, done));
      } finally {
        fs.closeSync(fd);
      }
    },
    async utimes(path, atime, mtime) {
      at("utimes", path);
      fs.utimesSync(path, atime, mtime);
    },
    async futimes(fh, atime, mtime) {
      at("futimes");
      fs.futimesSync(fh.fd, atime, mtime);
    },
    async chmod(path, mode) {
      at("chmod", path);
      fs.chmodSync(path, mode);
    },
    async truncate(fh, length) {
      at("truncate");
      fs.ftruncateSync(fh.fd, length);
    },
    async fstat(fh) {
      at("fstat");
      return fs.fstatSync(fh.fd);
    },
    async syncOpenDir(dir, path) {
      at("fsync", path);
      await run((done) => fs.fsync(dir.fd, done));
    },
    async mkfifo(path, mode) {
      at("mkfifo", path);
      await execFileAsync("mkfifo", ["-m", mode.toString(8), "--", path]);
    },
  };
}
