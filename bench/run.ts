// `npm run bench`: runs every benchmark in bench/ (each *.ts file but this one and hidden ones) one after another
// as its own process, so one bench's open handles and heap do not colour the next, then prints the
// one report and draws docs/bench.svg from the results they wrote (lib/report.ts). Arguments (e.g.
// --quick) are passed on. `--report` only redraws the report from the newest results of each bench.
// Exits non-zero if any bench failed.

import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { latestResults, report } from "./lib/report.js";

const here = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(here)
  // Hidden files are scratch work, not benches.
  .filter((name) => name.endsWith(".ts") && name !== "run.ts" && !name.startsWith("."))
  .sort();

const started = Date.now();
let failed = 0;
if (!process.argv.includes("--report")) {
  for (const name of benches) {
    console.log(`\n== ${name} ==`);
    const run = spawnSync(process.execPath, ["--import", "tsx", join(here, name), ...process.argv.slice(2)], { stdio: "inherit" });
    if (run.status !== 0) {
      console.error(`${name} failed (${run.signal ?? `exit ${run.status}`})`);
      failed++;
    }
  }
}
const chart = report(latestResults(process.argv.includes("--report") ? 0 : started));
console.log(`chart: ${chart}`);
process.exitCode = failed === 0 ? 0 : 1;
