// Dispatch: hands one delivery to the lspawn or rspawn service as a `deliver` message and turns
// the answer into qmail's spawn result (K/Z/D with report text). Deliveries are numbered per send
// worker, as qmail-send numbers its log lines. A spawner that is not running answers through the
// runtime's `undeliverable`, which becomes a Z, so the message is retried on schedule; a spawner
// that dies mid-delivery is covered by a deadline, after which the delivery counts as Z too.

import type { Channel, SpawnStatus } from "../../../machines/queue-entry.js";
import type { DeliverMessage, DeliveredMessage, UndeliverableMessage } from "../../messages.js";

export const SPAWN_SERVICE: Readonly<Record<Channel, string>> = { local: "lspawn", remote: "rspawn" };

export interface SpawnResult {
  readonly status: SpawnStatus;
  readonly report: string;
}

export interface DeliveryRequest {
  readonly channel: Channel;
  readonly id: number;
  readonly messFile: string;
  readonly sender: string;
  readonly recipient: string;
}

export class Dispatcher {
  private lastDelivery = 0;
  private readonly running = new Map<number, { resolve: (result: SpawnResult) => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly send: (to: string, payload: DeliverMessage) => void,
    /** How long a spawner may take before the delivery is given up as temporary. */
    private readonly deadlineMs: number,
  ) {}

  /** Numbers the delivery (the number is what the log shows) and starts it. */
  start(request: DeliveryRequest): { delivery: number; result: Promise<SpawnResult> } {
    const delivery = ++this.lastDelivery;
    const result = new Promise<SpawnResult>((resolve) => {
      const timer = setTimeout(
        () => this.settle(delivery, { status: "Z", report: `${SPAWN_SERVICE[request.channel]} did not answer in time. (#4.3.0)` }),
        this.deadlineMs,
      );
      this.running.set(delivery, { resolve, timer });
    });
    const { channel, ...rest } = request;
    this.send(SPAWN_SERVICE[channel], { type: "deliver", delivery, ...rest });
    return { delivery, result };
  }

  delivered(message: DeliveredMessage): void {
    this.settle(message.delivery, { status: message.status, report: message.report });
  }

  undeliverable(message: UndeliverableMessage): void {
    const payload = message.payload as Partial<DeliverMessage>;
    if (payload.type !== "deliver" || payload.delivery === undefined) return;
    this.settle(payload.delivery, { status: "Z", report: `${message.to} service not running. (#4.3.0)` });
  }

  private settle(delivery: number, result: SpawnResult): void {
    const pending = this.running.get(delivery);
    if (pending === undefined) return; // answered after its deadline: the retry decides
    this.running.delete(delivery);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }
}
