// Bundles what a worker thread loads, after tsc has compiled dist/: the worker runtime, every
// built-in service module and the chaos hooks, each into one file at tsc's place for it (so every
// path that names them stays true), with the code they share (xstate and msgpackr included) in
// dist/chunks/. A worker that loaded tsc's output held some 75 modules, each with its own module
// record, source text and loader bookkeeping, and the whole of xstate and msgpackr; bundled and
// tree-shaken, the eleven workers of `tsqmail init` hold about 9 MB less at rest
// (docs/supervision.md, Memory at rest). The main thread keeps tsc's output: the embedding API
// shares xstate and Effect with its host, and there one copy of each must exist.
// Source maps point at the TypeScript sources; `node --enable-source-maps` uses them.
// Usage: node scripts/bundle-workers.mjs (from the package root; `npm run build` runs it)

import { readdirSync, existsSync, rmSync } from "node:fs";
import { build } from "esbuild";

const services = readdirSync("src/services").filter((name) => existsSync(`src/services/${name}/service.ts`));
const entryPoints = [
  "supervisors/worker-runtime.ts",
  ...services.map((name) => `src/services/${name}/service.ts`),
  // Loaded into workers by path (src/chaos/runtime-faults.ts); bundled with them so that they
  // set the same fault hook and clock the services use.
  "src/chaos/worker-faults.ts",
  "src/chaos/worker-clock.ts",
];

rmSync("dist/chunks", { recursive: true, force: true });
await build({
  entryPoints,
  outbase: ".",
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  allowOverwrite: true,
  logLevel: "warning",
});
