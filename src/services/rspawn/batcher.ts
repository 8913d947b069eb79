// Batches: send hands rspawn one recipient per `deliver` message (qmail's spawn protocol, kept so
// lspawn and send need not change), but the recipients of one message that share a sender and a
// domain are dispatched together. rspawn gathers them: the first delivery for a key (mess file,
// sender, domain) opens a batch, deliveries for the same key that arrive within `windowMs` join
// it, and then the batch runs as one attempt — one SMTP transaction — and each delivery gets its
// own result. A batch is full at `maxSize` recipients (RFC 5321 §4.5.3.1.8: servers take at
// least 100) and runs at once; a later delivery opens the next one.

import type { DeliverMessage } from "../../messages.js";
import type { DeliveryResult } from "../spawner/delivery-slots.js";

interface Member {
  readonly message: DeliverMessage;
  readonly resolve: (result: DeliveryResult) => void;
  readonly reject: (error: unknown) => void;
}

export function batchKey(message: DeliverMessage): string {
  const domain = message.recipient.slice(message.recipient.lastIndexOf("@") + 1).toLowerCase();
  return `${message.messFile}\0${message.sender}\0${domain}`;
}

export class Batcher {
  private readonly open = new Map<string, { members: Member[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxSize: number,
    /** Delivers a batch (same mess file, sender and domain): one result per message, in order. */
    private readonly deliver: (messages: readonly DeliverMessage[]) => Promise<readonly DeliveryResult[]>,
  ) {}

  /** Delivers `message` together with the others of its batch. */
  join(message: DeliverMessage): Promise<DeliveryResult> {
    return new Promise((resolve, reject) => {
      const key = batchKey(message);
      let batch = this.open.get(key);
      if (batch === undefined) {
        batch = { members: [], timer: setTimeout(() => this.run(key), this.windowMs) };
        this.open.set(key, batch);
      }
      batch.members.push({ message, resolve, reject });
      if (batch.members.length >= this.maxSize) this.run(key);
    });
  }

  private run(key: string): void {
    const batch = this.open.get(key);
    if (batch === undefined) return;
    this.open.delete(key);
    clearTimeout(batch.timer);
    const { members } = batch;
    this.deliver(members.map((member) => member.message)).then(
      (results) => members.forEach((member, i) => member.resolve(results[i]!)),
      (error: unknown) => members.forEach((member) => member.reject(error)),
    );
  }
}
