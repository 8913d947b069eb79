// Connection rules lookup: what tcpserver does with a new connection, given its rules cdb.
// Keys are tried in ucspi-tcp's order, first hit wins: info@ip, info@=host, ip, =host, each
// IPv4 prefix ending in `.` (longest first), each CIDR prefix (ucspi-tcp6, longest first),
// each =.suffix of host (longest first), `=`, and the empty key. Host keys are tried only when
// the host name is known, info keys only when the remote info is. The rule's data says deny
// (`D`) or sets variables (`+VAR=value`), NUL-separated.

import type { Cdb } from "./cdb-reader.js";
import { describeRuleKey, expandIpv6, ipv4CidrKey, ipv6CidrKey, parseIpv4, parseIpv6 } from "./ip-rule-keys.js";

export interface Connection {
  /** The client's IP (TCPREMOTEIP); a v4-mapped IPv6 address is taken as its IPv4 address. */
  readonly ip: string;
  /** The client's host name (TCPREMOTEHOST), when known. */
  readonly host?: string | undefined;
  /** The ident user (TCPREMOTEINFO), when known. */
  readonly info?: string | undefined;
}

export interface RuleMatch {
  readonly allow: boolean;
  /** Variables the rule sets, in rule order (a later one overrides an earlier one of the same name). */
  readonly env: ReadonlyArray<readonly [name: string, value: string]>;
  /** The key of the rule that matched, shown as tcprulescheck shows it; undefined = no rule (allow). */
  readonly rule: string | undefined;
}

export function matchRules(cdb: Cdb, connection: Connection): RuleMatch {
  for (const key of ruleKeys(connection)) {
    const data = cdb.get(key);
    if (data !== undefined) return { ...ruleData(data), rule: describeRuleKey(key) };
  }
  return { allow: true, env: [], rule: undefined };
}

function* ruleKeys({ ip: rawIp, host, info }: Connection): Generator<Buffer> {
  const key = (text: string) => Buffer.from(text, "utf8");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(rawIp);
  const ip = mapped === null ? rawIp : mapped[1]!;
  const v4 = parseIpv4(ip);
  const v6 = v4 === undefined ? parseIpv6(ip) : undefined;
  // tcpserver looks up whatever text it has for the IP; IPv6 in the expanded form.
  const ipKey = v6 === undefined ? ip : expandIpv6(v6);
  if (info !== undefined) {
    yield key(`${info}@${ipKey}`);
    if (host !== undefined) yield key(`${info}@=${host}`);
  }
  yield key(ipKey);
  if (host !== undefined) yield key(`=${host}`);
  if (!ip.includes(":")) {
    for (let end = ip.length; end > 0; end--) if (ip[end - 1] === ".") yield key(ip.slice(0, end));
  }
  if (v4 !== undefined) for (let bits = 32; bits >= 1; bits--) yield ipv4CidrKey(v4, bits);
  if (v6 !== undefined) for (let bits = 128; bits >= 1; bits--) yield ipv6CidrKey(v6, bits);
  if (host !== undefined) {
    for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) yield key(`=${host.slice(dot)}`);
    yield key("=");
  }
  yield key("");
}

function ruleData(data: Buffer): Omit<RuleMatch, "rule"> {
  const env: Array<[string, string]> = [];
  for (const item of data.toString("utf8").split("\0")) {
    // tcpserver stops at a deny and ignores items it does not know.
    if (item.startsWith("D")) return { allow: false, env };
    if (item.startsWith("+")) {
      const equals = item.indexOf("=");
      if (equals !== -1) env.push([item.slice(1, equals), item.slice(equals + 1)]);
    }
  }
  return { allow: true, env };
}
