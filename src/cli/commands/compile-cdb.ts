// The shape shared by tcprules, newu and newmrh: compile a text file into cdb records and
// replace the cdb atomically. A ConfigError (a bad line) is reported as
// `tsqmail NAME: fatal: FILE:LINE: reason` with exit 100, and the old cdb stays in force;
// I/O errors propagate (main reports them, exit 111).

import type { CliIo } from "../command.js";
import type { CdbRecord } from "../../config/cdb-writer.js";
import { writeCdbAtomic } from "../../config/cdb-writer.js";
import { ConfigError } from "../../config/config-error.js";

export async function compileToCdb(
  name: string,
  io: CliIo,
  source: () => Promise<Uint8Array>,
  compile: (bytes: Uint8Array) => CdbRecord[],
  target: string,
  tmp: string,
): Promise<number> {
  try {
    await writeCdbAtomic(target, tmp, compile(await source()));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`tsqmail ${name}: fatal: ${error.message}\n`);
    return 100;
  }
  return 0;
}
