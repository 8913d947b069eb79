// The message of each running delivery attempt, read from its mess file once: preparing, every
// file or program line and the forward all need it, and a mess file does not change while it is
// in the queue. Attempts on the same mess file at once (one message, several local recipients)
// share the read; a read that failed is forgotten, so the next attempt tries again.

import { readMessage } from "./prepare.js";

interface Held {
  users: number;
  read: Promise<Buffer> | undefined;
}

export class MessageReads {
  private readonly held = new Map<string, Held>();

  /** Keeps `messFile`'s read for as long as `work` runs. */
  async during<T>(messFile: string, work: () => Promise<T>): Promise<T> {
    const entry = this.held.get(messFile) ?? { users: 0, read: undefined };
    entry.users += 1;
    this.held.set(messFile, entry);
    try {
      return await work();
    } finally {
      entry.users -= 1;
      if (entry.users === 0) this.held.delete(messFile);
    }
  }

  /** The message; read once while an attempt holds it, else read afresh. */
  get(messFile: string): Promise<Buffer> {
    const entry = this.held.get(messFile);
    if (entry === undefined) return readMessage(messFile);
    if (entry.read === undefined) {
      const read = readMessage(messFile);
      entry.read = read;
      read.catch(() => {
        if (entry.read === read) entry.read = undefined;
      });
    }
    return entry.read;
  }
}
