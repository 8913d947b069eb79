// `tsqmail qstat`: qmail-qstat. Counts the files in mess/ (every message, whatever its state)
// and in todo/ (committed but not yet preprocessed), as qmail-qstat's `find | wc` does:
//   messages in queue: N
//   messages in queue but not yet preprocessed: M
// Reads the queue's directories only. Exit 0; 111 if a directory cannot be read.

import type { Command } from "../command.js";
import { siteFs } from "../../io/fs.js";
import { QUEUE_SPLIT, queueLayout } from "../../queue/queue-layout.js";
import { rootPaths } from "../../root/paths.js";
import { parseConfigArgs } from "./config-args.js";

const fs = siteFs("qread");

export const qstat: Command = {
  name: "qstat",
  summary: "count the messages in the queue (qmail-qstat)",
  usage: "tsqmail qstat [--root DIR]",
  async run(args, io) {
    const layout = queueLayout(rootPaths(parseConfigArgs(args, io.env, {}, 0).root).queue);
    try {
      let messages = 0;
      for (let split = 0; split < QUEUE_SPLIT; split += 1) messages += (await fs.readdir(layout.splitDir("mess", split))).length;
      const unprocessed = (await fs.readdir(layout.subdir("todo"))).length;
      io.stdout.write(`messages in queue: ${messages}\nmessages in queue but not yet preprocessed: ${unprocessed}\n`);
      return 0;
    } catch (error) {
      io.stderr.write(`tsqmail qstat: fatal: unable to read the queue: ${(error as Error).message}\n`);
      return 111;
    }
  },
};
