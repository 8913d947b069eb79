// `tsqmail qread`: qmail-qread. Lists every preprocessed message (one with info/N), as
// qmail-qread does — messages still in todo/ are counted by qstat, not listed here:
//   <D Mon YYYY HH:MM:SS> GMT  #<id>  <size>  <<sender>> [ bouncing]
//   [  done]\tlocal\t<address>        one line per local/N record, "  done" when marked D
//   [  done]\tremote\t<address>
// The date is the birth time (info/N's mtime); size is the mess file's. Bytes outside 32–126 are
// printed as `_`, so a sender cannot put control characters on an administrator's terminal.
// A message that cannot be read gives `warning: trouble with #<id>: <why>` on stdout, as
// qmail-qread words it, and the listing goes on. Exit 0. Reads the queue only.

import type { Command } from "../command.js";
import { qmailDate } from "../../queue/qmail-date.js";
import { scanQueue, type ChannelFile, type QueuedMessage } from "../../queue/queue-scan.js";
import { rootPaths } from "../../root/paths.js";
import { parseConfigArgs } from "./config-args.js";

export const qread: Command = {
  name: "qread",
  summary: "list the messages in the queue and their recipients (qmail-qread)",
  usage: "tsqmail qread [--root DIR]",
  async run(args, io) {
    const queueDir = rootPaths(parseConfigArgs(args, io.env, {}, 0).root).queue;
    const scan = await scanQueue(queueDir);
    const shown = new Set<number>();
    for (const message of scan.messages) {
      if (message.info === undefined) continue;
      shown.add(message.id);
      io.stdout.write(printable(statsLine(message, message.info.sender, message.info.birth)) + "\n");
      io.stdout.write(recipientLines(message.local, "local") + recipientLines(message.remote, "remote"));
    }
    // Messages qmail-qread would have tried to list (they have info/) but could not, or only in part.
    for (const problem of scan.problems) {
      const listed = problem.id !== undefined && (shown.has(problem.id) || problem.path.startsWith("info/"));
      if (listed) io.stdout.write(printable(`warning: trouble with #${problem.id}: ${problem.path}: ${problem.detail}`) + "\n");
    }
    return 0;
  },
};

function statsLine(message: QueuedMessage, sender: string, birth: number): string {
  // qmail-qread drops date822fmt's " -0000" and says GMT instead.
  const date = qmailDate(birth).slice(0, -" -0000".length);
  return `${date} GMT  #${message.id}  ${message.size}  <${sender}> ${message.bounce ? " bouncing" : ""}`;
}

function recipientLines(channel: ChannelFile | undefined, name: "local" | "remote"): string {
  return (channel?.recipients ?? []).map((r) => `${r.done ? "  done" : ""}\t${name}\t${printable(r.address)}\n`).join("");
}

/** qmail-qread's out(): every byte outside 32–126 becomes `_`. */
function printable(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1").replace(/[^\x20-\x7e]/g, "_");
}
