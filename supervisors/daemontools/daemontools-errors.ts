// The error texts daemontools prints. Its tools report a failed system call with djb's own
// strings ("file does not exist", not "No such file or directory"), and svc/svstat first chdir
// into each directory; this module maps Node's error codes to those strings and reproduces the
// chdir check without changing the process's directory (which a worker thread may not do).

import { statSync } from "node:fs";

// From daemontools' error_str, the codes a supervise directory can produce. A code not listed
// prints as daemontools prints an errno it does not know.
const DJB_ERROR_TEXT: Readonly<Record<string, string>> = {
  EINTR: "interrupted system call",
  ENOMEM: "out of memory",
  ENOENT: "file does not exist",
  ETXTBSY: "text busy",
  EIO: "input/output error",
  EEXIST: "file already exists",
  ETIMEDOUT: "timed out",
  EAGAIN: "temporary failure",
  EPIPE: "broken pipe",
  EPERM: "permission denied",
  EACCES: "access denied",
  ENXIO: "device not configured",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  ESRCH: "no such process",
  EBADF: "file descriptor not open",
  EBUSY: "device busy",
  EXDEV: "cross-device link",
  EINVAL: "invalid argument",
  ENFILE: "system cannot open more files",
  EMFILE: "process cannot open more files",
  EFBIG: "file too big",
  ENOSPC: "out of disk space",
  EROFS: "read-only file system",
  EMLINK: "too many links",
  ELOOP: "symbolic link loop",
  ENAMETOOLONG: "file name too long",
  ENOTEMPTY: "directory not empty",
  EDQUOT: "disk quota exceeded",
  ESTALE: "stale NFS file handle",
};

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The text daemontools would print after "…: " for this error. */
export function djbErrorText(error: unknown): string {
  const code = errorCode(error);
  return (code !== undefined && DJB_ERROR_TEXT[code]) || "unknown error";
}

/** What chdir(dir) would fail with, or undefined when it would succeed. */
export function chdirError(dir: string): NodeJS.ErrnoException | undefined {
  try {
    if (statSync(dir).isDirectory()) return undefined;
    return Object.assign(new Error(`ENOTDIR: not a directory, chdir '${dir}'`), { code: "ENOTDIR" });
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}
