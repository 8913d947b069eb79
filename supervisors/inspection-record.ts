// What the inspection bus carries: actor life, events and snapshots from every worker, and the
// supervisors' own events, all as plain structured-cloneable records with a stable actor id
// (`smtpd/conn/17`, `send/msg/123456`). Secrets are redacted before a record leaves its thread.

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
  | {
      readonly kind: "snapshot";
      readonly at: number;
      readonly service: string;
      readonly id: string;
      readonly value: unknown;
      readonly status: string;
      readonly context: unknown;
    }
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
