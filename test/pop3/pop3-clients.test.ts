// Real POP3 clients against pop3d (STLS) and pop3s (implicit TLS): curl, python3's poplib and
// fetchmail read, keep and delete mail that lspawn's maildir writer put into alice's Maildir.

import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { startPop3 } from "./pop3-harness.js";

const run = promisify(execFile);
let scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsqmail-pop3-client-"));
  scratch.push(dir);
  return dir;
}

const MESSAGES = ["Subject: first\n\nhello\n", "Subject: second\n\n.dot line\nend\n"];

describe("curl", () => {
  it("lists and retrieves over plain POP3, STLS (--ssl-reqd) and pop3s, and deletes with DELE", async () => {
    const pop = await startPop3({ pop3d: {}, pop3s: {} });
    await pop.deliver(...MESSAGES);
    const plain = await pop.port("pop3d");
    const secure = await pop.port("pop3s");
    const curl = async (...args: string[]): Promise<string> => (await run("curl", ["-sS", "--max-time", "30", "-u", "alice:wonderland", ...args])).stdout;

    expect(await curl(`pop3://127.0.0.1:${plain}/`)).toBe(`1 ${MESSAGES[0]!.length}\r\n2 ${MESSAGES[1]!.length}\r\n`);
    expect(await curl("--ssl-reqd", "-k", `pop3://127.0.0.1:${plain}/2`)).toBe("Subject: second\r\n\r\n.dot line\r\nend\r\n\r\n");
    expect(await curl("-k", `pop3s://127.0.0.1:${secure}/1`)).toBe("Subject: first\r\n\r\nhello\r\n\r\n");
    await curl("-k", "-X", "DELE", "-I", `pop3s://127.0.0.1:${secure}/1`);
    expect(await curl(`pop3://127.0.0.1:${plain}/`)).toBe(`1 ${MESSAGES[1]!.length}\r\n`);
    expect(pop.files()).toHaveLength(1);
  }, 60_000);
});

describe("python3 poplib", () => {
  it("keeps mail with UIDs stable across sessions, then deletes it, over STLS and pop3s", async () => {
    const pop = await startPop3({ pop3d: {}, pop3s: {} });
    await pop.deliver(...MESSAGES);
    const script = `
import poplib, ssl, sys, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
mode, port, delete = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "delete"
if mode == "stls":
    box = poplib.POP3("127.0.0.1", port, timeout=30); box.stls(ctx)
else:
    box = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=30)
box.user("alice"); box.pass_("wonderland")
count, size = box.stat()
uids = [line.decode() for line in box.uidl()[1]]
bodies = [b"\\n".join(box.retr(i + 1)[1]).decode() for i in range(count)]
if delete:
    for i in range(count): box.dele(i + 1)
box.quit()
print(json.dumps({"count": count, "uids": uids, "bodies": bodies}))
`;
    const poplib = async (mode: string, port: number, action: string) => JSON.parse((await run("python3", ["-c", script, mode, String(port), action])).stdout) as { count: number; uids: string[]; bodies: string[] };
    const kept = await poplib("stls", await pop.port("pop3d"), "keep");
    expect(kept.count).toBe(2);
    expect(kept.bodies).toEqual(["Subject: first\n\nhello\n", "Subject: second\n\n.dot line\nend\n"]);
    const again = await poplib("ssl", await pop.port("pop3s"), "delete");
    expect(again.uids).toEqual(kept.uids);
    expect(pop.files()).toEqual([]);
    expect((await poplib("ssl", await pop.port("pop3s"), "keep")).count).toBe(0);
  }, 60_000);
});

describe("fetchmail", () => {
  it("fetches into an MDA, keeps with UIDL (nothing fetched twice), then flushes", async () => {
    const pop = await startPop3({ pop3d: {} });
    await pop.deliver(...MESSAGES);
    const port = await pop.port("pop3d");
    const home = scratchDir();
    const mbox = join(home, "fetched");
    const fetchmail = async (keep: boolean): Promise<void> => {
      const rc = join(home, "fetchmailrc");
      writeFileSync(
        rc,
        `poll 127.0.0.1 protocol pop3 port ${port} uidl auth password\n` +
          `  user "alice" password "wonderland" ${keep ? "keep" : "nokeep flush"} sslproto "" no sslcertck\n` +
          `  mda "sh -c 'cat >> ${mbox}; echo ===== >> ${mbox}'"\n`,
      );
      chmodSync(rc, 0o600);
      await run("fetchmail", ["-f", rc, "--nosyslog", "--nodetach", "-i", join(home, "ids"), "--pidfile", join(home, "pid")], { env: { ...process.env, HOME: home } }).catch((error: { code?: number }) => {
        // fetchmail exits 1 when there was no mail: not a failure here.
        if (error.code !== 1) throw error;
      });
    };
    await fetchmail(true);
    const first = readFileSync(mbox, "utf8");
    expect(first.split("=====\n")).toHaveLength(3);
    expect(first).toContain("Subject: first\n");
    expect(first).toContain("\n.dot line\nend\n");
    expect(pop.files()).toHaveLength(2);
    await fetchmail(true);
    expect(readFileSync(mbox, "utf8")).toBe(first);
    await pop.deliver("Subject: third\n\nnew\n");
    await fetchmail(false);
    const after = readFileSync(mbox, "utf8");
    expect(after.split("=====\n")).toHaveLength(4);
    expect(after.slice(first.length)).toContain("Subject: third\n");
    expect(pop.files()).toEqual([]);
  }, 90_000);
});
