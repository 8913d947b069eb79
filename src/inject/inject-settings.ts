// Who qmail-inject says the mail is from, and how it completes addresses: the control files
// defaulthost, defaultdomain, plusdomain and idhost (each falling back to control/me, as in
// qmail), each overridden by its QMAIL* variable, and the user's identity from QMAILUSER,
// MAILUSER, USER, LOGNAME; QMAILHOST, MAILHOST; QMAILSUSER, QMAILSHOST (the envelope sender's
// own user and host); QMAILNAME, MAILNAME, NAME; and the QMAILINJECT option letters.
// Reads: ROOT/control through loadControl's reader; a malformed file among these four (or me)
// is an error naming file and line. Environment values are taken as UTF-8 and handled as bytes.

import { readControl } from "../config/load-control.js";
import { controlSpec } from "../config/control-registry.js";
import type { InjectIdentity } from "./inject-header.js";
import { rewriteHosts } from "./rewrite-address.js";

/** An environment value as the latin1 string of its UTF-8 bytes, the form headers are handled in. */
const bytes = (value: string | undefined): string | undefined => (value === undefined ? undefined : Buffer.from(value, "utf8").toString("latin1"));

const first = (env: NodeJS.ProcessEnv, ...names: string[]): string | undefined => {
  for (const name of names) if (env[name] !== undefined) return bytes(env[name]);
  return undefined;
};

export async function readInjectIdentity(root: string, env: NodeJS.ProcessEnv): Promise<InjectIdentity> {
  const control = await readControl(root);
  for (const [name, error] of control.errors) if (controlSpec(name).services.includes("inject")) throw error;
  const value = (variable: string, file: "defaulthost" | "defaultdomain" | "plusdomain" | "idhost"): string =>
    first(env, variable) ?? control.values[file] ?? file;

  const letters = env.QMAILINJECT ?? "";
  const user = first(env, "QMAILUSER", "MAILUSER", "USER", "LOGNAME") ?? "anonymous";
  const host = first(env, "QMAILHOST", "MAILHOST");
  return {
    hosts: rewriteHosts(value("QMAILDEFAULTHOST", "defaulthost"), value("QMAILDEFAULTDOMAIN", "defaultdomain"), value("QMAILPLUSDOMAIN", "plusdomain")),
    idHost: value("QMAILIDHOST", "idhost"),
    user,
    host,
    returnUser: first(env, "QMAILSUSER") ?? user,
    returnHost: first(env, "QMAILSHOST") ?? host,
    fullName: first(env, "QMAILNAME", "MAILNAME", "NAME"),
    options: {
      nameComment: letters.includes("c"),
      deleteReturnPath: letters.includes("s"),
      deleteFrom: letters.includes("f"),
      deleteMessageId: letters.includes("i"),
      verp: letters.includes("r"),
      uniqueSender: letters.includes("m"),
    },
  };
}
