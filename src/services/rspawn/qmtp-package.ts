// A QMTP package as the client writes it (cr.yp.to/proto/qmtp.txt; qmail-behaviour.md §6): the
// message as a netstring whose first byte is LF (the stored message keeps qmail's LF line ends),
// the sender as a netstring, and the recipients as a netstring of netstrings. The message streams
// from its mess file; netstrings come from src/net/netstring.ts, shared with the QMTP server.

import { encodeNetstring, NETSTRING_END, netstringHeader } from "../../net/netstring.js";
import type { MessageSource } from "./message-source.js";

const LF = Buffer.from("\n", "latin1");

export async function sendQmtpPackage(
  write: (bytes: Buffer) => Promise<void>,
  message: MessageSource,
  sender: string,
  recipients: readonly string[],
): Promise<void> {
  await write(Buffer.concat([netstringHeader(message.size + 1), LF]));
  await message.sendRaw(write);
  const list = Buffer.concat(recipients.map((recipient) => encodeNetstring(recipient)));
  await write(Buffer.concat([NETSTRING_END, encodeNetstring(sender), encodeNetstring(list)]));
}
