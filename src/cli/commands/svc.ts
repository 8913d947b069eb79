// `tsqmail svc -udopchaitkx SERVICE…`: daemontools' svc, taking service names of the root
// (ROOT/service/NAME) as well as directories. Same letters, texts and exit codes as svc.

import { svc as runSvc } from "../../../supervisors/daemontools/svc-client.js";
import type { Command } from "../command.js";
import { takeRoot } from "../command-args.js";
import { serviceDirOf } from "./service-args.js";

export const svc: Command = {
  name: "svc",
  summary: "control services: -u up, -d down, -o once, -p/-c pause/continue, -h -a -i -t -k signals, -x exit",
  usage: "tsqmail svc [--root DIR] -udopchaitkx SERVICE...",
  async run(args, io) {
    const { root, rest } = takeRoot(args, io.env, "anywhere");
    const firstService = rest.findIndex((arg) => !arg.startsWith("-") || arg === "-");
    const argv = firstService === -1 ? rest : [...rest.slice(0, firstService), ...rest.slice(firstService).map((name) => serviceDirOf(root, name))];
    const result = runSvc(argv);
    for (const message of result.messages) io.stderr.write(`${message}\n`);
    return result.exitCode;
  },
};
