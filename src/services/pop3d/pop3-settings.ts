// What one POP3 session may do, from its environment (the service's env/ under the connection's
// rules variables) and control/me:
//   POP3AUTH       words, any order: `apop` accepts APOP (and shows the greeting's timestamp),
//                  `cram` offers SASL CRAM-MD5; both need a user's plaintext-equivalent secret,
//                  so both are off unless named (security.md §1.6). USER/PASS and SASL PLAIN
//                  are always there.
//   UCSPITLS       `-`: no STLS; `!`: STLS offered and required before any login; anything
//                  else, and unset: offered when control/servercert.pem exists
//   AUTHFAILDELAY  seconds before `-ERR authorization failed` (default 5, as smtpd)
//   CHECKPASSWORD  "prog [args] subprog": log in through that program (pop3-login.ts)
//   PASSWD         the passwd file its accounts are found in (default /etc/passwd)

import type { Pop3SessionInput } from "../../../machines/pop3-session.js";
import type { ControlSnapshot } from "../../config/load-control.js";

export type Pop3Mode = "pop3d" | "pop3s";

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_AUTH_FAIL_DELAY_S = 5;
/** qmail-popup's and qmail-pop3d's idle timeout (RFC 1939 asks for at least 10 minutes). */
export const IDLE_TIMEOUT_MS = 1200 * 1000;

let banners = 0;

/** RFC 1939 §7: the timestamp must differ for every banner — the pid alone repeats across threads. */
function bannerTimestamp(hostname: string, nowMs: number): string {
  banners += 1;
  return `<${process.pid}.${banners}.${Math.floor(nowMs / 1000)}@${hostname}>`;
}

export function pop3SessionSettings(mode: Pop3Mode, connection: number, env: Env, control: ControlSnapshot, haveCertificate: boolean, nowMs: number): Pop3SessionInput {
  const hostname = control.values.me ?? "unknown";
  const words = new Set((env.POP3AUTH ?? "").toLowerCase().split(/[\s,]+/));
  const delay = env.AUTHFAILDELAY;
  return {
    connection,
    hostname,
    timestamp: bannerTimestamp(hostname, nowMs),
    apop: words.has("apop"),
    cram: words.has("cram"),
    tls: {
      offered: haveCertificate && env.UCSPITLS !== "-",
      required: mode !== "pop3s" && env.UCSPITLS === "!",
      active: mode === "pop3s",
    },
    failureDelayMs: (delay !== undefined && /^\d+$/.test(delay) ? Number(delay) : DEFAULT_AUTH_FAIL_DELAY_S) * 1000,
  };
}
