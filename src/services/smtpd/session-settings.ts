// What one SMTP session may do, from its environment (the service's env/ under the connection's
// rules variables) and the control files — s/qmail's variables:
//   SMTPAUTH      unset or `-`: no AUTH; any other value: LOGIN PLAIN; `cram`: CRAM-MD5 only;
//                 `+cram`: all three; a leading `!`: AUTH required before MAIL
//   UCSPITLS      `-`: no STARTTLS; `!` or `@`: STARTTLS offered and required before MAIL;
//                 `?` or `@`: a client certificate verified against CAFILE allows relaying;
//                 anything else, and unset (tsqmail: a certificate exists): offered
//   AUTHCLEARTEXT 1: offer PLAIN and LOGIN before STARTTLS too (default: only inside TLS)
//   AUTHFAILDELAY seconds before `535 authentication failed` (default 5, as s/qmail)
//   DATABYTES     overrides control/databytes; MAXRECIPIENTS (default 1000) caps RCPTs
//   RELAYCLIENT   set: no rcpthosts check, and its value is appended to each recipient
//   TARPITCOUNT, TARPITDELAY  (non-relay clients) from the n-th RCPT on, wait s seconds before
//                 each answer; after n unknown recipients, 452 to every RCPT; s = 999: DATA
//                 is then refused and the connection closed
//   RECIPIENTS450 set: unknown recipients get 450 instead of 550
//   MAXERRORS     unknown, malformed and over-long commands before 421 and close (default 20)
// HELOCHECK, MFDNSCHECK and QREGEX are read by envelope-checks.ts.
// The submission service defaults SMTPAUTH and UCSPITLS to `!`.
// Sessions whose variables agree share one frozen settings object (made once per control
// snapshot): an idle connection then holds a reference, not its own five objects.

import type { AuthMechanism, SmtpSessionInput } from "../../../machines/smtp-session.js";
import type { ControlSnapshot } from "../../config/load-control.js";

export type SmtpMode = "smtpd" | "submission" | "smtps";

const DEFAULT_MAX_RECIPIENTS = 1000;
const DEFAULT_AUTH_FAIL_DELAY_S = 5;
const DEFAULT_MAX_ERRORS = 20;
/** s/qmail's TARPITDELAY value that refuses DATA instead of waiting. */
const TARPIT_REFUSE = 999;

type Env = Readonly<Record<string, string | undefined>>;

/** Every variable the settings depend on: the sharing key. Reading any other is a type error. */
const SETTINGS_VARIABLES = [
  "SMTPAUTH",
  "UCSPITLS",
  "AUTHCLEARTEXT",
  "AUTHFAILDELAY",
  "DATABYTES",
  "MAXRECIPIENTS",
  "RELAYCLIENT",
  "TARPITCOUNT",
  "TARPITDELAY",
  "RECIPIENTS450",
  "MAXERRORS",
] as const;

type SettingsEnv = Readonly<Partial<Record<(typeof SETTINGS_VARIABLES)[number], string>>>;

function authMechanisms(value: string): AuthMechanism[] {
  switch (value.toLowerCase()) {
    case "cram":
      return ["CRAM-MD5"];
    case "+cram":
      return ["LOGIN", "PLAIN", "CRAM-MD5"];
    default:
      return ["LOGIN", "PLAIN"];
  }
}

const count = (text: string | undefined, fallback: number): number => (text !== undefined && /^\d+$/.test(text) ? Number(text) : fallback);

function tarpitSettings(env: SettingsEnv): SmtpSessionInput["tarpit"] {
  const tarpitCount = count(env.TARPITCOUNT, 0);
  if (tarpitCount === 0) return undefined;
  const delay = count(env.TARPITDELAY, 0);
  return { count: tarpitCount, delayMs: delay > 0 && delay < TARPIT_REFUSE ? delay * 1000 : 0, refuseData: delay === TARPIT_REFUSE };
}

/** Shared settings by control snapshot, then by mode, certificate and the variables' values. */
const shared = new WeakMap<ControlSnapshot, Map<string, SmtpSessionInput>>();

/** A session's settings: the object made for the first session whose variables were the same. */
export function sessionSettings(mode: SmtpMode, env: Env, control: ControlSnapshot, haveCertificate: boolean): SmtpSessionInput {
  const values = SETTINGS_VARIABLES.map((name) => env[name]);
  // JSON keeps an unset variable (null) apart from any value (a quoted string).
  const key = JSON.stringify([mode, haveCertificate, values]);
  let byKey = shared.get(control);
  if (byKey === undefined) shared.set(control, (byKey = new Map()));
  let settings = byKey.get(key);
  if (settings === undefined) {
    settings = deepFreeze(settingsOf(mode, Object.fromEntries(SETTINGS_VARIABLES.map((name, i) => [name, values[i]])), control, haveCertificate));
    byKey.set(key, settings);
  }
  return settings;
}

/** Shared by sessions: nothing may change it. */
function deepFreeze(settings: SmtpSessionInput): SmtpSessionInput {
  for (const part of [settings.tls, settings.auth, settings.auth.mechanisms, settings.tarpit]) if (part !== undefined) Object.freeze(part);
  return Object.freeze(settings);
}

function settingsOf(mode: SmtpMode, env: SettingsEnv, control: ControlSnapshot, haveCertificate: boolean): SmtpSessionInput {
  const submissionDefault = mode === "submission" ? "!" : undefined;
  const smtpAuth = env.SMTPAUTH ?? submissionDefault;
  const ucspiTls = env.UCSPITLS ?? submissionDefault;
  const authOn = smtpAuth !== undefined && smtpAuth !== "-";
  const authRequired = authOn && smtpAuth.startsWith("!");
  const implicitTls = mode === "smtps";
  return {
    greeting: control.values.smtpgreeting ?? control.values.me ?? "unknown",
    relayClient: env.RELAYCLIENT,
    databytes: count(env.DATABYTES, control.values.databytes),
    maxRecipients: count(env.MAXRECIPIENTS, DEFAULT_MAX_RECIPIENTS),
    tarpit: tarpitSettings(env),
    recipients450: env.RECIPIENTS450 !== undefined,
    maxErrors: count(env.MAXERRORS, DEFAULT_MAX_ERRORS),
    tls: {
      offered: haveCertificate && ucspiTls !== "-",
      required: !implicitTls && (ucspiTls === "!" || ucspiTls === "@"),
      active: implicitTls,
      certificateRelay: !implicitTls && (ucspiTls === "?" || ucspiTls === "@"),
    },
    auth: {
      mechanisms: authOn ? authMechanisms(authRequired ? smtpAuth.slice(1) : smtpAuth) : [],
      required: authRequired,
      cleartext: env.AUTHCLEARTEXT === "1",
      failureDelayMs: count(env.AUTHFAILDELAY, DEFAULT_AUTH_FAIL_DELAY_S) * 1000,
      challengeHost: control.values.me ?? "unknown",
    },
  };
}
