// `--record FILE`: the inspection stream written as it happens, one msgpackr value per frame (the
// bytes the frame was packed into where it was made), so a recording cut short by a crash still
// replays up to its last whole frame.

import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { PackedFrame } from "./inspector-frame.js";

export interface Recorder {
  write(frame: PackedFrame): void;
  close(): Promise<void>;
}

export async function openRecorder(file: string): Promise<Recorder> {
  const out = createWriteStream(file, { flags: "w" });
  // Fail now, not on the first frame, if the file cannot be made.
  await once(out, "open");
  let failed: Error | undefined;
  out.on("error", (error) => (failed = error));
  return {
    write(frame) {
      if (failed === undefined) out.write(frame.bytes);
    },
    async close() {
      if (out.closed) return;
      out.end();
      await once(out, "close");
    },
  };
}
