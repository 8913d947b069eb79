// local-delivery: one delivery attempt of one message to one local recipient — what qmail-lspawn
// and qmail-local do for a single spawn command. The chart reads like qmail-local's main():
//
//   checking ─→ preparing ─→ nextLine ⇄ delivering ─→ linesEnded ─→ (forwarding) ─→ delivered (K)
//        │          │                        │                             │
//        └──────────┴────────────────────────┴─────────────────────────────┴──────→ failed (Z or D)
//
// `prepare` finds the account, checks permissions and the Delivered-To loop, picks the .qmail
// file and parses it into instructions. The .qmail lines then run in order; forwards are only
// collected, and all of them go out once, at the end, as one new message (qmail-local's rule,
// so a later failing line does not leave a half-forwarded message behind). A program that exits
// 99 ends the line processing, but forwards already collected are still sent.
// Side effects are asked for by actions on entry and answered by one LocalDeliveryAnswer each
// (answering.ts: an event, not a child actor, per step); they are named here and provided by
// src/services/lspawn. A failing side effect rejects with a `DeliveryFailure` (letter and text);
// anything else it throws counts as temporary.

import { assign, setup } from "xstate";
import { answeringWith, type Failed } from "./answering.js";

/** A .qmail line, parsed: where it delivers. Paths are absolute (resolved against the home). */
export type Instruction =
  | { readonly kind: "maildir"; readonly path: string }
  | { readonly kind: "mbox"; readonly path: string }
  | { readonly kind: "program"; readonly command: string }
  | { readonly kind: "forward"; readonly address: string };

/** What the send service asked for (one `deliver` message). */
export interface LocalDeliveryInput {
  readonly messFile: string;
  readonly sender: string;
  readonly recipient: string;
}

/** How a side effect fails: Z temporary, D permanent, with qmail-local's text. */
export interface DeliveryFailure {
  readonly status: "Z" | "D";
  readonly text: string;
}

/** The account and the qmail-local environment, as `prepare` found them; plain data for the line actors. */
export interface PreparedDelivery {
  readonly instructions: readonly Instruction[];
  readonly home: string;
  readonly uid: number;
  readonly gid: number;
  /** The lines run in a child process with uid/gid (a system account), not in the runtime's own process. */
  readonly asAccount: boolean;
  /** The envelope sender forwards get (qmail's NEWSENDER, with the -owner rules applied). */
  readonly newSender: string;
  readonly dtline: string;
  readonly rpline: string;
  readonly ufline: string;
  /** The variables a program line gets (SENDER, RECIPIENT, LOCAL, HOST…, EXT…, DEFAULT, …). */
  readonly env: Readonly<Record<string, string>>;
}

export interface LineInput {
  readonly input: LocalDeliveryInput;
  readonly prepared: PreparedDelivery;
  readonly instruction: Exclude<Instruction, { kind: "forward" }>;
}

export interface LineOutput {
  /** What a program wrote; it goes into the report, as qmail-local passes it on. */
  readonly output: string;
  /** A program exited 99: deliver no further lines. */
  readonly stop: boolean;
}

export interface ForwardInput {
  readonly input: LocalDeliveryInput;
  readonly prepared: PreparedDelivery;
  readonly addresses: readonly string[];
}

/** qmail's spawn result: the letter and the report text. */
export interface LocalDeliveryOutput {
  readonly status: "K" | "Z" | "D";
  readonly report: string;
}

/** The answer to one request for a side effect: its result, or FAILED with what it threw. */
export type LocalDeliveryAnswer =
  | { readonly type: "PREPARED"; readonly prepared: PreparedDelivery }
  | { readonly type: "LINE_DELIVERED"; readonly output: LineOutput }
  | { readonly type: "FORWARDED"; readonly qp: number }
  | Failed;

/** A request action's implementation from the work it asks for (answering.ts), answering as this chart expects. */
export const answering = answeringWith<LocalDeliveryAnswer>();

interface Context {
  readonly input: LocalDeliveryInput;
  readonly prepared: PreparedDelivery | undefined;
  readonly line: number;
  readonly forwards: readonly string[];
  readonly files: number;
  readonly programs: number;
  /** Program output so far, then the closing line. */
  readonly report: string;
  readonly status: "K" | "Z" | "D";
}

export function isDeliveryFailure(value: unknown): value is DeliveryFailure {
  if (typeof value !== "object" || value === null) return false;
  const { status, text } = value as { status?: unknown; text?: unknown };
  return (status === "Z" || status === "D") && typeof text === "string";
}

/** A side effect that threw something other than a DeliveryFailure is a bug or an I/O surprise: retry later. */
export function failureOf(error: unknown): DeliveryFailure {
  if (isDeliveryFailure(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return { status: "Z", text: `Temporary failure in local delivery: ${message.replaceAll("\n", " ")} (#4.3.0)` };
}

const localPart = (recipient: string): string => recipient.slice(0, recipient.lastIndexOf("@"));
const current = (context: Context): Instruction | undefined => context.prepared?.instructions[context.line];

export const localDeliveryMachine = setup({
  types: {
    context: {} as Context,
    input: {} as LocalDeliveryInput,
    output: {} as LocalDeliveryOutput,
    events: {} as LocalDeliveryAnswer,
  },
  guards: {
    noHost: ({ context }) => !context.input.recipient.includes("@"),
    emptyLocal: ({ context }) => localPart(context.input.recipient) === "",
    linesDone: ({ context }) => current(context) === undefined,
    isForward: ({ context }) => current(context)?.kind === "forward",
    stopRequested: (_, params: { stop: boolean }) => params.stop,
    nothingToForward: ({ context }) => context.forwards.length === 0,
  },
  actions: {
    // The requests; the service provides them (made with answering.ts).
    /** Finds the account, checks, picks and parses the .qmail file → PREPARED. */
    prepare: (_, _params: LocalDeliveryInput) => {},
    /** Delivers one file or program line → LINE_DELIVERED. */
    deliverLine: (_, _params: LineInput) => {},
    /** Sends the collected forwards as one new message → FORWARDED. */
    forward: (_, _params: ForwardInput) => {},
    // Program output gathered so far stays in the report, ahead of the failure's text.
    fail: assign(({ context }, failure: DeliveryFailure) => ({ status: failure.status, report: context.report + failure.text })),
    collectForward: assign(({ context }) => ({
      forwards: [...context.forwards, (current(context) as { address: string }).address],
      line: context.line + 1,
    })),
    countLine: assign(({ context }, params: LineOutput) => ({
      files: context.files + (current(context)?.kind === "program" ? 0 : 1),
      programs: context.programs + (current(context)?.kind === "program" ? 1 : 0),
      report: context.report + params.output,
      line: context.line + 1,
    })),
    succeed: assign(({ context }, params: { qp?: number }) => ({
      status: "K" as const,
      report:
        `${context.report}did ${context.files}+${context.forwards.length}+${context.programs}\n` +
        (params.qp === undefined ? "" : `qp ${params.qp}\n`),
    })),
  },
}).createMachine({
  id: "local-delivery",
  context: ({ input }) => ({ input, prepared: undefined, line: 0, forwards: [], files: 0, programs: 0, report: "", status: "Z" }),
  initial: "checking",
  states: {
    checking: {
      always: [
        {
          guard: "noHost",
          target: "failed",
          actions: { type: "fail", params: { status: "D", text: "Sorry, address must include host name. (#5.1.3)" } },
        },
        // qmail-lspawn answers an empty local part (`@host`) with success at once.
        { guard: "emptyLocal", target: "delivered", actions: { type: "succeed", params: {} } },
        { target: "preparing" },
      ],
    },
    preparing: {
      entry: { type: "prepare", params: ({ context }) => context.input },
      on: {
        PREPARED: { target: "nextLine", actions: assign({ prepared: ({ event }) => event.prepared }) },
        FAILED: { target: "failed", actions: { type: "fail", params: ({ event }) => failureOf(event.error) } },
      },
    },
    nextLine: {
      always: [
        { guard: "linesDone", target: "linesEnded" },
        { guard: "isForward", target: "nextLine", reenter: true, actions: "collectForward" },
        { target: "delivering" },
      ],
    },
    delivering: {
      entry: {
        type: "deliverLine",
        params: ({ context }) => ({ input: context.input, prepared: context.prepared!, instruction: current(context) as LineInput["instruction"] }),
      },
      on: {
        LINE_DELIVERED: [
          {
            guard: { type: "stopRequested", params: ({ event }) => ({ stop: event.output.stop }) },
            target: "linesEnded",
            actions: { type: "countLine", params: ({ event }) => event.output },
          },
          { target: "nextLine", actions: { type: "countLine", params: ({ event }) => event.output } },
        ],
        FAILED: { target: "failed", actions: { type: "fail", params: ({ event }) => failureOf(event.error) } },
      },
    },
    // After the last line, or a program's exit 99: the forwards collected so far go out, if any.
    linesEnded: {
      always: [
        { guard: "nothingToForward", target: "delivered", actions: { type: "succeed", params: {} } },
        { target: "forwarding" },
      ],
    },
    forwarding: {
      entry: { type: "forward", params: ({ context }) => ({ input: context.input, prepared: context.prepared!, addresses: context.forwards }) },
      on: {
        FORWARDED: { target: "delivered", actions: { type: "succeed", params: ({ event }) => ({ qp: event.qp }) } },
        FAILED: { target: "failed", actions: { type: "fail", params: ({ event }) => failureOf(event.error) } },
      },
    },
    delivered: { type: "final" },
    failed: { type: "final" },
  },
  output: ({ context }) => ({ status: context.status, report: context.report }),
});
