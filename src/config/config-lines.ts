// Splits a configuration file (control file, rules file, users/assign) into numbered lines.
// Each line is decoded as strict UTF-8, so a byte sequence we could not round-trip is an error
// naming its line rather than a silent replacement character; trailing spaces, tabs and CRs
// are removed (qmail strips spaces and tabs; we also strip the CR of a CRLF file, which qmail
// would keep and then silently fail to match).

import { ConfigError } from "./config-error.js";

export interface ConfigLine {
  /** 1-based line number in the file. */
  readonly n: number;
  readonly text: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function configLines(bytes: Uint8Array, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    const n = lines.length + 1;
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(start, end));
    } catch {
      throw new ConfigError(file, n, "not valid UTF-8");
    }
    if (text.includes("\0")) throw new ConfigError(file, n, "contains a NUL byte");
    lines.push({ n, text: text.replace(/[ \t\r]+$/, "") });
    start = end + 1;
  }
  return lines;
}
