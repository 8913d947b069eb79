// File-system seam. Code that touches files asks for a `SiteFs` bound to its site name
// ("enqueue", "todo", "maildir", "log", …) and makes every call through it, so a fault plan can
// fail exactly the calls of one site. The operations are the durable-write vocabulary tsqmail
// needs: exclusive create, full writes, fsync of files and of directories, link, rename.
//
// The calls use Node's callback API, each wrapped in one promise. In Node 20, fs/promises costs
// two to three times the CPU per call: 20 µs against 7.6 for an fstat, 34 against 15 for an open
// and close. A message crosses a dozen file calls in each of smtpd, send and lspawn, so that was
// a tenth of their CPU. An open file is a `FileHandle` that remembers being closed: a call on it
// afterwards fails with EBADF, as on a closed fs/promises handle, and never reaches a descriptor
// number the system may since have given to another file.

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
  chmod(path: string, mode: number): Promise<void>;
  truncate(fh: FileHandle, length: number): Promise<void>;
  fstat(fh: FileHandle): Promise<Stats>;
  /** fsync a directory already opened (O_RDONLY|O_DIRECTORY); `path` names it for fault plans. */
  syncOpenDir(dir: FileHandle, path: string): Promise<void>;
  /** Creates a named pipe with exactly `mode` (coreutils mkfifo: Node has no mkfifo(2)). */
  mkfifo(path: string, mode: number): Promise<void>;
}

const execFileAsync = promisify(execFile);

export const O_EXCL_CREATE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;

export function siteFs(site: string): SiteFs {
  const at = (op: string, path?: string): void =>
    faultPoint(path === undefined ? { seam: "fs", site, op } : { seam: "fs", site, op, path });
  return {
    site,
    async open(path, flags, mode) {
      at("open", path);
      const fd = await call<number>((done) => fs.open(path, flags, mode ?? 0o666, done));
      return new OpenFile(fd);
    },
    async read(fh, buffer, position) {
      at("read");
      return call<number>((done) => fs.read(fh.fd, buffer, 0, buffer.length, position ?? null, done));
    },
    async write(fh, data, position) {
      at("write");
      let done = 0;
      while (done < data.length) {
        const offset = done;
        const at = position === undefined ? null : position + offset;
        done += await call<number>((written) => fs.write(fh.fd, data, offset, data.length - offset, at, written));
      }
    },
    async sync(fh) {
      at("fsync");
      await run((done) => fs.fsync(fh.fd, done));
    },
    async close(fh) {
      at("close");
      const fd = (fh as OpenFile).release();
      await run((done) => fs.close(fd, done));
    },
    async syncDir(path) {
      at("fsync", path);
      const fd = await call<number>((done) => fs.open(path, constants.O_RDONLY | constants.O_DIRECTORY, done));
      try {
        await run((done) => fs.fsync(fd, done));
      } finally {
        await run((done) => fs.close(fd, done));
      }
    },
    async link(existing, created) {
      at("link", created);
      await run((done) => fs.link(existing, created, done));
    },
    async rename(from, to) {
      at("rename", to);
      await run((done) => fs.rename(from, to, done));
    },
    async unlink(path) {
      at("unlink", path);
      await run((done) => fs.unlink(path, done));
    },
    async mkdir(path, mode) {
      at("mkdir", path);
      await call<string | undefined>((done) => fs.mkdir(path, mode === undefined ? {} : { mode }, done));
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
      return call<Stats>((done) => fs.stat(path, done));
    },
    async lstat(path) {
      at("lstat", path);
      return call<Stats>((done) => fs.lstat(path, done));
    },
    async readFile(path) {
      at("read", path);
      return call<Buffer>((done) => fs.readFile(path, done));
    },
    async utimes(path, atime, mtime) {
      at("utimes", path);
      await run((done) => fs.utimes(path, atime, mtime, done));
    },
    async chmod(path, mode) {
      at("chmod", path);
      await run((done) => fs.chmod(path, mode, done));
    },
    async truncate(fh, length) {
      at("truncate");
      await run((done) => fs.ftruncate(fh.fd, length, done));
    },
    async fstat(fh) {
      at("fstat");
      return call<Stats>((done) => fs.fstat(fh.fd, done));
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
