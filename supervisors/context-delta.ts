// What a snapshot record says of its actor's context: the whole context redacted now and then,
// and in between only the top-level keys whose value changed since the actor's previous
// published snapshot (record format: ContextFields in inspection-record.ts). XState's `assign`
// makes a new context object but keeps the values it does not assign, so a changed key is one
// whose value is not the same reference. An SMTP session's context has about 20 keys, its
// shared settings among them, and 1.4 change between two snapshots on average: redacting and
// packing the whole of it at every snapshot was two thirds of inspection's cost in smtpd's worker.

import type { ContextFields } from "./inspection-record.js";
import { isPlainObject, MAX_ITEMS, redact, redactEntry } from "./redact.js";

/**
 * One snapshot in FULL_CONTEXT_EVERY carries the whole context. A page that connects late gets
 * an actor's first record and latest 400 (src/inspect/frame-journal.ts): an actor whose records
 * are at least one in six snapshots (an SMTP session's are nearly one in two) keeps a whole
 * context among them, and a page that has lost one sees the next within 64 snapshots. At ~545
 * bytes against ~100 for a change, it adds some 7 bytes to an SMTP snapshot on average.
 */
export const FULL_CONTEXT_EVERY = 64;

interface Published {
  /** The context as of the actor's last published snapshot (not redacted: compared by reference). */
  context: unknown;
  /** Snapshots published since the last whole context. */
  since: number;
}

const UNCHANGED: ContextFields = Object.freeze({});

export class ContextDeltas {
  // Keyed by the actor ref, so an actor gone is forgotten with it.
  private published = new WeakMap<object, Published>();

  /** Forgets every actor: the next snapshot of each carries its whole context. */
  reset(): void {
    this.published = new WeakMap();
  }

  /** The context fields of `actor`'s snapshot now published, whose context is `context`. */
  fields(actor: object, context: unknown): ContextFields {
    const last = this.published.get(actor);
    if (last === undefined || last.since + 1 >= FULL_CONTEXT_EVERY || !isPlainObject(context) || !isPlainObject(last.context)) {
      return this.whole(actor, context, last);
    }
    if (context === last.context) {
      last.since++;
      return UNCHANGED;
    }
    const delta = changesOf(last.context, context);
    if (delta === undefined) return this.whole(actor, context, last);
    last.context = context;
    last.since++;
    return delta;
  }

  private whole(actor: object, context: unknown, last: Published | undefined): ContextFields {
    if (last === undefined) this.published.set(actor, { context, since: 0 });
    else {
      last.context = context;
      last.since = 0;
    }
    return { context: redact(context) };
  }
}

/**
 * The keys of `next` that `previous` does not hold by the same reference, redacted, and the keys
 * of `previous` that `next` lacks; undefined when either has more keys than a whole context shows
 * (`redact` cuts it short, so a reader's fold of `previous` lacks keys: only a whole context says
 * so the same way).
 */
function changesOf(previous: Record<string, unknown>, next: Record<string, unknown>): ContextFields | undefined {
  let changes: Record<string, unknown> | undefined;
  let keys = 0;
  for (const key in next) {
    if (++keys > MAX_ITEMS) return undefined;
    const item = next[key];
    // An added key whose value is undefined is still a change.
    if (item !== previous[key] || (item === undefined && !Object.hasOwn(previous, key))) (changes ??= {})[key] = redactEntry(key, item);
  }
  let removed: string[] | undefined;
  keys = 0;
  for (const key in previous) {
    if (++keys > MAX_ITEMS) return undefined;
    if (!Object.hasOwn(next, key)) (removed ??= []).push(key);
  }
  if (changes === undefined) return removed === undefined ? UNCHANGED : { removed };
  return removed === undefined ? { changes } : { changes, removed };
}
