// Independent readers for what lspawn delivered: python3's `mailbox` module, and Dovecot's imap
// binary (Debian dovecot-imapd) run directly in PREAUTH mode with a config file of its own: no
// daemon, indexes in memory, the mailbox opened read-only (EXAMINE), so the reader changes
// nothing it is asked about. A missing reader fails the test with the package to install: a
// mailbox nobody could read must not pass silently.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const DOVECOT_IMAP = "/usr/lib/dovecot/imap";
/** Dovecot refuses to read mail as root; a root test run reads as `nobody` (the tree is chowned to it). */
const NOBODY = 65534;

export interface ReadMessage {
  readonly subject: string | null;
  /** The mbox From_ line's contents after `From ` (python only, mbox only). */
  readonly from?: string | null;
  /** Maildir only: the subdirectory the message is in. */
  readonly subdir?: string;
  readonly bytes: Buffer;
}

const PYTHON = `
import base64, json, mailbox, sys
kind, path = sys.argv[1], sys.argv[2]
box = mailbox.Maildir(path, factory=None, create=False) if kind == "maildir" else mailbox.mbox(path, create=False)
out = []
for key in box.keys():
    msg = box.get_message(key)
    entry = {"subject": msg["subject"], "bytes": base64.b64encode(box.get_bytes(key)).decode()}
    if kind == "mbox":
        entry["from"] = msg.get_from()
    else:
        entry["subdir"] = msg.get_subdir()
    out.append(entry)
print(json.dumps(out))
`;

function requireTool(path: string, pkg: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${path}`], { stdio: "ignore" }).status === 0;
  if (!found) throw new Error(`${path} is missing: install the Debian package ${pkg} (scripts/pretest.mjs does so when run as root)`);
}

/** Every message python3's mailbox.Maildir or mailbox.mbox finds at `path`, in its own order. */
export function readWithPython(kind: "maildir" | "mbox", path: string): ReadMessage[] {
  requireTool("python3", "python3");
  const out = execFileSync("python3", ["-c", PYTHON, kind, path], { encoding: "utf8" });
  return (JSON.parse(out) as (Omit<ReadMessage, "bytes"> & { bytes: string })[]).map((m) => ({ ...m, bytes: Buffer.from(m.bytes, "base64") }));
}

export interface DovecotView {
  /** The EXISTS count Dovecot announced on EXAMINE. */
  readonly exists: number;
  readonly messages: { readonly size: number; readonly bytes: Buffer }[];
}

/**
 * Opens `mailbox` (a Maildir directory or an mbox file) as Dovecot's INBOX and fetches every
 * message's RFC822.SIZE and BODY[]. IMAP sends lines with CRLF: the bytes are given back with LF,
 * as they are on disk; the size stays Dovecot's (with CRLF). `home` is the mailbox owner's home
 * (chowned to nobody first when the test runs as root).
 */
export function readWithDovecot(kind: "maildir" | "mbox", mailbox: string, home: string): DovecotView {
  requireTool(DOVECOT_IMAP, "dovecot-imapd");
  const dir = mkdtempSync(join(tmpdir(), "tsqmail-dovecot-"));
  try {
    const asRoot = process.getuid?.() === 0;
    if (asRoot) letNobodyRead(home);
    const conf = join(dir, "dovecot.conf");
    const location = kind === "maildir" ? `maildir:${mailbox}:INDEX=MEMORY` : `mbox:${join(dir, "mail")}:INBOX=${mailbox}:INDEX=MEMORY`;
    const settings = [`base_dir = ${join(dir, "run")}`, `state_dir = ${join(dir, "state")}`, "log_path = /dev/stderr", "ssl = no", `mail_location = ${location}`];
    if (asRoot) settings.push(`mail_uid = ${NOBODY}`, `mail_gid = ${NOBODY}`);
    writeFileSync(conf, `${settings.join("\n")}\n`);
    // Through cat on both sides: Node's pipes are socketpairs, and on a socket imap believes inetd
    // started it and refuses; a plain file as stdin it cannot poll.
    const session = spawnSync("sh", ["-c", 'cat | "$0" -c "$1" | cat', DOVECOT_IMAP, conf], {
      input: "a EXAMINE INBOX\r\nb FETCH 1:* (RFC822.SIZE BODY.PEEK[])\r\nc LOGOUT\r\n",
      env: { PATH: process.env.PATH, USER: asRoot ? "nobody" : (process.env.USER ?? "tsqmail"), HOME: home },
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = session.stdout;
    const text = out.toString("latin1");
    if (!/^a OK /m.test(text) || !/^b OK /m.test(text)) throw new Error(`dovecot imap failed:\n${text}\n${session.stderr.toString("utf8")}`);
    const exists = Number(/^\* (\d+) EXISTS\r$/m.exec(text)?.[1] ?? Number.NaN);
    const messages: { size: number; bytes: Buffer }[] = [];
    // Each answer: `* N FETCH (RFC822.SIZE S BODY[] {L}\r\n` then exactly L bytes (a literal).
    const fetch = /\* \d+ FETCH \(RFC822\.SIZE (\d+) BODY\[\] \{(\d+)\}\r\n/g;
    for (let match; (match = fetch.exec(text)) !== null; ) {
      const start = match.index + match[0].length;
      const literal = out.subarray(start, start + Number(match[2]));
      messages.push({ size: Number(match[1]), bytes: Buffer.from(literal.toString("latin1").replaceAll("\r\n", "\n"), "latin1") });
      fetch.lastIndex = start + literal.length;
    }
    return { exists, messages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Gives `home` to nobody and lets nobody pass through its parents (a test root is mode 0700). */
function letNobodyRead(home: string): void {
  execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, home]);
  for (let dir = dirname(home); dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = statSync(dir);
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
  }
}

/** The size an IMAP server reports for bytes stored with LF line ends: every LF counts as CRLF. */
export function crlfSize(bytes: Buffer): number {
  return bytes.length + bytes.filter((byte) => byte === 0x0a).length;
}
