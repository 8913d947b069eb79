// VERP as qmail-send applies it when it hands a delivery to a spawner (senderadd): a sender
// `P@H-@[]` asks for a per-recipient envelope sender `P<box>=<domain>@H`, where `<box>@<domain>`
// is the recipient, so a bounce tells the list which subscriber failed. Pure.

const VERP_SUFFIX = "-@[]";

export function verpSender(sender: string, recipient: string): string {
  if (!sender.endsWith(VERP_SUFFIX)) return sender;
  const base = sender.slice(0, -VERP_SUFFIX.length);
  const senderAt = base.lastIndexOf("@");
  const recipientAt = recipient.lastIndexOf("@");
  // qmail needs an `@` in both: `P-@[]` alone, or a recipient without a domain, is left as it is.
  if (senderAt < 0 || recipientAt < 0) return sender;
  const box = recipient.slice(0, recipientAt);
  const domain = recipient.slice(recipientAt + 1);
  return `${base.slice(0, senderAt)}${box}=${domain}@${base.slice(senderAt + 1)}`;
}
