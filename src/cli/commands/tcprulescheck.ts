// `tsqmail tcprulescheck rules.cdb`: ucspi-tcp's tcprulescheck. Says what a listener will do
// with a connection from $TCPREMOTEIP (default 0.0.0.0), $TCPREMOTEHOST and $TCPREMOTEINFO,
// in tcprulescheck's words: `rule KEY:` (or `default:`), the variables it sets, then
// `allow connection` or `deny connection`.

import type { Command } from "../command.js";
import { UsageError } from "../command.js";
import { readCdb } from "../../config/cdb-reader.js";
import { matchRules } from "../../config/tcprules-lookup.js";

export const tcprulescheck: Command = {
  name: "tcprulescheck",
  summary: "show which connection rule applies to $TCPREMOTEIP/$TCPREMOTEHOST/$TCPREMOTEINFO",
  usage: "tsqmail tcprulescheck rules.cdb",
  async run(args, io) {
    const [cdbPath, ...extra] = args;
    if (cdbPath === undefined || extra.length > 0) throw new UsageError("expected rules.cdb");
    let cdb;
    try {
      cdb = await readCdb(cdbPath);
    } catch (error) {
      io.stderr.write(`tsqmail tcprulescheck: fatal: unable to read ${cdbPath}: ${(error as Error).message}\n`);
      return 111;
    }
    const match = matchRules(cdb, { ip: io.env.TCPREMOTEIP ?? "0.0.0.0", host: io.env.TCPREMOTEHOST, info: io.env.TCPREMOTEINFO });
    const lines = [match.rule === undefined ? "default:" : `rule ${match.rule}:`];
    if (match.allow) for (const [name, value] of match.env) lines.push(`set environment variable ${name}=${value}`);
    lines.push(match.allow ? "allow connection" : "deny connection");
    io.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
};
