// `npm run bench`: runs every benchmark in bench/ (each *.ts file but this one) one after another
// as its own process, so one bench's open handles and heap do not colour the next. Arguments
// (e.g. --quick) are passed on. Exits non-zero if any bench failed.

import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".ts") && name !== "run.ts")
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n== ${name} ==`);
  const run = spawnSync(process.execPath, ["--import", "tsx", join(here, name), ...process.argv.slice(2)], { stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`${name} failed (${run.signal ?? `exit ${run.status}`})`);
    failed++;
  }
}
process.exitCode = failed === 0 ? 0 : 1;
