// DNS seam. Lookups go through node:dns's c-ares Resolver — never getaddrinfo, which holds a
// libuv thread and knows no timeout — optionally pointed at given servers (`ip`, `ip:port`,
// `[ipv6]:port`), so tests can run a DNS server on loopback. Every lookup passes a fault point
// (site = the service, op = the lookup) and has a deadline of its own: c-ares's timeout is per
// try (lookups measured here took up to twice it) and, through gethostbyaddr, reads as ENOTFOUND.
// Listeners make reverse (PTR) lookups; remote delivery makes MX and A/AAAA lookups, sharing the
// resolver and the deadline. A hook's `delayMs` holds the question back that long, inside the
// deadline: a slow server, which answers late or, past the deadline, reads as a timeout.
// Reads: the DNS servers given, else the system's (/etc/resolv.conf); c-ares also reads /etc/hosts.

import { promises as dns } from "node:dns";
import { delayOf, faultAction } from "./faults.js";

export interface DnsOptions {
  /** The fault-plan site (the service's name). */
  readonly site: string;
  /** Servers to ask instead of the system's. */
  readonly servers?: readonly string[] | undefined;
  /** How long one lookup may take. */
  readonly timeoutMs: number;
}

export interface Dns {
  /**
   * The host name of `ip`: the first PTR name, lower-cased, as tcpserver reports it. Undefined
   * when there is none, or when it is not a plain host name (a PTR record is the client's to
   * write, and the name lands in Received lines and logs). Rejects with code ETIMEOUT when the
   * deadline passes.
   */
  reverse(ip: string): Promise<string | undefined>;
  /**
   * The MX records of `name`. An empty list when the name exists without MX records. Rejects
   * with the resolver's code: ENOTFOUND (NXDOMAIN), ETIMEOUT, ESERVFAIL, ECONNREFUSED, ….
   */
  mx(name: string): Promise<{ readonly preference: number; readonly exchange: string }[]>;
  /** The IPv4 then IPv6 addresses of `name`; empty when it has none. Rejects as `mx` does. */
  addresses(name: string): Promise<string[]>;
}

// c-ares reports "the name exists, but not with this type" as ENODATA: an empty answer, not an error.
async function orNone<T>(lookup: Promise<T[]>): Promise<T[]> {
  try {
    return await lookup;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENODATA") return [];
    throw error;
  }
}

// Letters, digits, `-` and `_` (seen in real PTR records), in dot-separated labels.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$/;

export function createDns(options: DnsOptions): Dns {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs, tries: 1 });
  if (options.servers !== undefined) resolver.setServers(options.servers);

  async function withDeadline<T>(op: string, lookup: () => Promise<T>): Promise<T> {
    const delayMs = delayOf(faultAction({ seam: "dns", site: options.site, op }));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(op, options.timeoutMs)), options.timeoutMs);
    });
    try {
      const answer = delayMs === 0 ? lookup() : new Promise((resolve) => setTimeout(resolve, delayMs)).then(lookup);
      return await Promise.race([answer, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async reverse(ip) {
      let names: string[];
      try {
        names = await withDeadline("reverse", () => resolver.reverse(ip));
      } catch (error) {
        // Through c-ares's gethostbyaddr every failure of its own reads ENOTFOUND.
        if ((error as NodeJS.ErrnoException).code === "ENOTFOUND") return undefined;
        throw error;
      }
      const name = names[0]?.toLowerCase().replace(/\.$/, "");
      return name !== undefined && HOST_NAME.test(name) ? name : undefined;
    },
    async mx(name) {
      const records = await withDeadline("mx", () => orNone(resolver.resolveMx(name)));
      return records.map((record) => ({ preference: record.priority, exchange: record.exchange }));
    },
    async addresses(name) {
      // Asked together; a name with only one family answers ENODATA for the other.
      const [v4, v6] = await Promise.all([
        withDeadline("a", () => orNone(resolver.resolve4(name))),
        withDeadline("aaaa", () => orNone(resolver.resolve6(name))),
      ]);
      return [...v4, ...v6];
    },
  };
}

function timeoutError(op: string, timeoutMs: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`DNS ${op} lookup timed out after ${timeoutMs} ms`);
  error.code = "ETIMEOUT";
  return error;
}
