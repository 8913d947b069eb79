// Who may open a maildrop — qmail-popup's checkpassword step. Two sources, as smtpd's AUTH has:
//   - tsqmail's virtual users (the checks smtpd's AUTH makes: scrypt, CRAM-MD5's HMAC), a few at
//     a time (login-queue.ts); their maildrop is ROOT/home/NAME/Maildir/. APOP compares
//     MD5(timestamp ‖ secret) with the user's CRAM-MD5 secret, the only plaintext-equivalent one kept.
//   - with CHECKPASSWORD="prog [args] subprog", that program instead (smtpd's runner,
//     fd3-program.ts): fd 3 gets `user\0password\0timestamp\0` (APOP: the digest as the
//     password, as qmail-popup sends it; CRAM-MD5: `user\0digest\0challenge\0`, as smtpd sends
//     it). Exit 0 accepts; the mailbox is then the passwd account's HOME/Maildir/.
// A uid-0 account is refused (qmail-pop3d exits rather than run as root; security.md §1.6), and so
// is an account a runtime not started as root could not serve.

import { createHash, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import type { AuthVerdict, Pop3Credentials } from "../../../machines/pop3-session.js";
import { readPasswd } from "../../config/getpw.js";
import { verifyPassword } from "../../config/password-hash.js";
import { findVirtualUser, virtualCramSecret, type VirtualUser } from "../../config/virtual-users.js";
import { runFd3Program } from "../smtpd/fd3-program.js";
import { checkPassword } from "../smtpd/password-check.js";
import type { LoginQueue } from "./login-queue.js";

/** What every login of one service shares; a connection's own settings come in its environment. */
export interface LoginSettings {
  readonly root: string;
  /** The service name: the child seam's site and the log's prefix. */
  readonly site: string;
  readonly ownUid: number;
  /** How long a CHECKPASSWORD program may run. */
  readonly timeoutMs: number;
  /** Virtual users' checks, a few at a time (login-queue.ts). */
  readonly queue: LoginQueue;
  readonly log: (line: string) => void;
}

/**
 * The connection's environment (the service's env/ under its rules variables): CHECKPASSWORD,
 * the command line to log in through (unset: virtual users), and PASSWD, the passwd file a
 * checkpassword login's account is looked up in (default /etc/passwd, as lspawn's).
 */
export type LoginEnv = Readonly<Record<string, string | undefined>>;

const REJECTED: AuthVerdict = { kind: "rejected" };

/** APOP's digest: lower-case hex MD5 of the banner's timestamp followed by the secret (RFC 1939 §7). */
function apopMatches(credentials: Extract<Pop3Credentials, { mechanism: "APOP" }>, secret: string): boolean {
  const expected = Buffer.from(createHash("md5").update(credentials.timestamp + secret).digest("hex"));
  const given = Buffer.from(credentials.digest.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Does the user's secret match? One read of the users table serves this check and the mailbox. */
async function virtualSecretMatches(root: string, user: VirtualUser, credentials: Pop3Credentials): Promise<boolean> {
  switch (credentials.mechanism) {
    case "APOP": {
      const secret = await virtualCramSecret(root, user.name);
      return secret !== undefined && apopMatches(credentials, secret);
    }
    case "CRAM-MD5":
      return checkPassword(root, credentials);
    default:
      return user.hash !== "" && verifyPassword(credentials.password, user.hash);
  }
}

async function virtualLogin(settings: LoginSettings, credentials: Pop3Credentials): Promise<AuthVerdict> {
  const user = await findVirtualUser(settings.root, credentials.user);
  if (user === undefined || !(await virtualSecretMatches(settings.root, user, credentials))) return REJECTED;
  return { kind: "ok", mailbox: { user: user.name, maildir: user.maildir, uid: settings.ownUid } };
}

/** The fd 3 fields; `timestamp` is the session's banner timestamp. */
function programFields(credentials: Pop3Credentials, timestamp: string): string[] {
  switch (credentials.mechanism) {
    case "APOP":
      return [credentials.user, credentials.digest, credentials.timestamp];
    case "CRAM-MD5":
      return [credentials.user, credentials.digest, credentials.challenge];
    default:
      return [credentials.user, credentials.password, timestamp];
  }
}

async function programLogin(settings: LoginSettings, env: LoginEnv, commandLine: string, credentials: Pop3Credentials, timestamp: string): Promise<AuthVerdict> {
  const fields = programFields(credentials, timestamp);
  // A NUL would shift the fields the program reads: a different user or password.
  if (fields.some((field) => field.includes("\0"))) return REJECTED;
  const result = await runFd3Program(settings.site, commandLine, fields, env, settings.timeoutMs);
  if (result.kind === "crashed") return { kind: "crashed" };
  if (result.code !== 0) return REJECTED;
  const account = (await readPasswd(env.PASSWD)).get(credentials.user);
  if (account === undefined) {
    settings.log(`${settings.site}: ${credentials.user} accepted by checkpassword but not in the passwd file: no maildrop`);
    return REJECTED;
  }
  if (account.uid === 0) {
    settings.log(`${settings.site}: refused ${credentials.user}: uid 0 may not read mail over POP3`);
    return REJECTED;
  }
  if (settings.ownUid !== 0 && account.uid !== settings.ownUid) {
    settings.log(`${settings.site}: refused ${credentials.user}: only a runtime started as root can serve uid ${account.uid}`);
    return REJECTED;
  }
  return { kind: "ok", mailbox: { user: account.name, maildir: join(account.home, "Maildir"), uid: account.uid } };
}

/** The machine's checkPassword: virtual users (queued), or the connection's CHECKPASSWORD program. */
export function checkLogin(settings: LoginSettings, env: LoginEnv, credentials: Pop3Credentials, timestamp: string): Promise<AuthVerdict> {
  // A program's work is in its own process: only the checks made here need the queue.
  const program = env.CHECKPASSWORD;
  return program === undefined ? settings.queue.run(() => virtualLogin(settings, credentials)) : programLogin(settings, env, program, credentials, timestamp);
}
