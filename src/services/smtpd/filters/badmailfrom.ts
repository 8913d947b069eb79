// control/badmailfrom with every s/qmail form (qmail-behaviour.md §5b). Entries are tried in file
// order and the first that matches decides:
//   ?addr  ?@dom   accept, and skip every other sender check (MFDNSCHECK too)
//   @dom+          reject, unless the client may relay (RELAYCLIENT or AUTH)
//   @dom-          reject when the client has no host name (TCPREMOTEHOST unset or `unknown`)
//   @dom=          reject when the client's host name does not end in dom (anti-spoofing)
//   ~host ~.suffix reject when the client's host is that host, or inside that suffix, and is
//                  not itself in the sender's domain (dial-up pools sending as anyone)
//   addr   @dom    reject
//   pattern !pat   reject on a (negated) wildmat match, or regular expression with QREGEX
// The sender is compared lowercased; the null sender is never listed.

import { asciiLower } from "../../../config/constmap.js";
import { addressMatcher, domainOf, type Matcher, type PatternEngine } from "./list-patterns.js";

export interface SenderFacts {
  readonly sender: string;
  /** RELAYCLIENT is set or the client has authenticated. */
  readonly relay: boolean;
  /** TCPREMOTEHOST, lowercased by the listener; undefined when unknown. */
  readonly remoteHost: string | undefined;
}

export type ListVerdict = "exempt" | "reject" | "pass";

type Rule = (facts: SenderFacts) => ListVerdict | undefined;

const knownHost = (host: string | undefined): host is string => host !== undefined && host !== "" && host !== "unknown";

/** Whether `host` is `name`, or lies under `name` when it starts with a dot. */
function hostIn(host: string, name: string): boolean {
  return name.startsWith(".") ? host.endsWith(name) : host === name;
}

function rule(entry: string, engine: PatternEngine): Rule {
  const domainForm = /^@([^@]+)([+=-])$/.exec(entry);
  if (entry.startsWith("?")) {
    const matches = addressMatcher(entry.slice(1), engine);
    return ({ sender }) => (matches(sender) ? "exempt" : undefined);
  }
  if (entry.startsWith("~")) {
    const listed = asciiLower(entry.slice(1));
    return ({ sender, remoteHost }) => {
      if (!knownHost(remoteHost) || !hostIn(remoteHost, listed)) return undefined;
      const domain = domainOf(sender);
      return remoteHost === domain || remoteHost.endsWith(`.${domain}`) ? undefined : "reject";
    };
  }
  if (domainForm !== null) {
    const domain = asciiLower(domainForm[1]!);
    const form = domainForm[2];
    return ({ sender, relay, remoteHost }) => {
      if (domainOf(sender) !== domain) return undefined;
      if (form === "+") return relay ? undefined : "reject";
      if (form === "-") return knownHost(remoteHost) ? undefined : "reject";
      return knownHost(remoteHost) && (remoteHost === domain || remoteHost.endsWith(`.${domain}`)) ? undefined : "reject";
    };
  }
  const matches: Matcher = addressMatcher(entry, engine);
  return ({ sender }) => (matches(sender) ? "reject" : undefined);
}

/** Compiles the list; throws on an invalid regular expression (the caller names the file). */
export function compileBadMailFrom(entries: readonly string[], engine: PatternEngine): (facts: SenderFacts) => ListVerdict {
  const rules = entries.map((entry) => rule(entry, engine));
  return (facts) => {
    if (facts.sender === "") return "pass";
    const lowered = { ...facts, sender: asciiLower(facts.sender) };
    for (const check of rules) {
      const verdict = check(lowered);
      if (verdict !== undefined) return verdict;
    }
    return "pass";
  };
}
