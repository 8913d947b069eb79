// `tsqmail init`: makes a root, or completes one. Creates control/ (me = mail.DOMAIN; locals
// and rcpthosts = DOMAIN and me; a self-signed servercert.pem for STARTTLS), the queue, alias/, home/, users/, log/, and a service
// directory for each built-in service, listeners on BASE+their standard port, worker limits where
// builtin-services.ts gives them. Never overwrites:
// each file is written aside, fsync'd, then hard-linked into place, and an existing file wins,
// so running init again (or over a hand-made configuration) changes nothing that is there.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { siteFs } from "../io/fs.js";
import { createQueue } from "../queue/create-queue.js";
import { BUILTIN_SERVICES } from "../runtime/builtin-services.js";
import { formatWorkerLimits } from "../runtime/worker-limits.js";
import { rootPaths } from "./paths.js";
import { ensureServerCertificate } from "./server-certificate.js";

export interface InitOptions {
  readonly root: string;
  readonly domain: string;
  /** Address listeners bind to. */
  readonly listen: string;
  /** Added to each listener's standard port; 0 gives the standard ports. */
  readonly basePort: number;
}

export interface InitReport {
  /** Paths created, relative to the root. */
  readonly created: readonly string[];
}

const fs = siteFs("init");

export async function initRoot(options: InitOptions): Promise<InitReport> {
  const paths = rootPaths(options.root);
  const created: string[] = [];
  const relative = (path: string): string => path.slice(paths.root.length + 1);

  const ensureDir = async (path: string, mode = 0o755): Promise<void> => {
    const made = await mkdir(path, { recursive: true, mode });
    if (made !== undefined) created.push(relative(path));
  };
  const ensureFile = async (path: string, text: string): Promise<void> => {
    const tmp = `${path}.init-${process.pid}`;
    const fh = await fs.open(tmp, "w", 0o644);
    try {
      await fs.write(fh, Buffer.from(text));
      await fs.sync(fh);
    } finally {
      await fs.close(fh);
    }
    try {
      await fs.link(tmp, path);
      created.push(relative(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await fs.unlink(tmp);
    }
  };

  await ensureDir(paths.root);
  for (const dir of [paths.control, paths.service, paths.log, paths.home, paths.users]) await ensureDir(dir);
  await ensureDir(paths.alias, 0o2755);

  const me = `mail.${options.domain}`;
  await ensureFile(paths.controlFile("me"), `${me}\n`);
  await ensureFile(paths.controlFile("locals"), `${options.domain}\n${me}\n`);
  await ensureFile(paths.controlFile("rcpthosts"), `${options.domain}\n${me}\n`);

  if (await ensureServerCertificate(paths.control, me)) created.push("control/servercert.pem");

  if ((await mkdir(paths.queue, { recursive: true })) !== undefined) created.push("queue");
  await createQueue(paths.queue);

  for (const service of BUILTIN_SERVICES) {
    const dir = paths.serviceDir(service.name);
    await ensureDir(join(dir, "env"));
    await ensureFile(join(dir, "module"), `${service.name}\n`);
    if (service.port !== undefined) {
      await ensureFile(join(dir, "env", "IP"), `${options.listen}\n`);
      await ensureFile(join(dir, "env", "PORT"), `${options.basePort + service.port}\n`);
    }
    if (service.limits !== undefined) await ensureFile(join(dir, "limits"), formatWorkerLimits(service.limits));
  }
  for (const dir of [paths.root, paths.control, paths.service]) await fs.syncDir(dir);
  return { created };
}

/** Checks the values a user gave init: a domain name, a base port that keeps every port valid. */
export function validateInitOptions(options: InitOptions): string | undefined {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(options.domain)) {
    return `not a domain name: ${JSON.stringify(options.domain)}`;
  }
  if (!Number.isInteger(options.basePort) || options.basePort < 0) return `not a port offset: ${options.basePort}`;
  const highest = Math.max(0, ...BUILTIN_SERVICES.map((s) => s.port ?? 0));
  if (options.basePort + highest > 65535) return `base port ${options.basePort} puts a listener above 65535`;
  return undefined;
}
