// Delivery slots: how a spawner (lspawn, rspawn) takes send's `deliver` messages, as
// qmail-lspawn and qmail-rspawn take spawn commands — at most `limit` deliveries run at once,
// the rest wait in arrival order, and every one is answered exactly once with `delivered`.
// An attempt that rejects is answered Z, so send retries it on schedule. On stop, deliveries not
// yet started are answered Z at once (send retries them instead of waiting out its deadline);
// running ones get a moment to finish (send's deadline covers a hang).

import type { ServiceContext } from "../../../supervisors/service-module.js";
import type { DeliveredMessage, DeliverMessage, DeliveryStatus } from "../../messages.js";

export interface DeliveryResult {
  readonly status: DeliveryStatus;
  readonly report: string;
}

export interface DeliverySlots {
  accept(from: string, message: DeliverMessage): void;
  stop(): Promise<void>;
}

/** qmail's spawners cut a report at 3000 bytes and say so. */
const REPORT_LIMIT = 3000;

export function capReport(report: string): string {
  const bytes = Buffer.from(report, "utf8");
  return bytes.length <= REPORT_LIMIT ? report : `${bytes.subarray(0, REPORT_LIMIT).toString("utf8")}\nError report too long, sorry.\n`;
}

export function deliverySlots(
  context: Pick<ServiceContext, "send" | "service">,
  limit: number,
  attempt: (message: DeliverMessage) => Promise<DeliveryResult>,
  /** The report for an attempt that threw: it gets the error's message. */
  failed: (message: string) => string,
): DeliverySlots {
  let running = 0;
  let stopping = false;
  const waiting: { from: string; message: DeliverMessage }[] = [];
  const inFlight = new Set<Promise<void>>();

  const answer = (to: string, delivery: number, result: DeliveryResult): void =>
    context.send(to, { type: "delivered", delivery, status: result.status, report: capReport(result.report) } satisfies DeliveredMessage);

  const run = (from: string, message: DeliverMessage): void => {
    running += 1;
    const work = attempt(message)
      .catch((error: unknown): DeliveryResult => ({ status: "Z", report: failed((error as Error).message) }))
      .then((result) => {
        answer(from, message.delivery, result);
        running -= 1;
        inFlight.delete(work);
        next();
      });
    inFlight.add(work);
  };

  const next = (): void => {
    while (!stopping && running < limit && waiting.length > 0) {
      const { from, message } = waiting.shift()!;
      run(from, message);
    }
  };

  return {
    accept(from, message) {
      waiting.push({ from, message });
      next();
    },
    async stop() {
      stopping = true;
      for (const { from, message } of waiting.splice(0)) answer(from, message.delivery, { status: "Z", report: `${context.service} is stopping. (#4.3.0)` });
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, 2500).unref())]);
    },
  };
}
