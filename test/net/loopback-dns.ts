// A DNS server on loopback for the listener and remote-delivery tests (no DNS server is installed
// here). It answers from a table — NXDOMAIN for names not in it: a string is the name's PTR
// record; a list holds its MX and A records, and a question for a type the list lacks gets an
// empty answer (NODATA); SERVFAIL for a name marked "servfail". When silent, it reads every
// query and never answers, as an unreachable or overloaded server would. It counts queries, so
// a test can tell a lookup was made. Packet layout: RFC 1035 §4.

import { createSocket } from "node:dgram";

export interface LoopbackDns {
  /** `127.0.0.1:port`, for DNSSERVERS. */
  readonly server: string;
  readonly queries: () => number;
  close(): Promise<void>;
}

export type LoopbackRecord = { readonly mx: string; readonly preference: number } | { readonly a: string };

export async function startLoopbackDns(
  answers: Readonly<Record<string, string | readonly LoopbackRecord[] | "servfail">> | "silent",
): Promise<LoopbackDns> {
  const socket = createSocket("udp4");
  let queries = 0;
  socket.on("message", (query, peer) => {
    queries += 1;
    if (answers === "silent") return;
    const { name, end } = readName(query, 12);
    const entry = answers[name.toLowerCase()];
    const qtype = query.readUInt16BE(end);
    const records = entry === undefined || entry === "servfail" ? [] : answerRecords(entry, qtype);
    const question = query.subarray(12, end + 4);
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(entry === undefined ? 0x8183 : entry === "servfail" ? 0x8182 : 0x8180, 2); // response, RD, RA; NXDOMAIN, SERVFAIL or no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const parts: Buffer[] = [header, question];
    for (const { type, rdata } of records) {
      const record = Buffer.alloc(12);
      record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      record.writeUInt16BE(type, 2);
      record.writeUInt16BE(1, 4); // IN
      record.writeUInt32BE(60, 6);
      record.writeUInt16BE(rdata.length, 10);
      parts.push(record, rdata);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries: () => queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

const PTR = 12;
const MX = 15;
const A = 1;

function answerRecords(entry: string | readonly LoopbackRecord[], qtype: number): { type: number; rdata: Buffer }[] {
  if (typeof entry === "string") return qtype === PTR ? [{ type: PTR, rdata: encodeName(entry) }] : [];
  return entry.flatMap((record) => {
    if ("mx" in record && qtype === MX) {
      const preference = Buffer.alloc(2);
      preference.writeUInt16BE(record.preference);
      return [{ type: MX, rdata: Buffer.concat([preference, encodeName(record.mx)]) }];
    }
    if ("a" in record && qtype === A) return [{ type: A, rdata: Buffer.from(record.a.split(".").map(Number)) }];
    return [];
  });
}

function readName(packet: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = start;
  while (packet[at]! > 0) {
    const length = packet[at]!;
    labels.push(packet.toString("latin1", at + 1, at + 1 + length));
    at += 1 + length;
  }
  return { name: labels.join("."), end: at + 1 };
}

function encodeName(name: string): Buffer {
  const parts = name.split(".").map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, "latin1")]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}
