// Cuts a message read from a stream into its header fields and the rest, the way qmail's
// headerbody.c does for qmail-inject: a field runs on over lines starting with a space or tab; a
// `From ` line (an mbox separator) becomes the field `MBOX-Line: From …`; the header ends at an empty line or
// at the first line that is not a header field, in which case an empty line is put before that
// line so the body stays a body. A last line without its newline gets one. Only the header is
// held in memory; the body is passed on as it is read. Text is latin1 (one character per byte).

import { fieldName } from "./header-fields.js";

export interface SplitMessage {
  /** Each field with its continuation lines, every line ending in "\n". */
  readonly fields: readonly string[];
  /** The empty line and the body, or nothing when the input ended inside the header. */
  readonly body: AsyncIterable<Uint8Array>;
}

const LF = 0x0a;

export async function splitHeader(input: AsyncIterable<Uint8Array>): Promise<SplitMessage> {
  const source = input[Symbol.asyncIterator]();
  let pending = Buffer.alloc(0);
  let ended = false;

  const nextLine = async (): Promise<string | null> => {
    for (;;) {
      const lf = pending.indexOf(LF);
      if (lf !== -1) {
        const line = pending.subarray(0, lf + 1).toString("latin1");
        pending = pending.subarray(lf + 1);
        return line;
      }
      const next = ended ? { done: true as const, value: undefined } : await source.next();
      if (next.done === true) {
        ended = true;
        if (pending.length === 0) return null;
        const line = `${pending.toString("latin1")}\n`;
        pending = Buffer.alloc(0);
        return line;
      }
      pending = Buffer.concat([pending, next.value]);
    }
  };

  const fields: string[] = [];
  let field: string | undefined;
  for (;;) {
    const line = await nextLine();
    if (line === null) {
      if (field !== undefined) fields.push(field);
      return { fields, body: (async function* () {})() };
    }
    if (field !== undefined) {
      if (line.startsWith(" ") || line.startsWith("\t")) {
        field += line;
        continue;
      }
      fields.push(field);
      field = undefined;
    }
    if (line === "\n") return { fields, body: bodyOf("\n", pending, ended ? undefined : source) };
    if (line.startsWith("From ")) field = `MBOX-Line: ${line}`;
    else if (fieldName(line) !== undefined) field = line;
    else return { fields, body: bodyOf(`\n${line}`, pending, ended ? undefined : source) };
  }
}

/** The body: what was already read, then the rest of the input, ending in a newline. */
async function* bodyOf(start: string, pending: Buffer, rest: AsyncIterator<Uint8Array> | undefined): AsyncGenerator<Uint8Array> {
  let last = LF;
  const first = Buffer.concat([Buffer.from(start, "latin1"), pending]);
  yield first;
  last = first.at(-1) ?? last;
  if (rest !== undefined) {
    for (let next = await rest.next(); next.done !== true; next = await rest.next()) {
      if (next.value.length === 0) continue;
      yield next.value;
      last = next.value[next.value.length - 1]!;
    }
  }
  if (last !== LF) yield Buffer.from("\n");
}
