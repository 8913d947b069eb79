// Bundles the programs in dist/ after tsc has compiled it, for the memory they hold at rest: what a
// worker thread loads, and the `tsqmail` command. Each entry becomes one file at tsc's place for it
// (so every path that names one stays true), and the code entries share goes to dist/chunks/.
// Loaded from tsc's output, a worker held some 75 modules, each with its module record, source
// text (comments included) and loader bookkeeping, and the whole of xstate and msgpackr; the main
// thread held some 150 modules of Effect besides. Bundled, tree-shaken and stripped of comments
// and blank space, `tsqmail start` at rest measured 150 MB RSS instead of 170–172
// (docs/supervision.md, Memory at rest). Identifiers are kept, so stack traces still name their
// functions; the source maps lead back to the TypeScript (`node --enable-source-maps`).
// The embedding API (dist/src/index.js) stays tsc's output: it shares xstate and Effect with its
// host, and one copy of each must exist there.
// Usage: node scripts/bundle.mjs (from the package root; `npm run build` runs it)

import { existsSync, readdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

const common = {
  outbase: ".",
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minifyWhitespace: true,
  sourcemap: "linked",
  allowOverwrite: true,
  logLevel: "warning",
};

const services = readdirSync("src/services").filter((name) => existsSync(`src/services/${name}/service.ts`));

rmSync("dist/chunks", { recursive: true, force: true });

// A worker loads nothing else of ours, so its dependencies are bundled too.
await build({
  ...common,
  entryPoints: [
    "supervisors/worker-runtime.ts",
    ...services.map((name) => `src/services/${name}/service.ts`),
    // Loaded into workers by path (src/chaos/runtime-faults.ts); bundled with the services so
    // that they set the same fault hook and clock the services use.
    "src/chaos/worker-faults.ts",
    "src/chaos/worker-clock.ts",
  ],
  chunkNames: "chunks/worker/[name]-[hash]",
});

// The command's main thread loads the machines by path to draw them (src/inspect/statechart.ts),
// and they must share its xstate; ws is CommonJS, viz WebAssembly, and re2js is loaded through require.
await build({
  ...common,
  entryPoints: ["src/cli/main.ts"],
  chunkNames: "chunks/cli/[name]-[hash]",
  external: ["xstate", "ws", "@viz-js/viz", "re2js"],
});
