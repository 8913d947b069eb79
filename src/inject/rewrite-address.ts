// qmail-inject's address rewriting (its rwgeneric), applied to every address in the fields it
// rewrites, to recipients on the command line and to -f:
//   <@route,@route:user@host>  → the route is dropped
//   user@host. / user@        → the stray final dot or @ is dropped
//   user                      → user@defaulthost
//   user@host+                → user@host.plusdomain
//   user@host                 → user@host.defaultdomain (a host without a dot, not a [literal])
// <> and <x@[]> are left alone. Pure: works on tokens (token822.ts).

import { InjectError } from "./inject-error.js";
import { tokenize, type Token } from "./token822.js";

/** The host parts as tokens, each with its leading `@` or `.`. */
export interface RewriteHosts {
  readonly defaultHost: readonly Token[];
  readonly defaultDomain: readonly Token[];
  readonly plusDomain: readonly Token[];
}

/** `@defaulthost`, `.defaultdomain`, `.plusdomain` as tokens; an InjectError names a value that does not parse. */
export function rewriteHosts(defaultHost: string, defaultDomain: string, plusDomain: string): RewriteHosts {
  const parsed = (text: string): Token[] => {
    const tokens = tokenize(text);
    if (tokens === null) throw new InjectError(`unable to parse this line:\n${text}`, 100);
    return tokens;
  };
  return { defaultHost: parsed(`@${defaultHost}`), defaultDomain: parsed(`.${defaultDomain}`), plusDomain: parsed(`.${plusDomain}`) };
}

export function rewriteAddress(input: readonly Token[], hosts: RewriteHosts): Token[] {
  let address = [...input];
  if (address.length === 0) return address;
  const last = address.at(-1)!;
  if (last.type === "literal" && last.text === "" && address.at(-2)?.type === "at") return address;

  if (address[0]!.type === "at") {
    const colon = address.findIndex((t) => t.type === "colon");
    address = colon === -1 ? [] : address.slice(colon + 1);
  }
  if (address.at(-1)?.type === "dot") address.pop();
  if (address.at(-1)?.type === "at") address.pop();
  if (address.length === 0) return address;

  if (!address.some((t) => t.type === "at")) address.push(...hosts.defaultHost);

  const end = address.at(-1)!;
  if (end.type === "atom" && end.text.endsWith("+")) {
    address[address.length - 1] = { type: "atom", text: end.text.slice(0, -1) };
    address.push(...hosts.plusDomain);
  }

  let at = address.length - 1;
  while (at >= 0 && address[at]!.type !== "at") at -= 1;
  const host = address.slice(at + 1);
  if (!host.some((t) => t.type === "dot" || t.type === "literal")) address.push(...hosts.defaultDomain);
  return address;
}
