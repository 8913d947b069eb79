// `tsqmail inspect FILE`: a recording served to the page as if live. The page gets every frame
// of the file at once (not the bounded journal a live runtime keeps), so time travel reaches
// back to the recording's start.

import { readFile } from "node:fs/promises";
import { startInspectServer, type InspectServer, type InspectServerOptions } from "./inspect-server.js";
import { splitRecording } from "./inspector-frame.js";

export async function serveRecording(file: string, options: InspectServerOptions): Promise<{ server: InspectServer; frames: number }> {
  const frames = splitRecording(await readFile(file));
  const server = await startInspectServer({ frames: () => frames, subscribe: () => () => {} }, options);
  return { server, frames: frames.length };
}
