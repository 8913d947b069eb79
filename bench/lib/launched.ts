// The shape every system started as processes of its own shares (Postfix's master, Haraka's
// cluster, `tsqmail start`): its port, how it ends, why it ended; and the wait for it to serve that
// gives up, with the system's own last words, as soon as it exits.

import { waitForGreeting } from "./ports.js";

export interface Launched {
  readonly port: number;
  /** Resolves when the system's root process has exited. */
  readonly exited: Promise<void>;
  /** SIGKILL to every process of the system; its files stay, for a restart on them. */
  kill(): Promise<void>;
  /** A graceful stop. */
  stop(): Promise<void>;
  /** What it said or logged last, for when it exits unasked. */
  exitReason(): string;
}

/** `work`'s outcome, unless the system exits first: then its exitReason. */
export function unlessExited<T>(launched: Launched, work: Promise<T>): Promise<T> {
  const died = launched.exited.then(() => {
    throw new Error(launched.exitReason());
  });
  died.catch(() => {});
  return Promise.race([work, died]);
}

/** Resolves once `launched` greets on its port; on failure (its exit, a timeout) ends it with `end` and throws. */
export async function serving<T extends Launched>(launched: T, what: string, timeoutMs: number, end: () => Promise<void> = launched.stop): Promise<T> {
  try {
    await unlessExited(launched, waitForGreeting(launched.port, timeoutMs, `${what} on port ${launched.port}`));
  } catch (error) {
    await end();
    throw error;
  }
  return launched;
}
