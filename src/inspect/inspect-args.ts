// The inspector's command-line options, shared by `tsqmail start` and `tsqmail inspect`:
// `--inspect[=PORT]` (a bare flag means the default port), `--inspect-host HOST`, and the token
// from TSQMAIL_INSPECT_TOKEN (required, and generated when unset, off loopback).

import { UsageError } from "../cli/command.js";
import { stringOption, type OptionSpec, type ParsedArgs } from "../cli/command-args.js";

export const DEFAULT_INSPECT_PORT = 8025;

export const INSPECT_OPTIONS: OptionSpec = {
  inspect: { type: "string" },
  "inspect-host": { type: "string" },
};

/** node:util parseArgs cannot make a value optional: a bare `--inspect` gets the default port. */
export function withInspectDefault(args: readonly string[]): string[] {
  return args.map((arg) => (arg === "--inspect" ? `--inspect=${DEFAULT_INSPECT_PORT}` : arg));
}

export interface InspectAddress {
  readonly port: number;
  readonly host?: string;
  readonly token?: string;
}

/** The address to serve or reach the inspector on; undefined without `--inspect` and a default. */
export function inspectAddress(values: ParsedArgs["values"], env: NodeJS.ProcessEnv, defaultPort?: number): InspectAddress | undefined {
  const text = stringOption(values, "inspect") ?? (defaultPort === undefined ? undefined : String(defaultPort));
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--inspect takes a port, not '${text}'`);
  const host = stringOption(values, "inspect-host");
  const token = env.TSQMAIL_INSPECT_TOKEN;
  return { port, ...(host === undefined ? {} : { host }), ...(token === undefined || token === "" ? {} : { token }) };
}
