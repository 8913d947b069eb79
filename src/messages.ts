// Every message one service sends another, as one discriminated union (DESIGN.md §4). These
// travel inside the host's `app` frames (supervisors/thread-protocol.ts) by structured clone, so
// they are plain data. The delivery pair keeps qmail's spawn protocol: send hands a spawner a
// numbered delivery of one message to one recipient, and gets back K (delivered), Z (temporary
// failure, try again later) or D (permanent failure, bounce) with the report text.

/**
 * An injector committed messages: send takes them now, by number when the injector knows every
 * one (`ids`), else by reading todo/.
 */
export interface WakeMessage {
  readonly type: "wake";
  readonly ids?: readonly number[];
}

/** The wake for messages just queued, each number as enqueue gave it (null: a QMAILQUEUE program did not say). */
export function wakeFor(ids: readonly (number | null)[]): WakeMessage {
  return ids.every((id): id is number => id !== null) ? { type: "wake", ids } : { type: "wake" };
}

/** An injector (smtpd) → send: up to `count` spare inodes wanted, to make intd/N of (queue/spare-stock.ts). */
export interface SparesWantedMessage {
  readonly type: "spares-wanted";
  readonly count: number;
}

/** send → the injector that asked: spare paths, now the injector's alone (perhaps none). */
export interface SparesMessage {
  readonly type: "spares";
  readonly paths: readonly string[];
}

/** send → lspawn / rspawn: deliver message `id` (its mess file at `messFile`) to one recipient. */
export interface DeliverMessage {
  readonly type: "deliver";
  /** Unique among this send worker's running deliveries; echoed in the answer. */
  readonly delivery: number;
  readonly id: number;
  /** Absolute path of the mess file. */
  readonly messFile: string;
  /** The envelope sender, VERP already applied. */
  readonly sender: string;
  readonly recipient: string;
}

/** qmail's spawn result letters: K delivered, Z temporary failure, D permanent failure. */
export type DeliveryStatus = "K" | "Z" | "D";

/** lspawn / rspawn → send: how delivery `delivery` ended. */
export interface DeliveredMessage {
  readonly type: "delivered";
  readonly delivery: number;
  readonly status: DeliveryStatus;
  /** The report, as qmail-local / qmail-remote wrote it (may hold several lines). */
  readonly report: string;
}

/** runtime → a service: the message it sent to `to` was not delivered because `to` is not running. */
export interface UndeliverableMessage {
  readonly type: "undeliverable";
  readonly to: string;
  readonly payload: unknown;
}

/** Any service → send: asks for a `memory-report` (tests and operators watching the queue's cost). */
export interface MemoryQueryMessage {
  readonly type: "memory-query";
}

/** send → the asker: its worker's memory use and how much work its schedulers (channels and activation) have done. */
export interface MemoryReportMessage {
  readonly type: "memory-report";
  readonly heapUsed: number;
  readonly rss: number;
  readonly entries: number;
  /** Heap comparisons and heap decisions (pushes, pops, removals) over both channels. */
  readonly schedulerComparisons: number;
  readonly schedulerDecisions: number;
  readonly largestQueue: number;
}

export type ServiceMessage =
  | WakeMessage
  | SparesWantedMessage
  | SparesMessage
  | DeliverMessage
  | DeliveredMessage
  | UndeliverableMessage
  | MemoryQueryMessage
  | MemoryReportMessage;

/** Narrows an `app` payload: anything with a known `type` is a ServiceMessage. */
export function isServiceMessage(payload: unknown): payload is ServiceMessage {
  if (typeof payload !== "object" || payload === null) return false;
  const type = (payload as { type?: unknown }).type;
  return (
    type === "wake" ||
    type === "spares-wanted" ||
    type === "spares" ||
    type === "deliver" ||
    type === "delivered" ||
    type === "undeliverable" ||
    type === "memory-query" ||
    type === "memory-report"
  );
}

export function undeliverable(to: string, payload: unknown): UndeliverableMessage {
  return { type: "undeliverable", to, payload };
}
