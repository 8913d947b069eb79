// queue-entry: one message in the queue, from todo/ to gone (qmail-send's life of a message).
//
//   preprocessing ─→ (loading) ─→ channels (local ∥ remote) ─→ (bouncing) ─→ cleanup ─→ done
//                                  each: waiting ⇄ delivering → marking → finished
//   any step failing: corrupt files → quarantined ─→ done (moved aside, other messages go on)
//                     anything else → stalled ─→ (holdOff) ─→ start again from the files
//
// The machine holds no truth of its own: its context is what the queue files say — found by
// preprocessing in this life, or read back by `loadEntry` when the message was preprocessed
// before (birth = info mtime, each channel's next try = its file's mtime, its recipients not yet
// marked done) — and every step that changes the queue writes the files first. A message
// preprocessed in this life may not have its files yet (`durable` false: todo/N still stands for
// it); the first mark that has anything to record writes them, so one delivered at its first try
// never does, and its removal takes todo/N. So a pass needs no
// read of its channel file: the recipients left after marking are the ones without a K or D
// result, exactly what the file then says. A message preprocessed in this life can have no bounce
// report until one of its recipients fails permanently, so only then (or when it was preprocessed
// before) is the bouncing step taken.
// Each step's work is asked for by an action on entry and answered by one QueueEntryAnswer (its
// result, or FAILED), as smtp-session asks for its work: an event costs a fraction of an invoked
// child actor (answering.ts), and a delivered message takes four steps. A failure ends the
// attempt (`attempt` counts them); `answering` delivers an answer only while the attempt that
// asked is still the entry's, so a pass still running on one channel when the other failed
// cannot be taken for a later attempt's. The two waits stay invoked callbacks, because stopping
// the actor (dormancy, svc -t) must cancel them: a channel waits for an absolute deadline through
// `awaitTurn` — the scheduler's turn, which also waits for a free delivery slot — so a restart
// resumes at the same wall-clock moment; `holdOff` is the pause before a stalled entry tries
// again. Pure: imports only xstate and answering.ts; the service provides the request actions
// (made with `answering`) and both waits with `machine.provide`.

import { and, assign, fromCallback, setup, type AnyActorRef, type EventObject, type SnapshotFrom } from "xstate";
import { answering as answerRequests, isRunning, type Failed } from "./answering.js";

export type Channel = "local" | "remote";
export type SpawnStatus = "K" | "Z" | "D";

export interface QueueEntryInput {
  readonly id: number;
}

/**
 * What preprocessing found: todo/N read and split into channels (`preprocessed`; `durable` when
 * its files are written already, else todo/N stands for it until a mark first needs them), a
 * message preprocessed before whose files are to be read (`queued`), or nothing left of it (`gone`).
 */
export type PreprocessOutcome =
  | { readonly kind: "preprocessed"; readonly entry: LoadedEntry; readonly durable: boolean }
  | { readonly kind: "queued" }
  | { readonly kind: "gone" };

/** A `T` record of a channel file: a recipient not yet done. */
export interface PendingRecipient {
  /** Byte offset of the record's T byte: where its done marker goes. */
  readonly offset: number;
  readonly recipient: string;
}

/** What the files say about a preprocessed message. */
export interface LoadedEntry {
  /** Epoch ms: info/N's mtime. */
  readonly birth: number;
  readonly sender: string;
  /** Next try per channel (the channel file's mtime), or null when that channel has no file. */
  readonly nextTry: Readonly<Record<Channel, number | null>>;
  /** Each channel file's recipients not yet marked done, in file order (none without a file). */
  readonly recipients: Readonly<Record<Channel, readonly PendingRecipient[]>>;
}

export interface ChannelPassInput {
  readonly id: number;
  readonly channel: Channel;
  readonly birth: number;
  readonly sender: string;
  readonly recipients: readonly PendingRecipient[];
}

export interface DeliveryResult {
  /** Byte offset of the recipient's T record in the channel file. */
  readonly offset: number;
  readonly recipient: string;
  readonly status: SpawnStatus;
  readonly report: string;
}

/** One pass over a channel's undelivered recipients. */
export interface ChannelPassOutput {
  readonly results: readonly DeliveryResult[];
  /** Computed when the pass started, used if anything is left after it (qmail's order). */
  readonly nextTry: number;
}

export interface MarkInput {
  readonly id: number;
  readonly channel: Channel;
  readonly results: readonly DeliveryResult[];
  readonly nextTry: number;
  /** Recipients not yet done when the pass started; those without a K or D result remain. */
  readonly pending: number;
  /** While the entry's files are not written yet, what to write before any mark; else null. */
  readonly unwritten: LoadedEntry | null;
}

export interface MarkOutput {
  /** Recipients still to deliver; 0 means the channel file is gone. */
  readonly remaining: number;
  /** Whether the entry's files are written now (false only when none were and none were needed). */
  readonly durable: boolean;
}

export interface AwaitTurnInput {
  readonly id: number;
  readonly channel: Channel;
  /** Epoch ms: not before this. */
  readonly at: number;
}

export interface EntryRef {
  readonly id: number;
}

/** A request for work: what it is about, and the attempt that asks. */
export type Request<T> = T & { readonly attempt: number };

interface QueueEntryContext {
  readonly id: number;
  /** Failures so far: an answer to a request of an earlier attempt is not delivered. */
  readonly attempt: number;
  readonly birth: number;
  readonly sender: string;
  readonly nextTry: Readonly<Record<Channel, number | null>>;
  readonly recipients: Readonly<Record<Channel, readonly PendingRecipient[]>>;
  readonly pass: Readonly<Record<Channel, ChannelPassOutput | null>>;
  /** Why the entry was quarantined, for the log. */
  readonly problem: string | null;
  /** Whether bounce/N may exist: false only for a message preprocessed in this life with no permanent failure yet. */
  readonly bounceDue: boolean;
  /** Whether info/N and the channel files are written: false while todo/N still stands for the message. */
  readonly durable: boolean;
}

/** The answer to one request for work: its result, or FAILED when the work threw. */
export type QueueEntryAnswer =
  | { readonly type: "PREPROCESSED"; readonly output: PreprocessOutcome }
  | { readonly type: "LOADED"; readonly output: LoadedEntry }
  | { readonly type: "PASSED"; readonly channel: Channel; readonly output: ChannelPassOutput }
  | { readonly type: "MARKED"; readonly channel: Channel; readonly output: MarkOutput }
  | { readonly type: "BOUNCED" }
  | { readonly type: "REMOVED" }
  | { readonly type: "QUARANTINED" }
  | Failed;

type QueueEntryEvent = { type: "TURN" } | { type: "RETRY" } | QueueEntryAnswer;

/** A provider rejects with an error carrying `corrupt: true` when the files cannot be used. */
export interface CorruptFileError extends Error {
  readonly corrupt: true;
}

// Where a failed step goes: corruption is final for this message, anything else is retried.
// Either way the attempt ends, so what it still has running answers to nobody.
const failed = [
  { guard: "corrupt", target: "#queue-entry.quarantined", actions: ["noteProblem", "endAttempt"] },
  { target: "#queue-entry.stalled", actions: ["noteProblem", "endAttempt"] },
] as const;

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const NONE: Readonly<Record<Channel, readonly PendingRecipient[]>> = { local: [], remote: [] };

/** The recipients a pass leaves: those without a K or D result (a Z, or not dispatched at all). */
function leftAfter(recipients: readonly PendingRecipient[], results: readonly DeliveryResult[]): PendingRecipient[] {
  const done = new Set(results.filter((result) => result.status !== "Z").map((result) => result.offset));
  return recipients.filter((recipient) => !done.has(recipient.offset));
}

/** What the files say (or would say) of a message, from anything that holds it. */
const entryFields = ({ birth, sender, nextTry, recipients }: LoadedEntry): LoadedEntry => ({ birth, sender, nextTry, recipients });

const entryRequest = ({ context }: { context: QueueEntryContext }): Request<EntryRef> => ({ id: context.id, attempt: context.attempt });

export const queueEntryMachine = setup({
  types: {
    context: {} as QueueEntryContext,
    events: {} as QueueEntryEvent,
    input: {} as QueueEntryInput,
  },
  guards: {
    gone: ({ event }) => event.type === "PREPROCESSED" && event.output.kind === "gone",
    preprocessed: ({ event }) => event.type === "PREPROCESSED" && event.output.kind === "preprocessed",
    bounceDue: ({ context }) => context.bounceDue,
    corrupt: ({ event }) => event.type === "FAILED" && (event.error as { corrupt?: unknown } | null)?.corrupt === true,
    channelEmpty: ({ context }, params: { channel: Channel }) => context.nextTry[params.channel] === null,
    /** A PASSED or MARKED answer is for this channel (the other runs beside it). */
    forChannel: ({ event }, params: { channel: Channel }) => "channel" in event && event.channel === params.channel,
    channelFinished: ({ event }) => event.type === "MARKED" && event.output.remaining === 0,
  },
  actions: {
    noteProblem: assign({ problem: ({ event }) => (event.type === "FAILED" ? describe(event.error) : null) }),
    endAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    adoptPreprocessed: assign(({ event }) => {
      if (event.type !== "PREPROCESSED" || event.output.kind !== "preprocessed") return {};
      return { ...entryFields(event.output.entry), bounceDue: false, durable: event.output.durable };
    }),
    adoptFiles: assign(({ event }) => {
      if (event.type !== "LOADED") return {};
      return { ...entryFields(event.output), bounceDue: true, durable: true };
    }),
    recordPass: assign(({ context, event }, params: { channel: Channel }) => {
      if (event.type !== "PASSED") return {};
      return {
        pass: { ...context.pass, [params.channel]: event.output },
        bounceDue: context.bounceDue || event.output.results.some((result) => result.status === "D"),
      };
    }),
    noteDurable: assign({ durable: ({ context, event }) => context.durable || (event.type === "MARKED" && event.output.durable) }),
    scheduleNextPass: assign(({ context }, params: { channel: Channel }) => {
      const pass = context.pass[params.channel]!;
      return {
        nextTry: { ...context.nextTry, [params.channel]: pass.nextTry },
        recipients: { ...context.recipients, [params.channel]: leftAfter(context.recipients[params.channel], pass.results) },
        pass: { ...context.pass, [params.channel]: null },
      };
    }),
    // The requests for work, each answered by one QueueEntryAnswer; the service provides them.
    /** todo/N → info/N + local/N + remote/N, then todo/N and intd/N removed → PREPROCESSED: "preprocessed", "queued" with info but no todo, "gone" without either. */
    preprocess: (_, _params: Request<EntryRef>) => {},
    /** Reads info/N and the channel files (mtimes, recipients not yet done) → LOADED; FAILED if they are unusable. */
    loadEntry: (_, _params: Request<EntryRef>) => {},
    /** Dispatches the channel's undelivered recipients (given here) and collects the results → PASSED. */
    deliverChannel: (_, _params: Request<ChannelPassInput>) => {},
    /**
     * Writes the entry's files first if still unwritten and anything is left or failed; then bounce
     * reports, then done markers; persists the next try or unlinks the file → MARKED.
     */
    markDone: (_, _params: Request<MarkInput>) => {},
    /** Injects bounce/N (if any) and removes it → BOUNCED. */
    bounce: (_, _params: Request<EntryRef>) => {},
    /** Removes todo/N (when never written out), info/N, mess/N and what else is left of the message → REMOVED. */
    removeMessage: (_, _params: Request<EntryRef & { durable: boolean }>) => {},
    /** Moves the message's files aside (queue/corrupt/N/) and logs why → QUARANTINED. */
    quarantine: (_, _params: Request<EntryRef & { problem: string }>) => {},
  },
  actors: {
    /** Sends TURN once `at` has passed and a delivery slot is free. */
    awaitTurn: fromCallback<EventObject, AwaitTurnInput>(() => () => {}),
    /** Sends RETRY after a pause: a step failed for a reason that may pass (disk full, EIO). */
    holdOff: fromCallback<EventObject, EntryRef & { problem: string }>(() => () => {}),
  },
}).createMachine({
  id: "queue-entry",
  context: ({ input }) => ({
    id: input.id,
    attempt: 0,
    birth: 0,
    sender: "",
    nextTry: { local: null, remote: null },
    recipients: NONE,
    pass: { local: null, remote: null },
    problem: null,
    bounceDue: true,
    durable: true,
  }),
  initial: "preprocessing",
  states: {
    // Always first, so the files decide: todo/N is preprocessed, info/N carries on, neither is gone.
    preprocessing: {
      entry: { type: "preprocess", params: entryRequest },
      on: {
        PREPROCESSED: [
          { guard: "gone", target: "done" },
          { guard: "preprocessed", target: "channels", actions: "adoptPreprocessed" },
          { target: "loading" },
        ],
        FAILED: failed,
      },
    },
    loading: {
      entry: { type: "loadEntry", params: entryRequest },
      on: { LOADED: { target: "channels", actions: "adoptFiles" }, FAILED: failed },
    },
    channels: {
      type: "parallel",
      states: {
        local: channelStates("local"),
        remote: channelStates("remote"),
      },
      onDone: [{ guard: "bounceDue", target: "bouncing" }, { target: "cleanup" }],
    },
    bouncing: {
      entry: { type: "bounce", params: entryRequest },
      on: { BOUNCED: "cleanup", FAILED: failed },
    },
    cleanup: {
      entry: { type: "removeMessage", params: ({ context }) => ({ ...entryRequest({ context }), durable: context.durable }) },
      on: { REMOVED: "done", FAILED: failed },
    },
    stalled: {
      invoke: { src: "holdOff", input: ({ context }) => ({ id: context.id, problem: context.problem ?? "unknown problem" }) },
      on: { RETRY: "preprocessing" },
    },
    quarantined: {
      entry: { type: "quarantine", params: ({ context }) => ({ ...entryRequest({ context }), problem: context.problem ?? "unknown problem" }) },
      on: { QUARANTINED: "done", FAILED: "done" },
    },
    done: { type: "final" },
  },
});

// One channel's statechart; local and remote are the same chart with their own files and slots.
function channelStates(channel: Channel) {
  const params = { channel };
  const forChannel = { type: "forChannel", params } as const;
  return {
    initial: "checking",
    states: {
      checking: {
        always: [{ guard: { type: "channelEmpty", params }, target: "finished" }, { target: "waiting" }],
      },
      waiting: {
        invoke: {
          src: "awaitTurn",
          input: ({ context }: { context: QueueEntryContext }) => ({ id: context.id, channel, at: context.nextTry[channel] ?? 0 }),
        },
        on: { TURN: "delivering" },
      },
      delivering: {
        entry: {
          type: "deliverChannel",
          params: ({ context }: { context: QueueEntryContext }) => ({
            id: context.id,
            attempt: context.attempt,
            channel,
            birth: context.birth,
            sender: context.sender,
            recipients: context.recipients[channel],
          }),
        },
        on: {
          PASSED: { guard: forChannel, target: "marking", actions: { type: "recordPass", params } },
          FAILED: failed,
        },
      },
      marking: {
        entry: {
          type: "markDone",
          params: ({ context }: { context: QueueEntryContext }) => {
            const pass = context.pass[channel]!;
            return {
              id: context.id,
              attempt: context.attempt,
              channel,
              results: pass.results,
              nextTry: pass.nextTry,
              pending: context.recipients[channel].length,
              unwritten: context.durable ? null : entryFields(context),
            };
          },
        },
        on: {
          MARKED: [
            { guard: and([forChannel, "channelFinished"]), target: "finished", actions: "noteDurable" },
            { guard: forChannel, target: "waiting", actions: ["noteDurable", { type: "scheduleNextPass", params }] },
          ],
          FAILED: failed,
        },
      },
      finished: { type: "final" },
    },
  } as const;
}

export type QueueEntryMachine = typeof queueEntryMachine;
export type QueueEntrySnapshot = SnapshotFrom<QueueEntryMachine>;

/**
 * A request action's implementation from the work it asks for (answering.ts): its answer reaches
 * the entry only while the entry runs and the attempt that asked is still its own.
 */
export const answering = <R extends { readonly attempt: number }>(work: (request: R) => Promise<QueueEntryAnswer>) =>
  answerRequests(
    work,
    (self: AnyActorRef, request: R) => isRunning(self) && (self.getSnapshot() as QueueEntrySnapshot).context.attempt === request.attempt,
  );

/**
 * When an entry only waits — every channel waiting for its next try or finished — the earliest
 * next try; otherwise undefined. The service lets such an entry's actor go dormant until then.
 */
export function waitingUntil(snapshot: QueueEntrySnapshot): number | undefined {
  const value = snapshot.value as { channels?: Record<Channel, string> } | string;
  if (typeof value === "string" || value.channels === undefined) return undefined;
  let earliest: number | undefined;
  for (const channel of ["local", "remote"] as const) {
    const state = value.channels[channel];
    if (state === "finished") continue;
    if (state !== "waiting") return undefined;
    const at = snapshot.context.nextTry[channel] ?? 0;
    earliest = earliest === undefined ? at : Math.min(earliest, at);
  }
  return earliest;
}
