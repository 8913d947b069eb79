// Imported first by every bench that hosts tsqmail's runtime (or its enqueue) in its own process:
// `tsqmail` runs with a larger libuv thread pool than Node's default (src/runtime/thread-pool.cts),
// and Node sizes the pool before any of this code runs. So a bench started without
// UV_THREADPOOL_SIZE runs itself again, at once, with the runtime's size — as `tsqmail start`
// would have it — and exits with that run's status. A size set by hand is kept, for experiments.
// The peers and the disk ceiling measured in the same process share the pool.

import { spawnSync } from "node:child_process";
import { RUNTIME_THREAD_POOL_SIZE, sizeThreadPool } from "../../dist/src/runtime/thread-pool.cjs";

const env = { ...process.env };
if (sizeThreadPool(env)) {
  const run = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env });
  process.exit(run.status ?? 1);
}
console.log(`libuv thread pool: ${process.env.UV_THREADPOOL_SIZE} threads (tsqmail start: ${RUNTIME_THREAD_POOL_SIZE})`);
