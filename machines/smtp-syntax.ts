// The SMTP command syntax the smtp-session machine speaks: splitting a command line into verb and
// argument, qmail's address parser (addrparse) and the AUTH blobs. Pure text functions: no I/O,
// so the relay decision they feed can be tested against every trick in security.md §1.4.

/** qmail-smtpd refuses an address longer than this (bytes) as a syntax error. */
export const MAX_ADDRESS_BYTES = 900;

export interface Command {
  /** Upper-cased verb: the text before the first space. */
  readonly verb: string;
  /** The rest, leading spaces removed. */
  readonly argument: string;
}

/** The upper-cased verb alone, without building the argument. */
export function commandVerb(line: string): string {
  const space = line.indexOf(" ");
  return (space === -1 ? line : line.slice(0, space)).toUpperCase();
}

export function parseCommand(line: string): Command {
  const space = line.indexOf(" ");
  return { verb: commandVerb(line), argument: space === -1 ? "" : line.slice(space + 1).replace(/^ +/, "") };
}

/**
 * A command line as the service hands it to a session: `response` holds what may be a credential
 * (AUTH's initial response, or a whole line of an AUTH exchange) apart from `text`. The inspection
 * stream redacts every value under a key named like `response`, so a secret kept there never
 * reaches a viewer, a recording or a log of actor events.
 */
export interface SplitLine {
  readonly text: string;
  readonly response?: string;
}

/** A command line: an AUTH line's initial response goes to `response`. */
export function splitCommandLine(line: string): SplitLine {
  const { verb, argument } = parseCommand(line);
  const space = argument.indexOf(" ");
  if (verb !== "AUTH" || space === -1) return { text: line };
  return { text: `AUTH ${argument.slice(0, space)}`, response: argument.slice(space + 1) };
}

/** A line of an AUTH exchange: all of it is the client's response. */
export const responseLine = (line: string): SplitLine => ({ text: "", response: line });

export interface ParsedAddress {
  readonly address: string;
  /** ESMTP parameters after the closing `>`, upper-cased names: SIZE, BODY, SMTPUTF8 … */
  readonly parameters: ReadonlyMap<string, string>;
}

/**
 * qmail's addrparse: the address is the text inside `<…>` (or, when `<` is missing and `bare` is
 * allowed, the text after `:` up to a space); a source route `@a,@b:` is dropped (RFC 5321 App. C:
 * the final address is the one that counts); quotes and backslashes are removed, so the relay
 * check sees the domain after the LAST `@` — the one qmail-send will route on. undefined = 555.
 */
export function parseAddress(argument: string, bare: boolean): ParsedAddress | undefined {
  const open = argument.indexOf("<");
  let rest: string;
  let terminator: string;
  if (open !== -1) {
    rest = argument.slice(open + 1);
    terminator = ">";
  } else {
    if (!bare) return undefined;
    const colon = argument.indexOf(":");
    rest = argument.slice(colon + 1).replace(/^ +/, "");
    terminator = " ";
  }
  if (rest.startsWith("@")) {
    const colon = rest.indexOf(":");
    rest = colon === -1 ? "" : rest.slice(colon + 1);
  }
  let address = "";
  let quoted = false;
  let escaped = false;
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i]!;
    if (escaped) {
      escaped = false;
      address += ch;
      continue;
    }
    if (ch === terminator && !quoted) {
      end = i + 1;
      break;
    }
    if (ch === "\\") escaped = true;
    else if (ch === '"') quoted = !quoted;
    else address += ch;
  }
  // A CR or NUL left in a command line would end up in the envelope and, from there, in headers.
  if (/[\r\n\0]/.test(address) || new TextEncoder().encode(address).length > MAX_ADDRESS_BYTES) return undefined;
  return { address, parameters: esmtpParameters(rest.slice(end)) };
}

function esmtpParameters(text: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const word of text.split(" ")) {
    if (word === "") continue;
    const equals = word.indexOf("=");
    parameters.set((equals === -1 ? word : word.slice(0, equals)).toUpperCase(), equals === -1 ? "" : word.slice(equals + 1));
  }
  return parameters;
}

/** The domain the relay check looks at: after the last `@`; undefined for an address without one. */
export function addressDomain(address: string): string | undefined {
  const at = address.lastIndexOf("@");
  return at === -1 ? undefined : address.slice(at + 1);
}

/** Base64 text to UTF-8; undefined when it is not base64 (RFC 4954: `501 malformed auth input`). */
export function decodeBase64(text: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function encodeBase64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/**
 * AUTH PLAIN's `authzid NUL authcid NUL password` (RFC 4616). An authzid other than the authcid
 * would let one user act as another (maddy CVE-2023-27582), so it must be empty or equal. A NUL,
 * CR or LF inside a field would cut or extend a checkpassword record: malformed.
 */
export function plainCredentials(blob: string): Credentials | "malformed" | "mismatch" {
  const fields = blob.split("\0");
  if (fields.length !== 3) return "malformed";
  const [authzid, user, password] = fields as [string, string, string];
  if (user === "" || /[\r\n]/.test(blob)) return "malformed";
  if (authzid !== "" && authzid !== user) return "mismatch";
  return { user, password };
}
