// `tsqmail tcprules rules.cdb rules.tmp < rules`: ucspi-tcp's tcprules. Compiles the rules text
// on stdin into a rules cdb: writes rules.tmp, fsyncs it and renames it to rules.cdb, so a
// listener never sees a half-written file. A bad line: the error names it, exit 100, and
// rules.cdb is left as it was.

import type { Command } from "../command.js";
import { UsageError } from "../command.js";
import { compileRules } from "../../config/tcprules-compile.js";
import { compileToCdb } from "./compile-cdb.js";

export const tcprules: Command = {
  name: "tcprules",
  summary: "compile connection rules from stdin into a cdb (ucspi-tcp tcprules)",
  usage: "tsqmail tcprules rules.cdb rules.tmp < rules",
  async run(args, io) {
    const [cdbPath, tmpPath, ...extra] = args;
    if (cdbPath === undefined || tmpPath === undefined || extra.length > 0) throw new UsageError("expected rules.cdb and rules.tmp");
    const source = async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks);
    };
    return compileToCdb("tcprules", io, source, (bytes) => compileRules(bytes, "stdin"), cdbPath, tmpPath);
  },
};
