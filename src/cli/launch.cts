// The `tsqmail` command's JavaScript entry, which the installed command (src/cli/tsqmail) execs:
// sizes libuv's thread pool for the runtime (src/runtime/thread-pool.cts says why this must happen
// before any ES module loads), then runs the command (main.ts). A CommonJS file, loaded
// synchronously, so nothing has started the pool yet; a UV_THREADPOOL_SIZE the user set is kept.

import threadPool = require("../runtime/thread-pool.cjs");

threadPool.sizeThreadPool(process.env);
void import("./main.js");
