// The environment of one connection, as tcpserver (ucspi-tcp 0.88, ucspi-tcp6 for IPv6) sets it
// for the program it runs: PROTO, TCPLOCALIP, TCPLOCALPORT, TCPLOCALHOST, TCPREMOTEIP,
// TCPREMOTEPORT, TCPREMOTEHOST; for IPv6 clients PROTO=TCP6 and the same values again under
// TCP6* names, plus TCP6INTERFACE for a link-local address's interface. A v4-mapped client
// (`::ffff:1.2.3.4`, an IPv4 client of a dual-stack socket) is an IPv4 client. A variable whose
// value is unknown is unset, even when the service's environment had it. Then come the matching
// rule's variables, then (implicit TLS) the TLS variables.

import type { TLSSocket } from "node:tls";
import { parseIpv6 } from "../config/ip-rule-keys.js";

export type Env = Readonly<Record<string, string>>;
export type EnvPairs = ReadonlyArray<readonly [name: string, value: string]>;

export interface PeerAddress {
  /** The address as tcpserver shows it: dotted IPv4 (also for a v4-mapped client), else compact IPv6. */
  readonly ip: string;
  readonly family: 4 | 6;
  /** The interface of a link-local IPv6 address (Node writes it as `fe80::1%eth0`). */
  readonly interface: string | undefined;
}

export function peerAddress(text: string): PeerAddress {
  const percent = text.indexOf("%");
  const ip = percent === -1 ? text : text.slice(0, percent);
  const v6 = ip.includes(":") ? parseIpv6(ip) : undefined;
  if (v6 === undefined) return { ip, family: 4, interface: undefined };
  if (isV4Mapped(v6)) return { ip: v6.subarray(12).join("."), family: 4, interface: undefined };
  return { ip, family: 6, interface: percent === -1 ? undefined : text.slice(percent + 1) };
}

function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

export interface ConnectionEndpoints {
  readonly local: PeerAddress;
  readonly localPort: number;
  /** TCPLOCALHOST: the listener's LOCALNAME, if set. */
  readonly localHost: string | undefined;
  readonly remote: PeerAddress;
  readonly remotePort: number;
  /** TCPREMOTEHOST: the client's name from a reverse lookup, if known. */
  readonly remoteHost: string | undefined;
}

/** Every variable the listener owns: removed from the service's environment before its own are set. */
const CONNECTION_VARIABLES: ReadonlySet<string> = new Set([
  "PROTO",
  ...["LOCALIP", "LOCALPORT", "LOCALHOST", "REMOTEIP", "REMOTEPORT", "REMOTEHOST"].flatMap((name) => [`TCP${name}`, `TCP6${name}`]),
  "TCPREMOTEINFO",
  "TCP6INTERFACE",
  "SSL_PROTOCOL",
  "SSL_CIPHER",
  "SSL_TLS_SNI",
]);

/** tcpserver's variables for this connection, in the order tcpserver sets them; unknown ones left out. */
export function ucspiVariables(endpoints: ConnectionEndpoints): EnvPairs {
  const ipv6 = endpoints.remote.family === 6;
  const pairs: Array<[string, string]> = [["PROTO", ipv6 ? "TCP6" : "TCP"]];
  const add = (name: string, value: string | undefined): void => {
    if (value === undefined) return;
    pairs.push([`TCP${name}`, value]);
    if (ipv6) pairs.push([`TCP6${name}`, value]);
  };
  add("LOCALIP", endpoints.local.ip);
  add("LOCALPORT", String(endpoints.localPort));
  add("LOCALHOST", endpoints.localHost);
  add("REMOTEIP", endpoints.remote.ip);
  add("REMOTEPORT", String(endpoints.remotePort));
  add("REMOTEHOST", endpoints.remoteHost);
  if (ipv6 && endpoints.remote.interface !== undefined) pairs.push(["TCP6INTERFACE", endpoints.remote.interface]);
  return pairs;
}

/**
 * What an implicit-TLS connection adds, under mod_ssl's names (as ucspi-ssl's sslserver -s):
 * SSL_PROTOCOL (`TLSv1.3`), SSL_CIPHER (OpenSSL's name) and SSL_TLS_SNI (the name the client
 * asked for, when it sent one).
 */
export function tlsVariables(socket: TLSSocket): EnvPairs {
  const pairs: Array<[string, string]> = [
    ["SSL_PROTOCOL", socket.getProtocol() ?? "unknown"],
    ["SSL_CIPHER", socket.getCipher().name],
  ];
  if (typeof socket.servername === "string") pairs.push(["SSL_TLS_SNI", socket.servername]);
  return pairs;
}

/**
 * The service's environment without stale connection variables, then each list of pairs in turn.
 * Reading process.env costs a call into the runtime per variable, so a listener passes a plain
 * copy made once (this function without layers), not process.env itself.
 */
export function connectionEnv(serviceEnv: Readonly<Record<string, string | undefined>>, ...layers: EnvPairs[]): Env {
  const env: Record<string, string> = {};
  for (const name of Object.keys(serviceEnv)) {
    const value = serviceEnv[name];
    if (value !== undefined && !CONNECTION_VARIABLES.has(name)) env[name] = value;
  }
  for (const layer of layers) for (const [name, value] of layer) env[name] = value;
  return env;
}
