// The services tsqmail ships, by name: where each one's module is, which branch of the
// supervision tree it belongs to, for listeners qmail's standard port (`tsqmail init` adds its
// base port), and the worker limits init writes to `service/NAME/limits` (worker-limits.ts).
// A service directory's `module` file names one of these, or a module path.

import type { ResourceLimits } from "node:worker_threads";
import { ownModule } from "../../supervisors/project-files.js";
import { ConfigError } from "../config/config-error.js";

/** "queue": the delivery pipeline, started in order; "network": independent listeners. */
export type ServiceGroup = "queue" | "network";

export interface BuiltinService {
  readonly name: string;
  readonly group: ServiceGroup;
  /** qmail's standard port for a listener. */
  readonly port?: number;
  /** What `tsqmail init` writes to `service/NAME/limits`. */
  readonly limits?: ResourceLimits;
}

/**
 * A 3 MB young generation (1 MB semi-spaces, V8's smallest; it would grow them to 16 MB) for the
 * listeners that are quiet most of the time. POP3's sessions are mostly idle and its logins come
 * in bursts: 1 000 cold logins add 35 MB RSS instead of 58 for the same CPU (docs/pop3.md,
 * Memory). The others rarely carry mail (submission, smtps, qmtpd, qmtps, qmqpd), yet start-up
 * alone grows their semi-spaces to 2 MB and more, held until V8's memory reducer runs tens of
 * seconds later. send and the spawners carry the mail and keep V8's default: a small young
 * generation there would cost scavenges on the busy path.
 */
const QUIET_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 3 };

/**
 * smtpd: an 8 MB young generation. A burst of greetings made V8 grow smtpd's semi-spaces to 8 MB
 * each, which was half of what 1 000 idle connections added (20 MB; 12–14 MB with this cap), and
 * the accept bench showed no CPU cost from it (docs/smtpd.md, Memory).
 */
const SMTPD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 8 };

/** In start order: the queue's services before the listeners that feed it. */
export const BUILTIN_SERVICES: readonly BuiltinService[] = [
  // The spawners first: send dispatches to them.
  { name: "lspawn", group: "queue" },
  { name: "rspawn", group: "queue" },
  { name: "send", group: "queue" },
  { name: "smtpd", group: "network", port: 25, limits: SMTPD_LIMITS },
  { name: "submission", group: "network", port: 587, limits: QUIET_LIMITS },
  { name: "smtps", group: "network", port: 465, limits: QUIET_LIMITS },
  { name: "pop3d", group: "network", port: 110, limits: QUIET_LIMITS },
  { name: "pop3s", group: "network", port: 995, limits: QUIET_LIMITS },
  { name: "qmtpd", group: "network", port: 209, limits: QUIET_LIMITS },
  { name: "qmtps", group: "network", port: 6209, limits: QUIET_LIMITS },
  { name: "qmqpd", group: "network", port: 628, limits: QUIET_LIMITS },
];

export function findBuiltin(name: string): BuiltinService | undefined {
  return BUILTIN_SERVICES.find((service) => service.name === name);
}

export function builtinModule(name: string, file: string): string {
  if (findBuiltin(name) === undefined) {
    const known = BUILTIN_SERVICES.map((s) => s.name).join(", ") || "none yet";
    throw new ConfigError(file, 1, `unknown service '${name}' (built-in services: ${known}; or give a module path)`);
  }
  return ownModule(`src/services/${name}/service`).href;
}
