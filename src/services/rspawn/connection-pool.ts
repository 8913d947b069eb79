// Connections kept between transactions: after a transaction that ended with a reply, rspawn
// keeps the connection, with what its session learned (EHLO keywords, TLS, AUTH), under a key
// that names everything the session depends on (address, port, helohost, TLS check, credentials,
// outgoing address). The next batch for the same key takes it and starts with RSET. An idle
// connection is closed with QUIT after `idleMs`, and all of them when the service stops; one the
// server closed meanwhile is dropped when it is taken.

import type { SessionFacts } from "../../../machines/remote-delivery.js";
import type { SmtpConnection } from "./smtp-connection.js";

interface Idle {
  readonly connection: SmtpConnection;
  readonly facts: SessionFacts;
  readonly timer: NodeJS.Timeout;
}

export class ConnectionPool {
  private readonly idle = new Map<string, Idle[]>();
  private stopped = false;

  constructor(private readonly idleMs: number) {}

  /** A kept connection for `key` that is still fit, if any. */
  take(key: string): { connection: SmtpConnection; facts: SessionFacts } | undefined {
    const list = this.idle.get(key);
    while (list !== undefined && list.length > 0) {
      const entry = list.pop()!;
      clearTimeout(entry.timer);
      if (list.length === 0) this.idle.delete(key);
      if (entry.connection.reusable) return entry;
      entry.connection.close();
    }
    return undefined;
  }

  /** Keeps `connection` for `key`, or says QUIT when it is unfit or the pool has stopped. */
  put(key: string, connection: SmtpConnection, facts: SessionFacts): void {
    if (this.stopped || !connection.reusable) return connection.quit();
    const entry: Idle = {
      connection,
      facts,
      timer: setTimeout(() => {
        const list = this.idle.get(key) ?? [];
        list.splice(list.indexOf(entry), 1);
        if (list.length === 0) this.idle.delete(key);
        connection.quit();
      }, this.idleMs),
    };
    this.idle.set(key, [...(this.idle.get(key) ?? []), entry]);
  }

  /** QUIT to every kept connection; nothing is kept from now on. */
  stop(): void {
    this.stopped = true;
    for (const list of this.idle.values()) {
      for (const entry of list) {
        clearTimeout(entry.timer);
        entry.connection.quit();
      }
    }
    this.idle.clear();
  }
}
