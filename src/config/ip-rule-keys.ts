// The address key forms of ucspi-tcp and ucspi-tcp6 rules cdbs, shared by tcprules-compile
// (which writes them) and tcprules-lookup (which asks for them):
// - IPv4: dotted decimal as written, `1.2.3.4`, prefixes `1.2.3.`;
// - IPv6: fully expanded, upper-case hex, `2001:0DB8:0000:0000:0000:0000:0000:0001`;
// - CIDR, ucspi-tcp6's bit strings: `_` + one character per IPv4 prefix bit, `0` for a clear
//   bit and `abcdefghijklmnopqrstuvwxyz123456`[position] for a set one; `^` + one byte per IPv6
//   prefix bit, `0` for clear and, for the k-th set bit (k from 0), the byte 96 + k.
//   Both encodings make a prefix key differ from every longer prefix that extends it with zeros.

import { isIPv4, isIPv6 } from "node:net";

const IPV4_LETTERS = "abcdefghijklmnopqrstuvwxyz123456";

/** Octets of a canonical dotted-quad (no leading zeros), or undefined. */
export function parseIpv4(text: string): number[] | undefined {
  if (!isIPv4(text)) return undefined;
  const octets = text.split(".");
  if (octets.some((octet) => octet.length > 1 && octet.startsWith("0"))) return undefined;
  return octets.map(Number);
}

/** The 16 bytes of an IPv6 address (zone ids refused), or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (!isIPv6(text) || text.includes("%")) return undefined;
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const v4 = parseIpv4(text.slice(lastColon + 1));
  if (v4 !== undefined) {
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
  }
  const [left = "", right] = head.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const before = groups(left);
  const after = [...(right === undefined ? [] : groups(right)), ...tail];
  const missing = 8 - before.length - after.length;
  const words = right === undefined ? [...before, ...tail] : [...before, ...new Array<number>(missing).fill(0), ...after];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 255;
  });
  return bytes;
}

/** ucspi-tcp6's expanded form of an IPv6 address. */
export function expandIpv6(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString("hex").toUpperCase();
  return hex.match(/.{4}/g)!.join(":");
}

/** `_` + the first `bits` bits of an IPv4 address. */
export function ipv4CidrKey(octets: readonly number[], bits: number): Buffer {
  let key = "_";
  for (let i = 0; i < bits; i++) key += (octets[i >> 3]! >> (7 - (i & 7))) & 1 ? IPV4_LETTERS[i] : "0";
  return Buffer.from(key, "latin1");
}

/** `^` + the first `bits` bits of an IPv6 address. */
export function ipv6CidrKey(bytes: Uint8Array, bits: number): Buffer {
  const key = Buffer.alloc(bits + 1);
  key[0] = 0x5e;
  let ones = 0;
  for (let i = 0; i < bits; i++) key[i + 1] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1 ? 96 + ones++ : 0x30;
  return key;
}

/** A CIDR key shown as `address/bits`, for tcprulescheck; other keys unchanged. */
export function describeRuleKey(key: Buffer): string {
  const kind = key[0];
  if (kind !== 0x5f && kind !== 0x5e) return key.toString("utf8");
  const bits = key.length - 1;
  const bytes = new Uint8Array(kind === 0x5f ? 4 : 16);
  for (let i = 0; i < bits; i++) if (key[i + 1] !== 0x30) bytes[i >> 3]! |= 0x80 >> (i & 7);
  if (kind === 0x5f) return `${bytes.join(".")}/${bits}`;
  return `${compressIpv6(bytes)}/${bits}`;
}

function compressIpv6(bytes: Uint8Array): string {
  const words = expandIpv6(bytes)
    .split(":")
    .map((word) => parseInt(word, 16).toString(16));
  // Replace the longest run of two or more zero words with "::" (RFC 5952).
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at === -1) return words.join(":");
  return `${words.slice(0, best.at).join(":")}::${words.slice(best.at + best.length).join(":")}`;
}
