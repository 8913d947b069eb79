// The layout of a tsqmail root, in one place. A root is what qmail calls QMAILHOME: control/,
// queue/, alias/, users/, plus the daemontools-style service/ tree, log/ and the virtual users'
// home/. Every module that needs a path asks here instead of joining strings itself.

import { join, resolve } from "node:path";

export interface RootPaths {
  readonly root: string;
  readonly control: string;
  readonly queue: string;
  readonly service: string;
  readonly log: string;
  readonly home: string;
  readonly alias: string;
  readonly users: string;
  controlFile(name: string): string;
  serviceDir(name: string): string;
  logDir(name: string): string;
  usersFile(name: string): string;
  /** A virtual user's home, `home/NAME`. */
  homeDir(name: string): string;
}

export function rootPaths(root: string): RootPaths {
  const base = resolve(root);
  return {
    root: base,
    control: join(base, "control"),
    queue: join(base, "queue"),
    service: join(base, "service"),
    log: join(base, "log"),
    home: join(base, "home"),
    alias: join(base, "alias"),
    users: join(base, "users"),
    controlFile: (name) => join(base, "control", name),
    serviceDir: (name) => join(base, "service", name),
    logDir: (name) => join(base, "log", name),
    usersFile: (name) => join(base, "users", name),
    homeDir: (name) => join(base, "home", name),
  };
}

/** `--root DIR`, else `$TSQMAIL_ROOT`, else `./var` (where `npm start` puts its embedded default). */
export function chooseRoot(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? env.TSQMAIL_ROOT ?? "var");
}
