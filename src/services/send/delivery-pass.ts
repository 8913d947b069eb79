// One pass over a channel of one message (qmail-send's pass): every recipient not yet marked done
// (the entry knows them: it wrote or read the channel file, and its marks) is dispatched, each as
// soon as the channel has a free slot (the turn brought the first one).
// The next try is computed when the pass starts, from the message's birth, and is used if
// anything is left once the results are marked. A message past queuelifetime is dying: a
// temporary failure becomes permanent with qmail's "too long" line. Logs qmail's
// `starting delivery` / `delivery` / `status` lines. Writes nothing: done-marker.ts does.

import { clock } from "../../../supervisors/clock.js";
import type { ChannelPassInput, ChannelPassOutput, DeliveryResult } from "../../../machines/queue-entry.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import { verpSender } from "../../queue/verp.js";
import type { ChannelScheduler } from "./channel-scheduler.js";
import type { Dispatcher, SpawnResult } from "./dispatch.js";
import { isDying, nextTryAt, TOO_LONG_IN_QUEUE } from "./retry-schedule.js";
import { sendLog } from "./send-log.js";

export interface PassDeps {
  readonly layout: QueueLayout;
  readonly schedulers: Readonly<Record<"local" | "remote", ChannelScheduler>>;
  readonly dispatcher: Dispatcher;
  readonly queuelifetime: number;
  readonly log: (line: string) => void;
  /** The current `status:` line. */
  readonly status: () => string;
}

export const entryKey = (id: number, channel: string): string => `${channel}/${id}`;

function giveUp(result: SpawnResult): SpawnResult {
  if (result.status !== "Z") return result;
  const report = result.report === "" || result.report.endsWith("\n") ? result.report : `${result.report}\n`;
  return { status: "D", report: report + TOO_LONG_IN_QUEUE };
}

export async function deliverChannel(deps: PassDeps, input: ChannelPassInput): Promise<ChannelPassOutput> {
  const { id, channel } = input;
  const now = clock.now();
  const nextTry = nextTryAt(channel, input.birth, now);
  const dying = isDying(input.birth, now, deps.queuelifetime);
  const lease = deps.schedulers[channel].lease(entryKey(id, channel));
  try {
    const messFile = deps.layout.file("mess", id);
    const deliveries: Promise<DeliveryResult>[] = [];
    for (const record of input.recipients) {
      const release = await lease.acquire();
      if (release === undefined) break; // stopping: what was not started waits for the next run
      const { delivery, result } = deps.dispatcher.start({
        channel,
        id,
        messFile,
        sender: verpSender(input.sender, record.recipient),
        recipient: record.recipient,
      });
      deps.log(sendLog.starting(delivery, id, channel, record.recipient));
      deps.log(deps.status());
      deliveries.push(
        result.then((answer) => {
          release();
          const final = dying ? giveUp(answer) : answer;
          deps.log(sendLog.delivery(delivery, final.status, final.report));
          deps.log(deps.status());
          return { offset: record.offset, recipient: record.recipient, ...final };
        }),
      );
    }
    return { results: await Promise.all(deliveries), nextTry };
  } finally {
    lease.close();
  }
}
