// A listener's connection limits: at most `concurrency` connections at once (tcpserver -c) and
// at most `perClient` from one client. A client is one IPv4 address, or one IPv6 /64: a single
// IPv6 host is usually given a whole /64, so counting its addresses one by one would not limit
// it at all. Counts only; the listener decides what a refused connection is told.

import { parseIpv6 } from "../config/ip-rule-keys.js";
import type { PeerAddress } from "./connection-env.js";

export type LimitReached = "concurrency" | "per-client";

export class ConnectionLimits {
  private open = 0;
  private readonly perKey = new Map<string, number>();

  constructor(
    readonly concurrency: number,
    readonly perClient: number,
  ) {}

  get active(): number {
    return this.open;
  }

  /** Takes a slot for the client, or says which limit it would exceed. */
  admit(client: PeerAddress): LimitReached | undefined {
    const key = clientKey(client);
    const fromClient = this.perKey.get(key) ?? 0;
    if (this.open >= this.concurrency) return "concurrency";
    if (fromClient >= this.perClient) return "per-client";
    this.open += 1;
    this.perKey.set(key, fromClient + 1);
    return undefined;
  }

  /** Gives back a slot taken by admit(). */
  release(client: PeerAddress): void {
    const key = clientKey(client);
    const fromClient = this.perKey.get(key) ?? 0;
    this.open -= 1;
    if (fromClient <= 1) this.perKey.delete(key);
    else this.perKey.set(key, fromClient - 1);
  }
}

function clientKey(client: PeerAddress): string {
  if (client.family === 4) return client.ip;
  const bytes = parseIpv6(client.ip);
  return bytes === undefined ? client.ip : `${Buffer.from(bytes.subarray(0, 8)).toString("hex")}/64`;
}
