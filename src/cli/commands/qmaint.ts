// `tsqmail qmaint`: a consistency check of the queue, and safe removal of a message.
//   tsqmail qmaint            prints one line per problem (queue-scan.ts: missing mess file,
//                             orphan channel or bounce file, file in the wrong split
//                             subdirectory, unparsable info or records, todo without intd, …)
//                             and a summary; exit 0 when the queue is consistent, 1 if not.
//   tsqmail qmaint --remove N removes every file of message N (queue-clean.ts purgeMessage).
//                             Refused (exit 111) while the send service runs, because it keeps
//                             each message's state in memory and would act on files that are
//                             gone. No such message: exit 100.
// "The send service runs" means ROOT/service/send/supervise/lock.tsqmail names a live process,
// or something holds ROOT/service/send/supervise/ok open for reading — the two marks a tsqmail or
// a daemontools supervise leaves while it supervises the service. Reads the queue; --remove
// writes it.

import { closeSync } from "node:fs";
import { join } from "node:path";
import { UsageError, type Command } from "../command.js";
import { openFifoForWriting } from "../../../supervisors/daemontools/supervise-dir.js";
import { LOCK_FILE_NAME, liveLockHolder } from "../../../supervisors/daemontools/supervise-lock.js";
import { isMissing } from "../../io/optional-files.js";
import { messageNumber, purgeMessage } from "../../queue/queue-clean.js";
import { scanQueue } from "../../queue/queue-scan.js";
import { rootPaths } from "../../root/paths.js";
import { parseConfigArgs } from "./config-args.js";

export const qmaint: Command = {
  name: "qmaint",
  summary: "check the queue's consistency; remove a message safely (--remove N)",
  usage: "tsqmail qmaint [--root DIR] [--remove N]",
  async run(args, io) {
    const { root, values } = parseConfigArgs(args, io.env, { remove: { type: "string" } }, 0);
    const paths = rootPaths(root);
    if (typeof values.remove === "string") {
      const id = messageNumber(values.remove);
      if (id === undefined) throw new UsageError(`not a message number: ${values.remove}`);
      const running = sendServiceRunning(paths.serviceDir("send"));
      if (running !== undefined) {
        io.stderr.write(`tsqmail qmaint: fatal: the send service is running (${running}); stop it first: tsqmail svc -d send\n`);
        return 111;
      }
      const removed = await purgeMessage(paths.queue, id);
      if (removed.length === 0) {
        io.stderr.write(`tsqmail qmaint: no message ${id} in the queue\n`);
        return 100;
      }
      for (const path of removed) io.stdout.write(`removed ${path}\n`);
      return 0;
    }
    const scan = await scanQueue(paths.queue);
    for (const problem of scan.problems) io.stdout.write(`${problem.kind}: ${problem.path}: ${problem.detail}\n`);
    io.stdout.write(`${scan.messages.length} messages, ${scan.problems.length} problems\n`);
    return scan.problems.length === 0 ? 0 : 1;
  },
};

/** Why the service at `serviceDir` counts as running, or undefined when it does not. */
function sendServiceRunning(serviceDir: string): string | undefined {
  const supervise = join(serviceDir, "supervise");
  const holder = liveLockHolder(supervise);
  if (holder !== undefined) return `${LOCK_FILE_NAME} held by pid ${holder}`;
  try {
    const probe = openFifoForWriting(join(supervise, "ok"));
    if (probe === "no reader") return undefined;
    closeSync(probe);
    return "supervise/ok has a reader";
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

