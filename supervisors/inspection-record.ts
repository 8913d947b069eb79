// What the inspection bus carries: actor life, events and snapshots from every worker, and the
// supervisors' own events, all as plain structured-cloneable records with a stable actor id
// (`smtpd/conn/17`, `send/msg/123456`). Secrets are redacted before a record leaves its thread.
// A snapshot carries its actor's whole context only now and then (`ContextFields`); a reader
// folds the changes in between back into whole contexts with src/inspect/context-fold.ts.

export type SupervisorEventKind = "start" | "ready" | "exit" | "status" | "control" | "restart" | "escalate";

export type InspectionRecord =
  | {
      readonly kind: "actor";
      readonly at: number;
      readonly service: string;
      readonly id: string;
      readonly parent?: string;
      readonly machine?: string;
    }
  | {
      readonly kind: "event";
      readonly at: number;
      readonly service: string;
      readonly id: string;
      readonly event: unknown;
      readonly source?: string;
    }
  | ({
      readonly kind: "snapshot";
      readonly at: number;
      readonly service: string;
      readonly id: string;
      readonly value: unknown;
      readonly status: string;
    } & ContextFields)
  | {
      readonly kind: "actor-end";
      readonly at: number;
      readonly service: string;
      readonly id: string;
      readonly status: "done" | "stopped" | "error";
      readonly error?: string;
    }
  | {
      readonly kind: "supervisor";
      readonly at: number;
      readonly service: string;
      readonly event: SupervisorEventKind;
      readonly detail: Readonly<Record<string, unknown>>;
    };

/**
 * A snapshot's context (supervisors/context-delta.ts). The whole redacted `context` comes on the
 * first snapshot of an actor while inspecting (the first after inspection is turned on too), on
 * every FULL_CONTEXT_EVERY-th after, and whenever the context is not a plain object. The
 * snapshots in between carry only what changed since the actor's previous snapshot: `changes`,
 * the redacted values of the top-level keys whose value is a different one, and `removed`, the
 * keys that are gone. A snapshot whose context is the previous one carries none of the three.
 */
export interface ContextFields {
  readonly context?: unknown;
  readonly changes?: Readonly<Record<string, unknown>>;
  readonly removed?: readonly string[];
}
