// One .qmail line, delivered: the file and program line types with the lines qmail-local puts
// in front (maildir: Return-Path, Delivered-To; mbox: From_ as well; programs get them in the
// environment). The same code runs in lspawn's worker and in the per-account child process.

import type { LineInput, LineOutput } from "../../../machines/local-delivery.js";
import { deliverMaildir, type OverQuota } from "./maildir-delivery.js";
import { deliverMbox } from "./mbox-delivery.js";
import { runProgram } from "./program-delivery.js";

export interface ProgramSettings {
  /** The environment programs inherit, under the qmail variables. */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  /** Enforce Maildir++ quotas, and how (deliveries the runtime writes itself); undefined: no quota. */
  readonly maildirQuota?: OverQuota;
}

export async function deliverLine(line: Omit<LineInput, "input">, message: Buffer, settings: ProgramSettings): Promise<LineOutput> {
  const { prepared, instruction } = line;
  switch (instruction.kind) {
    case "maildir":
      await deliverMaildir(instruction.path, prepared.rpline + prepared.dtline, message, settings.maildirQuota);
      return { output: "", stop: false };
    case "mbox":
      await deliverMbox(instruction.path, prepared.ufline + prepared.rpline + prepared.dtline, message);
      return { output: "", stop: false };
    case "program": {
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(settings.baseEnv)) if (value !== undefined) env[key] = value;
      return runProgram({ command: instruction.command, home: prepared.home, env: { ...env, ...prepared.env }, message, timeoutMs: settings.timeoutMs });
    }
  }
}
