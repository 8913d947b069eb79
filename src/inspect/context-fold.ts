// Whole contexts back from snapshot records, which carry an actor's whole context only now and
// then and otherwise the keys that changed (ContextFields in supervisors/inspection-record.ts).
// Every reader of snapshots folds them with this one function: the Stately exporter in Node, and
// the page, which loads this module's compiled JavaScript as it is (inspect-server.ts serves it
// as /context-fold.js), so it must import nothing but types.

import type { ContextFields } from "../../supervisors/inspection-record.js";

export interface FoldedContext {
  /** The actor's context as of the snapshot. */
  readonly context: unknown;
  /**
   * False until a whole context of the actor has been read: the records before the one that
   * carried it were lost (a journal keeps an actor's latest records), so `context` holds only
   * the keys changed since, and says nothing of the others.
   */
  readonly whole: boolean;
}

/** The context after a snapshot carrying `record`, from the one after the actor's previous snapshot. */
export function foldContext(previous: FoldedContext | undefined, record: ContextFields): FoldedContext {
  if ("context" in record) return { context: record.context, whole: true };
  if (record.changes === undefined && record.removed === undefined) return previous ?? { context: {}, whole: false };
  const base = previous?.context;
  const context: Record<string, unknown> = { ...(typeof base === "object" && base !== null ? base : {}), ...record.changes };
  for (const key of record.removed ?? []) delete context[key];
  return { context, whole: previous?.whole ?? false };
}
