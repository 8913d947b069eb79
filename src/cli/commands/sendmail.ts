// `tsqmail sendmail [-t] [-f sender] [-F name] [-i] [-o…] [-bp] [recipient …]`: qmail's sendmail
// wrapper, for programs that expect /usr/sbin/sendmail. It runs `inject -a` (recipients from the
// arguments) or, with -t, `inject -H` (arguments and the header); -f becomes inject's -f and also
// QMAILUSER/QMAILHOST, so the From line matches; -F sets MAILNAME. -bp (or the name `mailq`)
// lists the queue as qread does; -bm is the default. Flags other mailers need and qmail has no
// use for are accepted and ignored, as qmail's sendmail does: -i, -oi, -odi, -oem and any other
// -o…, -e…, -m, -v, -x, -B…, -p…, -E, -J. Anything else (-bs, -bd, unknown letters) is a usage
// error, exit 100.
// Installed as `sendmail` (a symlink to dist/src/cli/main.js; main.ts dispatches by the name it
// was run under), it takes its root from $TSQMAIL_ROOT. See docs/local-delivery.md.

import type { Command } from "../command.js";
import { UsageError } from "../command.js";
import { takeRoot } from "../command-args.js";
import { getopt } from "./getopt-args.js";
import { inject } from "./inject.js";
import { qread } from "./qread.js";

const USAGE = "sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ arg ... ]";

/** qmail's do_sender: the From line is made from the -f address, not from the name variables. */
function senderEnv(env: NodeJS.ProcessEnv, sender: string): NodeJS.ProcessEnv {
  const { QMAILNAME: _q, MAILNAME: _m, NAME: _n, QMAILHOST: _qh, MAILHOST: _mh, ...rest } = env;
  const at = sender.lastIndexOf("@");
  if (at === -1) return { ...rest, QMAILUSER: sender };
  return { ...rest, QMAILUSER: sender.slice(0, at), QMAILHOST: sender.slice(at + 1) };
}

export const sendmail: Command = {
  name: "sendmail",
  summary: "sendmail-compatible front end to inject (-t -f -F -i -oi -bp); install as `sendmail`",
  usage: `tsqmail ${USAGE}   (or run as sendmail / mailq through a symlink)`,
  async run(args, io) {
    const { root, rest } = takeRoot(args, io.env, "leading");
    const rootArgs = ["--root", root];
    const { options, operands } = getopt(rest, "vimte:f:p:o:B:F:EJxb:");
    let fromHeader = false;
    let sender: string | undefined;
    let fullName: string | undefined;
    for (const { letter, value } of options) {
      if (letter === "t") fromHeader = true;
      else if (letter === "f") sender = value;
      else if (letter === "F") fullName = value;
      else if (letter === "b" && value?.startsWith("p") === true) return qread.run(rootArgs, io);
      else if (letter === "b" && value?.startsWith("m") !== true) throw new UsageError(`-b${value ?? ""} is not supported`);
    }
    let env = sender === undefined ? io.env : senderEnv(io.env, sender);
    // qmail's sendmail drops a -F name when -f is given too; we keep it, as the caller asked for both.
    if (fullName !== undefined) env = { ...env, MAILNAME: fullName };
    const injectArgs = [...rootArgs, fromHeader ? "-H" : "-a", ...(sender === undefined ? [] : ["-f", sender]), "--", ...operands];
    return inject.run(injectArgs, { ...io, env });
  },
};

/** `mailq`: sendmail's other name, the queue listing. */
export const mailq: Command = {
  name: "mailq",
  summary: "sendmail -bp: list the queue (install as `mailq`)",
  usage: "tsqmail mailq [--root DIR]",
  run: (args, io) => qread.run(args, io),
};
