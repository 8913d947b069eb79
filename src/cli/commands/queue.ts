// `tsqmail queue`: the qmail-queue program interface, so qmail tools and wrappers (ezmlm,
// qmail-scanner style filters, anything that execs qmail-queue) can queue mail. Reads the message
// on fd 0, then the envelope on fd 1; writes the queue of the root given by --root or
// $TSQMAIL_ROOT; prints nothing and exits with qmail-queue's code (0 queued, 11–40 permanent,
// other temporary). It never runs $QMAILQUEUE: it *is* the program that variable replaces.

import { siteFs } from "../../io/fs.js";
import { UsageError, type Command } from "../command.js";
import { rootPaths } from "../../root/paths.js";
import { takeRoot } from "../command-args.js";
import { readDescriptor } from "../../queue/descriptor-reader.js";
import { readEnvelope } from "../../queue/envelope.js";
import { QueueExit } from "../../queue/queue-exit.js";
import { writeToQueue } from "../../queue/queue-writer.js";

const ENVELOPE_FD = 1;
/** qmail-queue's alarm: a caller that never finishes is given a day, then it exits 52, leaving its files. */
const SELF_DESTRUCT_MS = 24 * 60 * 60 * 1000;

/** qmail-queue and qmail-qmqpc take no arguments; here only `--root DIR`. */
export function rootOnly(args: readonly string[], env: NodeJS.ProcessEnv): string {
  const { root, rest } = takeRoot(args, env, "leading");
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
  return root;
}

export async function isDirectory(path: string): Promise<boolean> {
  return siteFs("enqueue").stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export const queueCommand: Command = {
  name: "queue",
  summary: "qmail-queue: queue the message on fd 0 with the envelope read from fd 1",
  usage: "tsqmail queue [--root DIR]   (message on fd 0, envelope F…\\0T…\\0…\\0 on fd 1)",
  async run(args, io) {
    const paths = rootPaths(rootOnly(args, io.env));
    // qmail-queue's chdir to QMAILHOME and then queue/.
    if (!(await isDirectory(paths.root))) return QueueExit.homeDir;
    if (!(await isDirectory(paths.queue))) return QueueExit.queueDir;

    const alarm = setTimeout(() => process.exit(QueueExit.timeout), SELF_DESTRUCT_MS);
    alarm.unref();
    try {
      const uid = process.getuid?.() ?? 0;
      const result = await writeToQueue(paths.queue, io.stdin, () => readEnvelope(readDescriptor(ENVELOPE_FD)), {
        invokedBy: { uid },
      });
      return result.ok ? QueueExit.ok : result.exit;
    } finally {
      clearTimeout(alarm);
    }
  },
};
