// `tsqmail inspect FILE`: serves the inspector page replaying a recording made with
// `tsqmail start --record FILE`, until TERM or INT. `tsqmail inspect --follow [FILTER]`: prints
// a running runtime's inspection stream, one line a frame, reached on its inspector port.

import { once } from "node:events";
import { UsageError, type Command } from "../command.js";
import { parseCommandArgs } from "../command-args.js";
import { DEFAULT_INSPECT_PORT, INSPECT_OPTIONS, inspectAddress, withInspectDefault } from "../../inspect/inspect-args.js";
import { follow } from "../../inspect/follow.js";
import { serveRecording } from "../../inspect/replay.js";

export const inspect: Command = {
  name: "inspect",
  summary: "replay a recorded inspection stream in the inspector page, or follow a live one in the terminal",
  usage: "tsqmail inspect FILE [--inspect[=PORT]] [--inspect-host HOST]\ntsqmail inspect --follow [FILTER] [--inspect PORT] [--inspect-host HOST]",
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(withInspectDefault(args), { ...INSPECT_OPTIONS, follow: { type: "boolean" } }, true);
    const address = inspectAddress(values, io.env, DEFAULT_INSPECT_PORT)!;
    if (positionals.length > 1) throw new UsageError("one FILE or FILTER at most");
    if (values.follow === true) {
      const host = address.host ?? "127.0.0.1";
      const shown = host.includes(":") ? `[${host}]` : host;
      const token = address.token === undefined ? "" : `?token=${encodeURIComponent(address.token)}`;
      try {
        await follow(`ws://${shown}:${address.port}/stream${token}`, positionals[0], (line) => io.stdout.write(line));
      } catch (error) {
        io.stderr.write(`tsqmail inspect: cannot reach the inspector at ${shown}:${address.port}: ${(error as Error).message}\n`);
        return 111;
      }
      return 0;
    }
    const file = positionals[0];
    if (file === undefined) throw new UsageError("name a recording, or give --follow");
    const { server, frames } = await serveRecording(file, address);
    io.stderr.write(`tsqmail inspect: ${frames} frames from ${file} at ${server.url}\n`);
    await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
    await server.close();
    return 0;
  },
};
