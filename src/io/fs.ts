// File-system seam. Code that touches files asks for a `SiteFs` bound to its site name
// ("enqueue", "todo", "maildir", "log", …) and makes every call through it, so a fault plan can
// fail exactly the calls of one site. The operations are the durable-write vocabulary tsqmail
// needs: exclusive create, full writes, fsync of files and of directories, link, rename.

import { execFile } from "node:child_process";
import { constants, type Dirent, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import { promisify } from "node:util";
import type { FileHandle } from "node:fs/promises";
import { faultPoint } from "./faults.js";

export type { FileHandle };

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
      return fsp.open(path, flags, mode);
    },
    async read(fh, buffer, position) {
      at("read");
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, position ?? null);
      return bytesRead;
    },
    async write(fh, data, position) {
      at("write");
      let done = 0;
      while (done < data.length) {
        const at = position === undefined ? null : position + done;
        const { bytesWritten } = await fh.write(data, done, data.length - done, at);
        done += bytesWritten;
      }
    },
    async sync(fh) {
      at("fsync");
      await fh.sync();
    },
    async close(fh) {
      at("close");
      await fh.close();
    },
    async syncDir(path) {
      at("fsync", path);
      const dir = await fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    },
    async link(existing, created) {
      at("link", created);
      await fsp.link(existing, created);
    },
    async rename(from, to) {
      at("rename", to);
      await fsp.rename(from, to);
    },
    async unlink(path) {
      at("unlink", path);
      await fsp.unlink(path);
    },
    async mkdir(path, mode) {
      at("mkdir", path);
      await fsp.mkdir(path, mode === undefined ? undefined : { mode });
    },
    async readdir(path) {
      at("readdir", path);
      return fsp.readdir(path);
    },
    async readdirTyped(path) {
      at("readdir", path);
      return fsp.readdir(path, { withFileTypes: true });
    },
    async stat(path) {
      at("stat", path);
      return fsp.stat(path);
    },
    async lstat(path) {
      at("lstat", path);
      return fsp.lstat(path);
    },
    async readFile(path) {
      at("read", path);
      return fsp.readFile(path);
    },
    async utimes(path, atime, mtime) {
      at("utimes", path);
      await fsp.utimes(path, atime, mtime);
    },
    async chmod(path, mode) {
      at("chmod", path);
      await fsp.chmod(path, mode);
    },
    async truncate(fh, length) {
      at("truncate");
      await fh.truncate(length);
    },
    async fstat(fh) {
      at("fstat");
      return fh.stat();
    },
    async syncOpenDir(dir, path) {
      at("fsync", path);
      await dir.sync();
    },
    async mkfifo(path, mode) {
      at("mkfifo", path);
      await execFileAsync("mkfifo", ["-m", mode.toString(8), "--", path]);
    },
  };
}
