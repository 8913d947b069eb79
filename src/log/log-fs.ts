// The file calls of service logging. They are synchronous, unlike src/io/fs.ts: a line must be
// in the kernel before append() returns, so that a worker crashing the next instant loses
// nothing, and rotation must not interleave with appends. Each call passes a fault point of the
// "fs" seam (site "log" by default), so chaos runs can fail log writes as they fail other I/O.

import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { faultPoint } from "../io/faults.js";

export interface LogFs {
  /** mkdir -p with `mode` for the directories it creates. */
  mkdirs(path: string, mode: number): void;
  /** Opens for appending, creating with `mode` (before umask) if missing. */
  openAppend(path: string, mode: number): number;
  /** Creates or empties `path`. */
  truncate(path: string, mode: number): void;
  writeAll(fd: number, data: Uint8Array): void;
  fsync(fd: number): void;
  fchmod(fd: number, mode: number): void;
  close(fd: number): void;
  /** undefined when the file does not exist. */
  stat(path: string): Stats | undefined;
  /** The file's text; undefined when it does not exist. */
  readText(path: string): string | undefined;
  readdir(path: string): string[];
  link(existing: string, created: string): void;
  rename(from: string, to: string): void;
  /** Removes `path`; a missing file is not an error. */
  unlink(path: string): void;
}

function ifExists<T>(call: () => T): T | undefined {
  try {
    return call();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export function logFs(site = "log"): LogFs {
  const at = (op: string, path?: string): void =>
    faultPoint(path === undefined ? { seam: "fs", site, op } : { seam: "fs", site, op, path });
  return {
    mkdirs(path, mode) {
      at("mkdir", path);
      mkdirSync(path, { recursive: true, mode });
    },
    openAppend(path, mode) {
      at("open", path);
      return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, mode);
    },
    truncate(path, mode) {
      at("open", path);
      closeSync(openSync(path, constants.O_WRONLY | constants.O_TRUNC | constants.O_CREAT, mode));
    },
    writeAll(fd, data) {
      at("write");
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
    },
    fsync(fd) {
      at("fsync");
      fsyncSync(fd);
    },
    fchmod(fd, mode) {
      at("chmod");
      fchmodSync(fd, mode);
    },
    close(fd) {
      at("close");
      closeSync(fd);
    },
    stat(path) {
      at("stat", path);
      return ifExists(() => statSync(path));
    },
    readText(path) {
      at("read", path);
      return ifExists(() => readFileSync(path, "utf8"));
    },
    readdir(path) {
      at("readdir", path);
      return readdirSync(path);
    },
    link(existing, created) {
      at("link", created);
      linkSync(existing, created);
    },
    rename(from, to) {
      at("rename", to);
      renameSync(from, to);
    },
    unlink(path) {
      at("unlink", path);
      ifExists(() => unlinkSync(path));
    },
  };
}
