// Forwarding (`&address` and bare-address lines): all forwards of one delivery go out once, at
// the end, as one new message — the Delivered-To line followed by the message — through the
// queue's one door (enqueue), with NEWSENDER as envelope sender. send is then woken so the copy
// leaves at once. A queue refusal keeps its letter: Z stays temporary, D permanent.
// Writes the queue.

import type { ForwardInput } from "../../../machines/local-delivery.js";
import { enqueue } from "../../queue/enqueue.js";
import { hard, soft } from "./delivery-failure.js";

async function* withDeliveredTo(dtline: string, message: Buffer): AsyncGenerator<Uint8Array> {
  yield Buffer.from(dtline, "utf8");
  yield message;
}

export async function forwardMessage(queueDir: string, forward: ForwardInput, message: Buffer, wake: (id: number | null) => void): Promise<{ qp: number }> {
  const { prepared, addresses } = forward;
  const result = await enqueue(queueDir, withDeliveredTo(prepared.dtline, message), { sender: prepared.newSender, recipients: addresses }, {
    invokedBy: { uid: prepared.uid },
    pullTrigger: false, // wake() below tells the send service
  });
  if (!result.ok) throw (result.text.startsWith("D") ? hard : soft)(`Unable to forward message: ${result.text.slice(1)}`);
  wake(result.id);
  return { qp: result.qp };
}
