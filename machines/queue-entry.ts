// queue-entry: one message in the queue, from todo/ to gone (qmail-send's life of a message).
//
//   preprocessing ─→ (loading) ─→ channels (local ∥ remote) ─→ (bouncing) ─→ cleanup ─→ done
//                                  each: waiting ⇄ delivering → marking → finished
//   any step failing: corrupt files → quarantined ─→ done (moved aside, other messages go on)
//                     anything else → stalled ─→ (holdOff) ─→ start again from the files
//
// The machine holds no truth of its own: its context is what the queue files say — written by
// preprocessing in this life, or read back by `loadEntry` when the message was preprocessed
// before (birth = info mtime, each channel's next try = its file's mtime, its recipients not yet
// marked done) — and every step that changes the queue is an invoked actor that writes the files
// first. So a pass needs no read of its channel file: the recipients left after marking are the
// ones without a K or D result, exactly what the file then says. A message preprocessed in
// this life can have no bounce report until one of its recipients fails permanently, so only then
// (or when it was preprocessed before) is the bouncing step taken. A channel waits for an
// absolute deadline through `awaitTurn` — the scheduler's turn, which also waits for a free
// delivery slot — so a restart resumes at the same wall-clock moment. Pure: imports only xstate;
// the service provides every actor with `machine.provide`.

import { assign, fromPromise, fromCallback, setup, type EventObject, type SnapshotFrom } from "xstate";

export type Channel = "local" | "remote";
export type SpawnStatus = "K" | "Z" | "D";

export interface QueueEntryInput {
  readonly id: number;
}

/**
 * What preprocessing found: todo/N turned into the files it describes (`preprocessed`), a message
 * preprocessed before whose files are to be read (`queued`), or nothing left of it (`gone`).
 */
export type PreprocessOutcome =
  | { readonly kind: "preprocessed"; readonly entry: LoadedEntry }
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
}

export interface MarkOutput {
  /** Recipients still to deliver; 0 means the channel file is gone. */
  readonly remaining: number;
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

interface QueueEntryContext {
  readonly id: number;
  readonly birth: number;
  readonly sender: string;
  readonly nextTry: Readonly<Record<Channel, number | null>>;
  readonly recipients: Readonly<Record<Channel, readonly PendingRecipient[]>>;
  readonly pass: Readonly<Record<Channel, ChannelPassOutput | null>>;
  /** Why the entry was quarantined, for the log. */
  readonly problem: string | null;
  /** Whether bounce/N may exist: false only for a message preprocessed in this life with no permanent failure yet. */
  readonly bounceDue: boolean;
}

type QueueEntryEvent = { type: "TURN" } | { type: "RETRY" };

/** A provider rejects with an error carrying `corrupt: true` when the files cannot be used. */
export interface CorruptFileError extends Error {
  readonly corrupt: true;
}

// Where a failed step goes: corruption is final for this message, anything else is retried.
const failed = [
  { guard: "corrupt", target: "#queue-entry.quarantined", actions: "noteProblem" },
  { target: "#queue-entry.stalled", actions: "noteProblem" },
] as const;

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const NONE: Readonly<Record<Channel, readonly PendingRecipient[]>> = { local: [], remote: [] };

/** The recipients a pass leaves: those without a K or D result (a Z, or not dispatched at all). */
function leftAfter(recipients: readonly PendingRecipient[], results: readonly DeliveryResult[]): PendingRecipient[] {
  const done = new Set(results.filter((result) => result.status !== "Z").map((result) => result.offset));
  return recipients.filter((recipient) => !done.has(recipient.offset));
}

// Placeholders: the service provides the real actors; these keep the machine runnable in tests.
const pending = <I, O>() => fromPromise<O, I>(() => new Promise<O>(() => {}));

export const queueEntryMachine = setup({
  types: {
    context: {} as QueueEntryContext,
    events: {} as QueueEntryEvent,
    input: {} as QueueEntryInput,
  },
  guards: {
    gone: ({ event }) => (event as unknown as { output: PreprocessOutcome }).output.kind === "gone",
    preprocessed: ({ event }) => (event as unknown as { output: PreprocessOutcome }).output.kind === "preprocessed",
    bounceDue: ({ context }) => context.bounceDue,
    corrupt: ({ event }) => (event as unknown as { error?: { corrupt?: unknown } }).error?.corrupt === true,
    channelEmpty: ({ context }, params: { channel: Channel }) => context.nextTry[params.channel] === null,
    channelFinished: ({ event }) => (event as unknown as { output: MarkOutput }).output.remaining === 0,
  },
  actions: {
    noteProblem: assign({ problem: ({ event }) => describe((event as unknown as { error: unknown }).error) }),
    adoptPreprocessed: assign(({ event }) => {
      const { entry } = (event as unknown as { output: Extract<PreprocessOutcome, { kind: "preprocessed" }> }).output;
      return { birth: entry.birth, sender: entry.sender, nextTry: entry.nextTry, recipients: entry.recipients, bounceDue: false };
    }),
    adoptFiles: assign(({ event }) => {
      const loaded = (event as unknown as { output: LoadedEntry }).output;
      return { birth: loaded.birth, sender: loaded.sender, nextTry: loaded.nextTry, recipients: loaded.recipients, bounceDue: true };
    }),
    recordPass: assign(({ context, event }, params: { channel: Channel }) => {
      const output = (event as unknown as { output: ChannelPassOutput }).output;
      return {
        pass: { ...context.pass, [params.channel]: output },
        bounceDue: context.bounceDue || output.results.some((result) => result.status === "D"),
      };
    }),
    scheduleNextPass: assign(({ context }, params: { channel: Channel }) => {
      const pass = context.pass[params.channel]!;
      return {
        nextTry: { ...context.nextTry, [params.channel]: pass.nextTry },
        recipients: { ...context.recipients, [params.channel]: leftAfter(context.recipients[params.channel], pass.results) },
        pass: { ...context.pass, [params.channel]: null },
      };
    }),
  },
  actors: {
    /** todo/N → info/N + local/N + remote/N, then todo/N and intd/N removed; "queued" with info but no todo; "gone" without either. */
    preprocess: pending<EntryRef, PreprocessOutcome>(),
    /** Reads info/N and the channel files (mtimes, recipients not yet done); rejects if they are unusable. */
    loadEntry: pending<EntryRef, LoadedEntry>(),
    /** Sends TURN once `at` has passed and a delivery slot is free. */
    awaitTurn: fromCallback<EventObject, AwaitTurnInput>(() => () => {}),
    /** Dispatches the channel's undelivered recipients (given in its input) and collects the results. */
    deliverChannel: pending<ChannelPassInput, ChannelPassOutput>(),
    /** Writes bounce reports, then done markers; persists the next try or unlinks the file. */
    markDone: pending<MarkInput, MarkOutput>(),
    /** Injects bounce/N (if any) and removes it. */
    bounce: pending<EntryRef, void>(),
    /** Removes info/N, mess/N and what else is left of the message. */
    removeMessage: pending<EntryRef, void>(),
    /** Sends RETRY after a pause: a step failed for a reason that may pass (disk full, EIO). */
    holdOff: fromCallback<EventObject, EntryRef & { problem: string }>(() => () => {}),
    /** Moves the message's files aside (queue/corrupt/N/) and logs why. */
    quarantine: pending<EntryRef & { problem: string }, void>(),
  },
}).createMachine({
  id: "queue-entry",
  context: ({ input }) => ({
    id: input.id,
    birth: 0,
    sender: "",
    nextTry: { local: null, remote: null },
    recipients: NONE,
    pass: { local: null, remote: null },
    problem: null,
    bounceDue: true,
  }),
  initial: "preprocessing",
  states: {
    // Always first, so the files decide: todo/N is preprocessed, info/N carries on, neither is gone.
    preprocessing: {
      invoke: {
        src: "preprocess",
        input: ({ context }) => ({ id: context.id }),
        onDone: [
          { guard: "gone", target: "done" },
          { guard: "preprocessed", target: "channels", actions: "adoptPreprocessed" },
          { target: "loading" },
        ],
        onError: failed,
      },
    },
    loading: {
      invoke: {
        src: "loadEntry",
        input: ({ context }) => ({ id: context.id }),
        onDone: { target: "channels", actions: "adoptFiles" },
        onError: failed,
      },
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
      invoke: { src: "bounce", input: ({ context }) => ({ id: context.id }), onDone: "cleanup", onError: failed },
    },
    cleanup: {
      invoke: { src: "removeMessage", input: ({ context }) => ({ id: context.id }), onDone: "done", onError: failed },
    },
    stalled: {
      invoke: { src: "holdOff", input: ({ context }) => ({ id: context.id, problem: context.problem ?? "unknown problem" }) },
      on: { RETRY: "preprocessing" },
    },
    quarantined: {
      invoke: {
        src: "quarantine",
        input: ({ context }) => ({ id: context.id, problem: context.problem ?? "unknown problem" }),
        onDone: "done",
        onError: "done",
      },
    },
    done: { type: "final" },
  },
});

// One channel's statechart; local and remote are the same chart with their own files and slots.
function channelStates(channel: Channel) {
  const params = { channel };
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
        invoke: {
          src: "deliverChannel",
          input: ({ context }: { context: QueueEntryContext }) => ({
            id: context.id,
            channel,
            birth: context.birth,
            sender: context.sender,
            recipients: context.recipients[channel],
          }),
          onDone: { target: "marking", actions: { type: "recordPass", params } },
          onError: failed,
        },
      },
      marking: {
        invoke: {
          src: "markDone",
          input: ({ context }: { context: QueueEntryContext }) => {
            const pass = context.pass[channel]!;
            return { id: context.id, channel, results: pass.results, nextTry: pass.nextTry, pending: context.recipients[channel].length };
          },
          onDone: [
            { guard: "channelFinished", target: "finished" },
            { target: "waiting", actions: { type: "scheduleNextPass", params } },
          ],
          onError: failed,
        },
      },
      finished: { type: "final" },
    },
  } as const;
}

export type QueueEntryMachine = typeof queueEntryMachine;
export type QueueEntrySnapshot = SnapshotFrom<QueueEntryMachine>;

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
