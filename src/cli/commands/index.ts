// Every `tsqmail` subcommand, in the order `tsqmail help` lists them.

import type { Command } from "../command.js";
import { init } from "./init.js";
import { start } from "./start.js";
import { inspect } from "./inspect.js";
import { svc } from "./svc.js";
import { svstat } from "./svstat.js";
import { adduser } from "./adduser.js";
import { newmrh } from "./newmrh.js";
import { newu } from "./newu.js";
import { showctl } from "./showctl.js";
import { tcprules } from "./tcprules.js";
import { tcprulescheck } from "./tcprulescheck.js";
import { queueCommand } from "./queue.js";
import { qmqpcCommand } from "./qmqpc.js";
import { qread } from "./qread.js";
import { qstat } from "./qstat.js";
import { qmaint } from "./qmaint.js";
import { tcpto } from "./tcpto.js";
import { inject } from "./inject.js";
import { mailq, sendmail } from "./sendmail.js";
import { maildirmake } from "./maildirmake.js";
import { maildir2mbox } from "./maildir2mbox.js";
import { chaos } from "./chaos.js";

export const commands: readonly Command[] = [init, start, inspect, svc, svstat, queueCommand, qmqpcCommand, inject, sendmail, mailq, qread, qstat, qmaint, tcpto, showctl, tcprules, tcprulescheck, newu, newmrh, adduser, maildirmake, maildir2mbox, chaos];
