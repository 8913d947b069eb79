// qmail-remote's quote2(): an address as it goes between the angle brackets of MAIL FROM and
// RCPT TO. A local part that is not a dot-atom of RFC 5322 atext — empty, with a special or a
// space, with a byte above 127, with a leading, trailing or doubled dot — goes out as a quoted
// string, `"` and `\` (and CR and LF, which the machine refuses anyway) escaped with `\`. The
// domain is left as it is; so is the empty address (the bounce sender `<>`). The local part is
// everything before the LAST `@`, so `"a@b"@c` style addresses keep their inner `@`.

const ATEXT_OR_DOT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;

function quoteNeeded(local: string): boolean {
  return !ATEXT_OR_DOT.test(local) || local.startsWith(".") || local.endsWith(".") || local.includes("..");
}

export function quoteAddress(address: string): string {
  if (address === "") return address;
  const at = address.lastIndexOf("@");
  const local = at === -1 ? address : address.slice(0, at);
  const domain = at === -1 ? "" : address.slice(at);
  return (quoteNeeded(local) ? `"${local.replace(/[\r\n"\\]/g, "\\$&")}"` : local) + domain;
}
