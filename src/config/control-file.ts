// Parsers for the four text kinds of control file, following qmail's control.c: a line file
// yields its first line; a list file skips blank lines and `#` comments; an integer file is a
// line holding a decimal number; a map file is a list whose lines split at the first colon
// into a constmap. Where qmail silently ignores or misreads a line, we raise a ConfigError
// naming the file and line instead (see docs/configuration.md, "Bad input").

import { ConfigError } from "./config-error.js";
import type { ConfigLine } from "./config-lines.js";
import { ConstMap } from "./constmap.js";

/** The first line; a line file with more than one line, or an empty first line, is an error. */
export function parseLineFile(lines: readonly ConfigLine[], file: string): string {
  const [first, ...rest] = lines;
  if (first === undefined || first.text === "") throw new ConfigError(file, 1, "empty first line");
  const extra = rest.find((line) => line.text !== "");
  // qmail reads only the first line; text after it would be silently ignored.
  if (extra !== undefined) throw new ConfigError(file, extra.n, "only the first line of this file is read");
  return first.text;
}

export function parseIntegerFile(lines: readonly ConfigLine[], file: string): number {
  const text = parseLineFile(lines, file);
  const value = Number(text);
  if (!/^[0-9]+$/.test(text)) throw new ConfigError(file, 1, `not a number: ${JSON.stringify(text)}`);
  if (!Number.isSafeInteger(value)) throw new ConfigError(file, 1, `number too large: ${text}`);
  return value;
}

/** The entries of a list file, with their line numbers; `spaces` allows whitespace inside entries. */
export function listEntries(lines: readonly ConfigLine[], file: string, spaces = false): ConfigLine[] {
  const entries = lines.filter((line) => line.text !== "" && !line.text.startsWith("#"));
  if (spaces) return entries;
  for (const entry of entries) {
    // qmail keeps inner and leading whitespace as part of the entry, which then never matches.
    if (/\s/.test(entry.text)) throw new ConfigError(file, entry.n, `unexpected whitespace in ${JSON.stringify(entry.text)}`);
  }
  return entries;
}

export function parseListFile(lines: readonly ConfigLine[], file: string, spaces = false): string[] {
  return listEntries(lines, file, spaces).map((entry) => entry.text);
}

export function parseMapFile(lines: readonly ConfigLine[], file: string): ConstMap {
  return new ConstMap(
    listEntries(lines, file).map((entry): [string, string] => {
      const colon = entry.text.indexOf(":");
      if (colon === -1) throw new ConfigError(file, entry.n, `no colon in ${JSON.stringify(entry.text)}`);
      return [entry.text.slice(0, colon), entry.text.slice(colon + 1)];
    }),
  );
}
