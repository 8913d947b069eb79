// tcprules compiler: turns ucspi-tcp's rules text into the records of a rules cdb, as tcprules
// (and ucspi-tcp6's tcprules for IPv6) would. A line is `address:allow|deny[,VAR=<q>value<q>]…`
// where <q> is any character used as the quote; the data is `D\0` for deny, then `+VAR=value\0`
// per variable. Address forms: IPv4 `1.2.3.4` or prefix `1.2.3.`, a range in one octet
// `1.2.3.40-50`, IPv4/IPv6 CIDR `10.0.0.0/8` `2001:db8::/32`, an IPv6 address, `=host`,
// `=.suffix`, `=`, `info@ip`, `info@=host`, and the empty default rule.
// Differences from tcprules, all to refuse lines that would silently do nothing: a line
// without a colon, an address no lookup can ever produce (`1.2.3.04`, `a.b.c.d`, `info@1.2.3.`),
// an empty or out-of-range range bound and an empty variable name are errors naming the line.
// The address ends at the first colon followed by `allow` or `deny`, so IPv6 addresses and
// colons inside values both work.

import { ConfigError } from "./config-error.js";
import { configLines } from "./config-lines.js";
import type { CdbRecord } from "./cdb-writer.js";
import { expandIpv6, ipv4CidrKey, ipv6CidrKey, parseIpv4, parseIpv6 } from "./ip-rule-keys.js";

export function compileRules(bytes: Uint8Array, file: string): CdbRecord[] {
  const records: CdbRecord[] = [];
  for (const { n, text } of configLines(bytes, file)) {
    if (text === "" || text.startsWith("#")) continue;
    const fail = (reason: string): never => {
      throw new ConfigError(file, n, reason);
    };
    const split = /:(allow|deny)/.exec(text);
    if (split === null) fail(`expected ADDRESS:allow or ADDRESS:deny: ${JSON.stringify(text)}`);
    const address = text.slice(0, split!.index);
    const data = ruleData(split![1] === "deny", text.slice(split!.index + split![0].length), fail);
    for (const key of addressKeys(address, fail)) records.push([key, data]);
  }
  return records;
}

function ruleData(deny: boolean, rest: string, fail: (reason: string) => never): Buffer {
  const parts: string[] = deny ? ["D\0"] : [];
  let at = 0;
  while (at < rest.length) {
    if (rest[at] !== ",") fail(`expected "," before ${JSON.stringify(rest.slice(at))}`);
    const equals = rest.indexOf("=", at);
    if (equals === -1) fail(`expected VAR="value" in ${JSON.stringify(rest.slice(at))}`);
    const name = rest.slice(at + 1, equals);
    if (name === "") fail("empty variable name");
    const quote = rest[equals + 1];
    if (quote === undefined) fail(`missing quoted value for ${name}`);
    const close = rest.indexOf(quote!, equals + 2);
    if (close === -1) fail(`unterminated value for ${name}: no closing ${quote}`);
    parts.push(`+${name}=${rest.slice(equals + 2, close)}\0`);
    at = close + 1;
  }
  return Buffer.from(parts.join(""), "utf8");
}

function addressKeys(address: string, fail: (reason: string) => never): Buffer[] {
  const literal = (key: string) => [Buffer.from(key, "utf8")];
  if (address === "" || address.startsWith("=")) return literal(address);
  const at = address.indexOf("@");
  if (at !== -1) {
    const ip = address.slice(at + 1);
    if (ip.startsWith("=")) return literal(address);
    return [Buffer.from(`${address.slice(0, at)}@${exactIp(ip) ?? fail(`not an IP address after @: ${JSON.stringify(ip)}`)}`, "utf8")];
  }
  const slash = address.indexOf("/");
  if (slash !== -1) return [cidrKey(address.slice(0, slash), address.slice(slash + 1), fail)];
  if (address.includes(":")) return literal(exactIp(address) ?? fail(`not an IPv6 address: ${JSON.stringify(address)}`));
  if (address.includes("-")) return rangeKeys(address, fail);
  if (!isIpv4Rule(address)) fail(`not an IPv4 address or prefix: ${JSON.stringify(address)}`);
  return literal(address);
}

/** The key an exact address has in the cdb: IPv4 as written, IPv6 expanded. */
function exactIp(ip: string): string | undefined {
  if (parseIpv4(ip) !== undefined) return ip;
  const v6 = parseIpv6(ip);
  return v6 === undefined ? undefined : expandIpv6(v6);
}

/** `1.2.3.4` or a prefix of whole octets ending in `.` (`1.2.3.`, `10.`). */
function isIpv4Rule(address: string): boolean {
  if (!address.endsWith(".")) return parseIpv4(address) !== undefined;
  const octets = address.slice(0, -1).split(".");
  return octets.length <= 3 && parseIpv4([...octets, ...new Array<string>(4 - octets.length).fill("0")].join(".")) !== undefined;
}

function rangeKeys(address: string, fail: (reason: string) => never): Buffer[] {
  const dash = address.indexOf("-");
  const left = address.lastIndexOf(".", dash) + 1;
  let right = address.indexOf(".", dash);
  if (right === -1) right = address.length;
  const low = address.slice(left, dash);
  const high = address.slice(dash + 1, right);
  const bound = (text: string) =>
    /^(0|[1-9][0-9]{0,2})$/.test(text) && Number(text) <= 255 ? Number(text) : fail(`bad range bound ${JSON.stringify(text)} in ${address}`);
  const from = bound(low);
  const to = bound(high);
  if (from > to) fail(`empty range ${low}-${high} in ${address}`);
  const keys: Buffer[] = [];
  for (let value = from; value <= to; value++) {
    const key = `${address.slice(0, left)}${value}${address.slice(right)}`;
    if (!isIpv4Rule(key)) fail(`not an IPv4 address or prefix: ${JSON.stringify(address)}`);
    keys.push(Buffer.from(key, "utf8"));
  }
  return keys;
}

function cidrKey(ip: string, bitsText: string, fail: (reason: string) => never): Buffer {
  const bits = /^[0-9]{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  const v4 = parseIpv4(ip);
  if (v4 !== undefined) {
    if (!(bits >= 1 && bits <= 32)) fail(`invalid IPv4 prefix length /${bitsText}`);
    return ipv4CidrKey(v4, bits);
  }
  const v6 = parseIpv6(ip);
  if (v6 === undefined) fail(`not an IP address before /: ${JSON.stringify(ip)}`);
  if (!(bits >= 1 && bits <= 128)) fail(`invalid IPv6 prefix length /${bitsText}`);
  return ipv6CidrKey(v6!, bits);
}
