// Every `tsqmail` subcommand, in the order `tsqmail help` lists them.

import type { Command } from "../command.js";

export const commands: readonly Command[] = [];
