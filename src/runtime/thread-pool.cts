// The size of libuv's thread pool for a process that runs the whole runtime. The pool is where
// fsyncs wait (src/io/fs.ts): an enqueue has three in flight at once (the message, intd/N, the
// mess/ entry) before the commit's fsync of todo/, so twenty SMTP sessions keep far more than
// Node's default four pool threads busy, and the rest wait in line for a thread, not for the disk
// (docs/queue.md has the measurements). Node reads UV_THREADPOOL_SIZE once, when the pool starts —
// at its first asynchronous call, before any ES module's code has run, since the module loader
// reads files through the pool — so only a CommonJS entry (src/cli/launch.cts), which loads this
// CommonJS module, can still set it. A pool thread that waits in fsync holds no CPU, and one that
// is idle holds a few pages of stack.

/** Pool threads for `tsqmail start` (and the benches that host the runtime in their process). */
const RUNTIME_THREAD_POOL_SIZE = 32;

/** Sets UV_THREADPOOL_SIZE in `env` unless the user set it; whether it was set here. */
function sizeThreadPool(env: NodeJS.ProcessEnv): boolean {
  if (env.UV_THREADPOOL_SIZE !== undefined && env.UV_THREADPOOL_SIZE !== "") return false;
  env.UV_THREADPOOL_SIZE = String(RUNTIME_THREAD_POOL_SIZE);
  return true;
}

export = { RUNTIME_THREAD_POOL_SIZE, sizeThreadPool };
