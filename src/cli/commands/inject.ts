// `tsqmail inject [-nNaAhH] [-f sender] [recipient …]`: qmail-inject. Reads a message on stdin,
// rewrites its header (src/inject/inject-header.ts) and queues it through the one enqueue
// module — or, with $QMAILQUEUE, through that program — with the envelope sender from -f, the
// message's Return-Path or the user's own address, and the recipients from the arguments (-a,
// the default when there are any), the header (-h, the default when there are none) or both
// (-H). -n prints the message instead of queueing it. Exit 0 when queued; 100 for bad input or a
// permanent queue refusal; 111 for temporary trouble, with `fatal: …` on stderr.
// Reads: ROOT/control (defaulthost, defaultdomain, plusdomain, idhost, me). Writes: the queue.

import type { Command, CliIo } from "../command.js";
import { ConfigError } from "../../config/config-error.js";
import { enqueue } from "../../queue/enqueue.js";
import { rootPaths } from "../../root/paths.js";
import { takeRoot } from "../command-args.js";
import { splitHeader } from "../../inject/header-split.js";
import { injectHeader, type RecipientSource } from "../../inject/inject-header.js";
import { InjectError } from "../../inject/inject-error.js";
import { readInjectIdentity } from "../../inject/inject-settings.js";
import { getopt } from "./getopt-args.js";

const fatal = (io: CliIo, text: string, exit: number): number => {
  io.stderr.write(`tsqmail inject: fatal: ${text}\n`);
  return exit;
};

export const inject: Command = {
  name: "inject",
  summary: "qmail-inject: rewrite a message's header and queue it",
  usage: "tsqmail inject [--root DIR] [-nNaAhH] [-f sender] [recipient ...]   (message on stdin)",
  async run(args, io) {
    const { root, rest } = takeRoot(args, io.env, "leading");
    const { options, operands } = getopt(rest, "aAhHnNf:");
    let source: RecipientSource | "default" = "default";
    let queue = true;
    let sender: string | undefined;
    for (const { letter, value } of options) {
      if (letter === "a") source = "args";
      else if (letter === "A") source = "default";
      else if (letter === "h") source = "header";
      else if (letter === "H") source = "both";
      else if (letter === "n") queue = false;
      else if (letter === "N") queue = true;
      else if (letter === "f") sender = value;
    }
    if (source === "default") source = operands.length > 0 ? "args" : "header";

    try {
      const identity = await readInjectIdentity(root, io.env);
      const message = await splitHeader(io.stdin);
      const nowMs = Date.now();
      const result = injectHeader(message.fields, {
        identity,
        source,
        argRecipients: operands,
        sender,
        printReturnPath: !queue,
        nowMs,
        pid: process.pid,
      });
      const whole = (async function* () {
        yield Buffer.from(result.header, "latin1");
        yield* message.body;
      })();
      if (!queue) {
        for await (const chunk of whole) io.stdout.write(chunk);
        return 0;
      }
      // Addresses were handled as latin1 text; the envelope takes them as UTF-8 strings.
      const utf8 = (address: string): string => Buffer.from(address, "latin1").toString("utf8");
      const queued = await enqueue(
        rootPaths(root).queue,
        whole,
        { sender: utf8(result.sender), recipients: result.recipients.map(utf8) },
        { invokedBy: { uid: process.getuid?.() ?? 0 }, env: io.env, now: () => nowMs },
      );
      if (queued.ok) return 0;
      return fatal(io, queued.text.slice(1), queued.text.startsWith("D") ? 100 : 111);
    } catch (error) {
      if (error instanceof InjectError) return fatal(io, error.message, error.exit);
      if (error instanceof ConfigError) return fatal(io, `unable to read controls: ${error.message}`, 111);
      throw error;
    }
  },
};
