// AUTH's password check against tsqmail's virtual users (src/config/virtual-users.ts): PLAIN and
// LOGIN compare the scrypt hash; CRAM-MD5 recomputes HMAC-MD5(secret, challenge) and compares it
// in constant time (RFC 2195; security.md §1.6).

import { createHmac, timingSafeEqual } from "node:crypto";
import type { PasswordCheck } from "../../../machines/smtp-session.js";
import { checkVirtualPassword, isVirtualUserName, virtualCramSecret } from "../../config/virtual-users.js";

export async function checkPassword(root: string, check: PasswordCheck): Promise<boolean> {
  if (!isVirtualUserName(check.user.toLowerCase())) return false;
  if (check.mechanism !== "CRAM-MD5") return checkVirtualPassword(root, check.user, check.password);
  const secret = await virtualCramSecret(root, check.user);
  if (secret === undefined) return false;
  const expected = Buffer.from(createHmac("md5", secret).update(check.challenge).digest("hex"));
  const given = Buffer.from(check.digest);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
