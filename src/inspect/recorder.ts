// `--record FILE`: the inspection stream written as it happens, one msgpackr value per frame,
// so a recording cut short by a crash still replays up to its last whole frame.

import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { packFrame, type InspectorFrame } from "./inspector-frame.js";

export interface Recorder {
  write(frame: InspectorFrame): void;
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
      if (failed === undefined) out.write(packFrame(frame));
    },
    async close() {
      if (out.closed) return;
      out.end();
      await once(out, "close");
    },
  };
}
