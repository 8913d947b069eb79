// The service log for systemd and containers: each line goes to a stream, prefixed with
// "NAME: " so the services can be told apart in one journal. Writes nothing else.

import { splitLogLines, type ServiceLog } from "./service-log.js";

/**
 * Where the lines go. In a worker thread `process.stdout` is relayed through the main thread and
 * may lose what a crashing worker wrote last; pass a sink that writes fd 1 directly when that
 * matters.
 */
export interface LineSink {
  write(text: string): unknown;
}

export function createStdoutLog(name: string, sink: LineSink): ServiceLog {
  return {
    append(lines) {
      const text = splitLogLines(lines).map((line) => `${name}: ${line}\n`).join("");
      if (text !== "") sink.write(text);
    },
    // The stream belongs to the process, not to this service.
    close() {},
  };
}
