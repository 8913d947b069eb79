// `tsqmail tcpto`: qmail-tcpto. Prints the remote hosts rspawn has seen time out, from
// QUEUE/lock/tcpto (the format and its rules: src/services/rspawn/tcpto.ts, which writes it),
// one line per record with a count:
//   <a.b.c.d> timed out <age> seconds ago; # recent timeouts: <count>
// qmail-tcpto flocks the file while reading it; Node cannot flock, and one read(2) of 1024 bytes
// sees each 16-byte record either before or after a writer's update. An age below zero (the
// clock went back) prints as 0 where qmail would print a huge unsigned number. Exit 0; 111 when
// the file cannot be read.

import type { Command } from "../command.js";
import { siteFs } from "../../io/fs.js";
import { TCPTO_SIZE, queueLayout } from "../../queue/queue-layout.js";
import { rootPaths } from "../../root/paths.js";
import { tcptoRecords } from "../../services/rspawn/tcpto.js";
import { parseConfigArgs } from "./config-args.js";

export const tcpto: Command = {
  name: "tcpto",
  summary: "show the hosts that recently timed out (qmail-tcpto)",
  usage: "tsqmail tcpto [--root DIR]",
  async run(args, io) {
    const file = queueLayout(rootPaths(parseConfigArgs(args, io.env, {}, 0).root).queue).tcpto;
    let table: Buffer;
    try {
      table = (await siteFs("qread").readFile(file)).subarray(0, TCPTO_SIZE);
    } catch (error) {
      io.stderr.write(`tsqmail tcpto: fatal: unable to read tcpto: ${(error as Error).message}\n`);
      return 111;
    }
    io.stdout.write(formatTcpto(table, Math.floor(Date.now() / 1000)));
    return 0;
  },
};

/** The lines for a tcpto table at `nowSeconds`; records with a count of 0 are free slots. */
export function formatTcpto(table: Buffer, nowSeconds: number): string {
  let out = "";
  // qmail tests the count as a signed char: 128–255 never print.
  for (const { address, count, last } of tcptoRecords(table)) {
    if (count < 1) continue;
    out += `${address} timed out ${Math.max(0, nowSeconds - last)} seconds ago; # recent timeouts: ${count}\n`;
  }
  return out;
}
