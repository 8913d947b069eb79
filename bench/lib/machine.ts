// What a figure was measured on: cores, CPU model, Node version, kernel, the disk and file system
// under the temp dir (where every bench keeps its queues), and the load average at the start, so a
// reader can tell a slow machine from a busy one.

import { execFileSync } from "node:child_process";
import { cpus, loadavg, release, tmpdir } from "node:os";

export interface MachineDescription {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly kernel: string;
  /** Block device, file system type and mount options of the temp dir, from findmnt. */
  readonly disk: string;
  /** Size and free space of that file system, from df. */
  readonly diskSpace: string;
  readonly loadAverage: readonly number[];
}

/** A command's trimmed output, or a note saying it failed: a missing tool must not stop a bench. */
function commandText(file: string, args: readonly string[]): string {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().replace(/\s+/g, " ");
  } catch (error) {
    return `(${file} failed: ${(error as Error).message.split("\n")[0]})`;
  }
}

export function describeMachine(dir = tmpdir()): MachineDescription {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    kernel: release(),
    disk: commandText("findmnt", ["-n", "-T", dir, "-o", "SOURCE,FSTYPE,OPTIONS"]),
    diskSpace: commandText("df", ["-h", "--output=size,avail", dir]).replace(/^Size Avail /, "size ").replace(/ (\S+)$/, ", free $1"),
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

export function machineLine(m: MachineDescription): string {
  return `${m.cores} cores (${m.cpu}), Node ${m.node}, Linux ${m.kernel}, disk ${m.disk} (${m.diskSpace}), load ${m.loadAverage.join(" ")}`;
}
