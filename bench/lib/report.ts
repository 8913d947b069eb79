// The one report of `npm run bench`: reads the JSON results the benches wrote (lib/results.ts),
// prints a summary table per scenario — every system's figure and tsqmail / peer — with the
// machine it ran on, and draws the chart (lib/svg-chart.ts) to docs/bench.svg.

import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { figuresOf, type Figure, type Series } from "./figures.js";
import { machineLine } from "./machine.js";
import { RESULTS_DIR, type BenchResults } from "./results.js";
import { drawChart, formatValue } from "./svg-chart.js";

export const CHART_FILE = fileURLToPath(new URL("../../docs/bench.svg", import.meta.url));
const PEERS: readonly Series[] = ["postfix", "haraka", "ceiling"];

/** The newest result file of each bench written at or after `since` (ms since the epoch). */
export function latestResults(since = 0): BenchResults<unknown>[] {
  const newest = new Map<string, { file: string; mtime: number }>();
  for (const name of readdirSync(RESULTS_DIR)) {
    const match = /^([a-z-]+)-\d{4}-.*\.json$/.exec(name);
    if (match === null) continue;
    const mtime = statSync(join(RESULTS_DIR, name)).mtimeMs;
    if (mtime < since) continue;
    const seen = newest.get(match[1]!);
    if (seen === undefined || mtime > seen.mtime) newest.set(match[1]!, { file: name, mtime });
  }
  return [...newest.values()].map(({ file }) => JSON.parse(readFileSync(join(RESULTS_DIR, file), "utf8")) as BenchResults<unknown>);
}

/** tsqmail / peer, with "x" for "times": the bench's paired ratio where it has one. */
function ratio(figure: Figure, peer: Series): string {
  const paired = figure.ratios?.[peer];
  if (paired !== undefined) return `${paired.toFixed(2)}x`;
  const ours = figure.values.tsqmail;
  const theirs = figure.values[peer];
  return ours === undefined || theirs === undefined || theirs === 0 ? "-" : `${(ours / theirs).toFixed(2)}x`;
}

function printSummary(figures: readonly Figure[]): void {
  const peers = PEERS.filter((p) => figures.some((f) => f.values[p] !== undefined));
  const heads = ["figure", "unit", "tsqmail", ...peers, ...peers.map((p) => `tsqmail/${p}`)];
  const rows = figures.map((f) => [f.label, `${f.unit} ${f.better === "higher" ? "↑" : "↓"}`, ...(["tsqmail", ...peers] as Series[]).map((s) => (f.values[s] === undefined ? "-" : formatValue(f.values[s]!))), ...peers.map((p) => ratio(f, p))]);
  const widths = heads.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("");
  let scenario = "";
  console.log(line(heads));
  figures.forEach((f, i) => {
    if (f.scenario !== scenario) {
      scenario = f.scenario;
      console.log(`-- ${scenario}`);
    }
    console.log(line(rows[i]!));
  });
  console.log("(↑ higher is better, ↓ lower is better; ratios are tsqmail / peer: above 1 is ahead for ↑, behind for ↓;");
  console.log(" for msg/s figures the ratio is the median of per-round ratios, so it may differ from the ratio of the medians)");
}

/** Prints the summary of `records` and writes the chart; returns the chart's path. */
export function report(records: readonly BenchResults<unknown>[]): string {
  const order = ["enqueue", "accept", "delivery", "memory", "recovery", "supervision"];
  const charted = records.filter((r) => order.includes(r.bench)).sort((a, b) => order.indexOf(a.bench) - order.indexOf(b.bench));
  const figures = charted.flatMap(figuresOf);
  // Free disk space and load differ from bench to bench; the rest names the machine.
  const machines = [...new Set(charted.map((r) => machineLine({ ...r.machine, loadAverage: [] }).replace(/, load $/, "").replace(/, free [^)]*\)/, ")")))];
  const loads = charted.map((r) => `${r.bench} ${r.machine.loadAverage[0] ?? "?"}`).join(", ");
  const dates = charted.map((r) => r.when).sort();
  const quick = charted.some((r) => r.quick);
  console.log("\n== report ==");
  for (const m of machines) console.log(`machine: ${m}`);
  console.log(`load average (1 min) at each bench's start: ${loads}`);
  printSummary(figures);
  const footer = [
    ...machines.map((m) => `Machine: ${m}.`),
    `Run ${dates[0]?.slice(0, 16).replace("T", " ")} to ${dates.at(-1)?.slice(0, 16).replace("T", " ")} UTC${quick ? " with --quick" : ""}; load average at each bench's start: ${loads}.`,
    "Medians; every system on loopback in the same run; see bench/README.md for what each panel measures.",
  ];
  writeFileSync(CHART_FILE, drawChart("tsqmail beside Postfix and Haraka", figures, footer));
  return CHART_FILE;
}
