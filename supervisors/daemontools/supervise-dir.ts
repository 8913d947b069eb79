// SERVICE/supervise/ as daemontools' supervise keeps it, so that Debian's svstat, svok and svc
// work on a tsqmail service: creates the directory (0700) and the FIFOs `control` and `ok`
// (0600), holds `ok` open for reading (that is how svstat and svok tell supervise is running),
// reads control letters from `control`, and writes `status`. Takes lock.tsqmail
// (supervise-lock.ts) and refuses a directory that another supervise, Debian's included, runs.

import { execFile } from "node:child_process";
import { closeSync, constants, lstatSync, mkdirSync, openSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { errorCode } from "./daemontools-errors.js";
import { writeStatusFile, type SuperviseStatus } from "./status-file.js";
import { acquireSuperviseLock } from "./supervise-lock.js";

/** svc's options in daemontools 0.76, each also the byte it writes to supervise/control. */
export const CONTROL_LETTERS = "udopchaitkx";
export type ControlLetter = "u" | "d" | "o" | "p" | "c" | "h" | "a" | "i" | "t" | "k" | "x";

export function isControlLetter(letter: string): letter is ControlLetter {
  return letter.length === 1 && CONTROL_LETTERS.includes(letter);
}

export interface SuperviseDirHandlers {
  /** Each known letter written to supervise/control, in order; supervise ignores other bytes. */
  onControl(letter: ControlLetter): void;
  /** A read error on the control FIFO; letters stop arriving after it. */
  onError(error: Error): void;
}

export interface SuperviseDir {
  /** SERVICE/supervise */
  readonly path: string;
  writeStatus(status: SuperviseStatus): void;
  /** Stops reading control, closes `ok` (svstat then says "supervise not running"), unlocks. */
  close(): Promise<void>;
}

const runFile = promisify(execFile);

/**
 * Opens `path` (a FIFO) for writing without blocking: the fd, or "no reader" when nothing holds
 * it open for reading (ENXIO), which for `ok` and `control` means supervise is not running.
 * Other errors are thrown.
 */
export function openFifoForWriting(path: string): number | "no reader" {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === "ENXIO") return "no reader";
    throw error;
  }
}

export async function openSuperviseDir(
  serviceDir: string,
  handlers: SuperviseDirHandlers,
): Promise<SuperviseDir> {
  const path = join(serviceDir, "supervise");
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
  }
  const lock = acquireSuperviseLock(path);
  const opened: number[] = [];
  try {
    const okPath = join(path, "ok");
    const controlPath = join(path, "control");
    await makeFifo(controlPath);
    await makeFifo(okPath);
    const probe = openFifoForWriting(okPath);
    if (probe !== "no reader") {
      closeSync(probe);
      throw new Error(`unable to supervise ${serviceDir}: supervise already running`);
    }
    // O_RDWR: opening a FIFO read-only would block until a writer came, and holding a write
    // side ourselves means the reader never sees end-of-file when an svc disconnects.
    const okFd = openSync(okPath, constants.O_RDWR | constants.O_NONBLOCK);
    opened.push(okFd);
    const controlFd = openSync(controlPath, constants.O_RDWR | constants.O_NONBLOCK);
    opened.push(controlFd);
    // A net.Socket reads a FIFO through libuv's event loop; fs streams would park a thread-pool
    // thread in a blocking read for as long as supervise runs.
    const control = new Socket({ fd: controlFd, readable: true, writable: false });
    control.on("data", (bytes: Buffer) => {
      for (const letter of bytes.toString("latin1")) {
        if (isControlLetter(letter)) handlers.onControl(letter);
      }
    });
    control.on("error", handlers.onError);
    let closing: Promise<void> | undefined;
    return {
      path,
      writeStatus: (status) => writeStatusFile(path, status),
      close() {
        closing ??= new Promise<void>((resolve) => {
          control.once("close", () => {
            closeSync(okFd);
            lock.release();
            resolve();
          });
          control.destroy();
        });
        return closing;
      },
    };
  } catch (error) {
    for (const fd of opened) closeSync(fd);
    lock.release();
    throw error;
  }
}

/** Node has no mkfifo; coreutils' does it. An existing FIFO is kept, anything else refused. */
async function makeFifo(path: string): Promise<void> {
  try {
    if (lstatSync(path).isFIFO()) return;
    throw new Error(`${path}: exists and is not a FIFO`);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
  await runFile("mkfifo", ["-m", "0600", path]);
}
