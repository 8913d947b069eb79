// The console tables every comparison bench prints, one row per setting: the median msg/s of each
// system with tsqmail / peer for each peer, then each system's median CPU milliseconds per message.

import type { RoundsResult } from "./rounds.js";

export interface TableRow {
  /** The setting's own columns, e.g. sessions and message size. */
  readonly labels: readonly string[];
  readonly result: RoundsResult;
}

const pad = (text: string, width: number): string => text.padStart(width);

function printRows(labelHeads: readonly string[], rows: readonly TableRow[], heads: readonly string[], cells: (result: RoundsResult) => string[]): void {
  const width = Math.max(12, ...heads.map((h) => h.length + 2));
  console.log([...labelHeads.map((h) => pad(h, 9)), ...heads.map((h) => pad(h, width))].join(""));
  for (const { labels, result } of rows) console.log([...labels.map((l) => pad(l, 9)), ...cells(result).map((c) => pad(c, width))].join(""));
}

export function printTable(labelHeads: readonly string[], rows: readonly TableRow[], names: readonly string[]): void {
  const peers = names.filter((name) => name !== "tsqmail");
  console.log("throughput, msg/s:");
  printRows(labelHeads, rows, [...names, ...peers.map((p) => `tsqmail/${p}`)], (r) => [
    ...names.map((n) => r.medians[n]?.toFixed(0) ?? "-"),
    ...peers.map((p) => (r.ratios[p] === undefined ? "-" : `${r.ratios[p]!.toFixed(2)}x`)),
  ]);
  console.log("CPU ms per message:");
  printRows(labelHeads, rows, names, (r) => names.map((n) => r.cpuMedians[n]?.toFixed(2) ?? "-"));
}
