// Log-text escaping as qmail-send applies it (qsutil.c logsafe) to every address and delivery
// report it logs: `\n` becomes `/`, so a multi-line report stays on one log line; `%`, bytes
// below 33 (space and controls) and above 126 become `_`, so a line cannot be forged or broken
// by what a remote server or a sender wrote. Reports are capped at qmail-send's REPORTMAX
// (10000 bytes) first, because rspawn's output is not trusted to be short. Pure.

/** qmail-send's REPORTMAX: the longest delivery report it keeps, in bytes. */
export const REPORT_MAX = 10000;

const NEWLINE = 0x0a;
const SLASH = 0x2f;
const UNDERSCORE = 0x5f;
const PERCENT = 0x25;

const utf8 = new TextEncoder();

/** The escaped text, at most REPORT_MAX bytes of the input; strings are taken as UTF-8. */
export function escapeLogText(text: string | Uint8Array): string {
  const bytes = typeof text === "string" ? utf8.encode(text) : text;
  const kept = bytes.subarray(0, REPORT_MAX);
  const out = Buffer.allocUnsafe(kept.length);
  for (let i = 0; i < kept.length; i += 1) {
    const byte = kept[i] as number;
    if (byte === NEWLINE) out[i] = SLASH;
    else out[i] = byte < 33 || byte > 126 || byte === PERCENT ? UNDERSCORE : byte;
  }
  return out.toString("latin1");
}
