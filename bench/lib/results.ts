// Writes one bench's results as JSON to bench/results/NAME-TIMESTAMP.json (gitignored), with the
// machine it ran on, so the report and chart can be rebuilt from files rather than from a console.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeMachine, type MachineDescription } from "./machine.js";

export const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));

export interface BenchResults<T> {
  readonly bench: string;
  readonly when: string;
  readonly quick: boolean;
  readonly machine: MachineDescription;
  readonly results: T;
}

/** Returns the file written. */
export function writeResults<T>(bench: string, quick: boolean, results: T, machine: MachineDescription = describeMachine()): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const when = new Date().toISOString();
  const file = join(RESULTS_DIR, `${bench}-${when.replace(/[:.]/g, "-")}.json`);
  const record: BenchResults<T> = { bench, when, quick, machine, results };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
