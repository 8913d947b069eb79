// `tsqmail maildirmake [-q QUOTA] DIR`: qmail's maildirmake — makes DIR and its tmp/, new/ and cur/
// with mode 0700 (an existing DIR is an error, as in qmail). With -q (Courier's option), sets a
// Maildir++ quota such as `10000000S,1000C`: on a new maildir, or on an existing one alone, where
// it rewrites maildirsize's limit and recounts the use (services/lspawn/maildir-quota.ts).
// Exit 0; 100 for a usage error; 111 when a directory cannot be made, with `fatal: …` on stderr.

import { join } from "node:path";
import type { Command } from "../command.js";
import { UsageError } from "../command.js";
import { siteFs } from "../../io/fs.js";
import { maildirName } from "../../services/lspawn/maildir-delivery.js";
import { parseQuotaLimit, recountQuota } from "../../services/lspawn/maildir-quota.js";
import { getopt } from "./getopt-args.js";

const fs = siteFs("maildir");

export const maildirmake: Command = {
  name: "maildirmake",
  summary: "make a maildir (tmp/, new/, cur/); -q sets a Maildir++ quota",
  usage: "tsqmail maildirmake [-q QUOTA] DIR   (QUOTA like 10000000S,1000C)",
  async run(args, io) {
    const { options, operands } = getopt(args, "q:");
    if (operands.length !== 1) throw new UsageError("expected one directory");
    const dir = operands[0]!;
    const quotaText = options.find((o) => o.letter === "q")?.value;
    const limit = quotaText === undefined ? undefined : parseQuotaLimit(quotaText);
    if (quotaText !== undefined && limit === undefined) throw new UsageError(`not a quota (like 10000000S,1000C): ${quotaText}`);

    const exists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
    // With -q an existing maildir only gets its quota; without it qmail refuses to reuse a name.
    if (!(exists && limit !== undefined)) {
      for (const path of [dir, join(dir, "tmp"), join(dir, "new"), join(dir, "cur")]) {
        try {
          await fs.mkdir(path, 0o700);
        } catch (error) {
          io.stderr.write(`tsqmail maildirmake: fatal: unable to mkdir ${path}: ${(error as Error).message}\n`);
          return 111;
        }
      }
    }
    if (limit !== undefined) {
      try {
        await recountQuota(dir, limit, maildirName(Date.now()));
      } catch (error) {
        io.stderr.write(`tsqmail maildirmake: fatal: unable to write ${join(dir, "maildirsize")}: ${(error as Error).message}\n`);
        return 111;
      }
    }
    return 0;
  },
};
