// Who asked for a message to be queued. qmail-queue tells by its real uid: the alias user
// (deliveries to ~alias), qmaild (network servers), qmails (bounces) or anyone else by number.
// tsqmail runs all of these as one user, so injectors name their role instead; the uid recorded in
// the envelope (`u` record) is then this process's own.

export type InvokedBy = "network" | "alias" | "bounce" | { readonly uid: number };

/** The `<who>` part of qmail-queue's Received line. */
export function invokerText(invokedBy: InvokedBy): string {
  switch (invokedBy) {
    case "network":
      return "from network";
    case "alias":
      return "by alias";
    case "bounce":
      return "for bounce";
    default:
      return `by uid ${invokedBy.uid}`;
  }
}

/** The uid written to the envelope's `u` record. */
export function invokerUid(invokedBy: InvokedBy): number {
  return typeof invokedBy === "object" ? invokedBy.uid : (process.getuid?.() ?? 0);
}
