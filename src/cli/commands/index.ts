// Every `tsqmail` subcommand, in the order `tsqmail help` lists them.

import type { Command } from "../command.js";
import { init } from "./init.js";
import { start } from "./start.js";
import { svc } from "./svc.js";
import { svstat } from "./svstat.js";
import { adduser } from "./adduser.js";
import { newmrh } from "./newmrh.js";
import { newu } from "./newu.js";
import { showctl } from "./showctl.js";
import { tcprules } from "./tcprules.js";
import { tcprulescheck } from "./tcprulescheck.js";
import { queueCommand } from "./queue.js";

export const commands: readonly Command[] = [init, start, svc, svstat, queueCommand, showctl, tcprules, tcprulescheck, newu, newmrh, adduser];
