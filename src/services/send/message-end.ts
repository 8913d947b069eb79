// The end of a message, once neither channel file remains (qmail-send's "done"): bounce/N, if any
// recipient failed permanently, is composed into a bounce (queue/bounce-message.ts) and injected
// through the one enqueue module — or discarded when it would be a triple bounce — and only then
// removed. Then info/N goes (the message no longer exists for send; todo/N and intd/N instead for
// a message delivered at its first try, which never had one), `end msg N` is logged, and
// qmail-clean's last step removes the mess file once every other name of N is durably gone
// (queue/removal-order.ts). Every step is idempotent, so a crash anywhere is finished by the next
// start; at worst a bounce is sent twice, never lost.

import { clock } from "../../../supervisors/clock.js";
import type { SiteFs } from "../../io/fs.js";
import { composeBounce, type BounceControl } from "../../queue/bounce-message.js";
import { readBounceReport, removeBounceReport } from "../../queue/bounce-report.js";
import type { DirSyncer } from "../../queue/dir-sync.js";
import { enqueue } from "../../queue/enqueue.js";
import { removeMessage } from "../../queue/queue-clean.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import { removedBeforeMess } from "../../queue/removal-order.js";
import type { SpareFiles } from "../../queue/spare-files.js";
import { readSender } from "./queue-files.js";
import { sendLog } from "./send-log.js";

export interface MessageEndDeps {
  readonly fs: SiteFs;
  readonly dirSync: DirSyncer;
  readonly layout: QueueLayout;
  readonly spares: SpareFiles;
  readonly bounceControl: BounceControl;
  readonly log: (line: string) => void;
  /** qmail-clean's todo step: intd/N, then todo/N. */
  readonly cleanTodo: (id: number) => Promise<void>;
}

export async function sendBounce(deps: MessageEndDeps, id: number): Promise<void> {
  const { layout } = deps;
  const report = await readBounceReport(layout.queueDir, id);
  if (report === undefined) return;
  const bounce = composeBounce({
    sender: await readSender(deps.fs, layout, id),
    report,
    messageFile: layout.file("mess", id),
    control: deps.bounceControl,
    now: clock.now(),
  });
  if (bounce.discard) {
    deps.log(sendLog.tripleBounce(id));
  } else {
    const queued = await enqueue(layout.queueDir, bounce.body, bounce.envelope, { invokedBy: "bounce", now: () => clock.now() });
    if (!queued.ok) throw new Error(`unable to inject bounce for msg ${id}: ${queued.text.slice(1)}`);
    deps.log(sendLog.bounce(id, queued.qp));
  }
  await removeBounceReport(layout.queueDir, id);
}

/** `durable`: whether info/N was ever written; if not, todo/N and intd/N still stand for the message and go instead. */
export async function finishMessage(deps: MessageEndDeps, id: number, durable: boolean): Promise<void> {
  const { layout, dirSync } = deps;
  if (!durable) await deps.cleanTodo(id);
  else if (await deps.spares.retire(layout.file("info", id))) removedBeforeMess(layout, id, dirSync, "info");
  deps.log(sendLog.end(id));
  await removeMessage(layout.queueDir, id);
}
