// Where a listener's settings come from: its service's environment, i.e. the envdir
// ROOT/service/NAME/env/ over the runtime's environment — what tcpserver's options and
// arguments were in a qmail run script. Read once when the service starts (a change takes
// `svc -t`); the rules cdb itself is re-read on `svc -h`.
//
//   IP              address to bind; unset, `0` or empty: every address (IPv6 and IPv4)
//   PORT            port, required (0: any free port)
//   CONCURRENCY     connections at once, tcpserver -c (default 40)
//   PERIP           connections from one client, IPv4 address or IPv6 /64 (default: CONCURRENCY)
//   RULES           rules cdb (tcprules); relative to the service directory. Unset: rules.cdb in
//                   the service directory if it exists, else no rules. Set: the file must exist.
//   REVERSE         1: look up the client's name, tcpserver -h (default); 0: don't, -H
//   REVERSETIMEOUT  seconds a reverse lookup may take (default 5)
//   DNSSERVERS      DNS servers for it, `ip`, `ip:port` or `[ipv6]:port`, separated by spaces
//                   or commas (default: /etc/resolv.conf's)
//   LOCALNAME       TCPLOCALHOST, tcpserver -l (default: unset)
//
// A malformed value is a ConfigError naming the envdir file: the service refuses to start.

import { isIP, isIPv4, isIPv6 } from "node:net";
import { isAbsolute, join, relative } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { rootPaths } from "../root/paths.js";

export interface RulesSource {
  readonly path: string;
  /** How errors name the file: relative to the root when it is inside it. */
  readonly label: string;
  /** Named by RULES, so it must exist; the default rules.cdb is optional. */
  readonly required: boolean;
}

export interface ReverseLookup {
  readonly timeoutMs: number;
  readonly servers: readonly string[] | undefined;
}

export interface ListenerSettings {
  /** undefined: every local address. */
  readonly ip: string | undefined;
  readonly port: number;
  readonly concurrency: number;
  readonly perClient: number;
  readonly rules: RulesSource;
  /** undefined: no reverse lookups (REVERSE=0). */
  readonly reverse: ReverseLookup | undefined;
  readonly localName: string | undefined;
}

export interface ListenerService {
  readonly service: string;
  readonly root: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function listenerSettings({ service, root, env }: ListenerService): ListenerSettings {
  const label = `service/${service}/env`;
  const fail = (name: string, reason: string): never => {
    throw new ConfigError(`${label}/${name}`, undefined, reason);
  };
  const integer = (name: string, fallback: number | undefined, min: number, max: number): number => {
    const text = env[name];
    if (text === undefined) return fallback ?? fail(name, "missing");
    if (!/^\d+$/.test(text)) return fail(name, `not a number: ${JSON.stringify(text)}`);
    const value = Number(text);
    if (value < min || value > max) return fail(name, `out of range ${min}–${max}: ${value}`);
    return value;
  };

  const ipText = env.IP;
  if (ipText !== undefined && ipText !== "" && ipText !== "0" && isIP(ipText) === 0) fail("IP", `not an IP address: ${JSON.stringify(ipText)}`);
  const concurrency = integer("CONCURRENCY", 40, 1, 1_000_000);
  const reverseText = env.REVERSE ?? "1";
  if (reverseText !== "0" && reverseText !== "1") fail("REVERSE", `not 0 or 1: ${JSON.stringify(reverseText)}`);
  const reverseTimeoutMs = integer("REVERSETIMEOUT", 5, 1, 3600) * 1000;
  const servers = env.DNSSERVERS?.split(/[\s,]+/).filter((server) => server !== "");
  for (const server of servers ?? []) if (!isDnsServer(server)) fail("DNSSERVERS", `not a DNS server address: ${JSON.stringify(server)}`);

  return {
    ip: ipText === undefined || ipText === "" || ipText === "0" ? undefined : ipText,
    port: integer("PORT", undefined, 0, 65535),
    concurrency,
    perClient: integer("PERIP", concurrency, 1, concurrency),
    rules: rulesSource(service, root, env.RULES),
    reverse: reverseText === "0" ? undefined : { timeoutMs: reverseTimeoutMs, servers: servers?.length === 0 ? undefined : servers },
    localName: env.LOCALNAME === "" ? undefined : env.LOCALNAME,
  };
}

function rulesSource(service: string, root: string, named: string | undefined): RulesSource {
  const paths = rootPaths(root);
  const serviceDir = paths.serviceDir(service);
  const path = named === undefined || named === "" ? join(serviceDir, "rules.cdb") : isAbsolute(named) ? named : join(serviceDir, named);
  const fromRoot = relative(paths.root, path);
  const label = fromRoot.startsWith("..") || isAbsolute(fromRoot) ? path : fromRoot;
  return { path, label, required: named !== undefined && named !== "" };
}

/** What node:dns's setServers takes: an address, `ipv4:port` or `[ipv6]:port`. */
function isDnsServer(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const withPort = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (withPort === null || Number(withPort[3]) > 65535) return false;
  return withPort[1] !== undefined ? isIPv6(withPort[1]) : isIPv4(withPort[2]!);
}
