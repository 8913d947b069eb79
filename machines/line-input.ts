// The input side shared by the line-based session machines (smtp-session, pop3-session): what
// one read of the client stream gives, and the event that answers a machine's request for a line.
// Its own module so that a POP3 or QMTP worker, whose client stream delivers these, does not load
// the SMTP machine as well. Pure: imports only types.

import type { SplitLine } from "./smtp-syntax.js";

/** A line from the client, or why there is none. */
export type ReadResult =
  | ({ readonly kind: "line" } & SplitLine)
  | { readonly kind: "overlong" }
  | { readonly kind: "timeout" }
  | { readonly kind: "closed" };

/** The answer to one `requestLine`: the line (split as the request asked), or why there is none. */
export type InputEvent =
  | ({ readonly type: "LINE" } & SplitLine)
  | { readonly type: "OVERLONG" }
  | { readonly type: "TIMEOUT" }
  | { readonly type: "CLOSED" };

// Shared, as the machine never changes an event: a read that has no line allocates nothing.
const NO_LINE = {
  overlong: { type: "OVERLONG" },
  timeout: { type: "TIMEOUT" },
  closed: { type: "CLOSED" },
} as const satisfies Record<Exclude<ReadResult["kind"], "line">, InputEvent>;

/** The event that answers a request with `result`. */
export function inputEvent(result: ReadResult): InputEvent {
  return result.kind === "line" ? { type: "LINE", text: result.text, ...(result.response === undefined ? {} : { response: result.response }) } : NO_LINE[result.kind];
}
