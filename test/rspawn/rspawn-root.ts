// The test bed for rspawn in real workers: a root with the real send and rspawn services (send's
// bed, test/send/send-root.ts), smtproutes and other control files as the test gives them, and
// rspawn's envdir. Kept connections wait 1 s unless the test says otherwise, so QUIT comes soon.
// `deliveryLines` reads what send logged: qmail-remote's text as qmail-rspawn combines it.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logText, waitFor } from "../runtime/test-root.js";
import { sendTestBed } from "../send/send-root.js";

export function rspawnBed() {
  const bed = sendTestBed();
  const sendLog = (): string => logText(bed.made.root, "send");
  return {
    bed,
    sendLog,
    /** Starts send and rspawn; `routes` become control/smtproutes. Returns the queue directory. */
    async start(routes: string, env: Record<string, string> = {}, control: Record<string, string> = {}): Promise<string> {
      const made = await bed.makeRoot({ spawners: [], control: { smtproutes: routes, timeoutconnect: "2", timeoutremote: "5", ...control } });
      const dir = join(made.root, "service", "rspawn");
      mkdirSync(join(dir, "env"), { recursive: true });
      writeFileSync(join(dir, "module"), "rspawn\n");
      for (const [key, value] of Object.entries({ IDLETIMEOUT: "1", ...env })) writeFileSync(join(dir, "env", key), `${value}\n`);
      await bed.start();
      return made.queueDir;
    },
    /** The texts of the first `count` delivery lines with `outcome` (success, deferral, failure). */
    async deliveryLines(outcome: string, count = 1): Promise<string[]> {
      const pattern = new RegExp(`delivery \\d+: ${outcome}: (.*)`, "g");
      const found = (): string[] => [...sendLog().matchAll(pattern)].map((match) => match[1]!);
      await waitFor(() => found().length >= count, 15_000, `${count} ${outcome} line(s)`);
      return found();
    },
  };
}

