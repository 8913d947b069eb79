// The first half of qmail-lspawn + qmail-local for one recipient: whose mailbox it is, whether
// this runtime may deliver there, whether the message loops, and which .qmail lines apply. The
// result is plain data (PreparedDelivery) for the line actors.
// Who writes: virtual users and the alias user without an account of its own (their homes belong
// to the runtime), and accounts whose uid is the runtime's, are delivered in-process. Any other
// account's part — reading its .qmail files, writing its mailboxes, running its programs — runs in
// a child process with the account's uid and gid (run-as-account.ts), which needs a runtime
// started as root; otherwise the delivery is refused soft. Nothing is written into a home as root.
// Reads: users/cdb, users/virtual, the passwd file, the home and its .qmail files (through the
// caches of a UsersLookup and a DotQmailFiles), the message.

import type { Instruction, LocalDeliveryInput, PreparedDelivery } from "../../../machines/local-delivery.js";
import type { LocalUser } from "../../config/local-user.js";
import type { UsersLookup } from "../../config/users-lookup.js";
import { siteFs } from "../../io/fs.js";
import { hard, soft } from "./delivery-failure.js";
import { deliveredToLine, fromLine, programEnv, returnPathLine } from "./delivery-lines.js";
import { findDotQmail, ownerSender, parseDotQmail, type DotQmailFiles, type Home } from "./dot-qmail.js";

const messFs = siteFs("lspawn");

export interface PrepareSettings {
  /** The .qmail text for a plain user without one (qmail-start's argument). */
  readonly defaultDelivery: string;
  readonly users: UsersLookup;
  /** The homes and .qmail files of deliveries made in this process. */
  readonly homes: DotQmailFiles;
  /** The message of the attempt (read once per attempt: message-reads.ts). */
  readonly message: (messFile: string) => Promise<Buffer>;
  /** The runtime's own uid. */
  readonly ownUid: number;
  readonly now: () => number;
}

/** What the account's side of a delivery needs: everything after the lookup. */
export interface AccountRequest {
  readonly user: LocalUser;
  readonly input: LocalDeliveryInput;
  readonly defaultDelivery: string;
  readonly nowMs: number;
}

/** Runs `prepareForAccount` as the account, in a child process (run-as-account.ts). */
export type PrepareAsAccount = (request: AccountRequest, message: Buffer) => Promise<PreparedDelivery>;

/** Whether the runtime writes for `user` itself ("self") or a child process with the account's uid does ("account"). */
export function writerFor(user: LocalUser, ownUid: number): "self" | "account" {
  // Virtual homes and ROOT/alias (without an `alias` account) belong to the runtime itself.
  if (user.source === "virtual" || (user.source === "alias" && user.uid === ownUid)) return "self";
  if (user.uid === 0) throw soft("Not allowed to perform deliveries as root. (#4.3.0)");
  if (user.uid === ownUid) return "self";
  if (ownUid === 0) return "account";
  throw soft(`Unable to deliver as ${user.user} (uid ${user.uid}): only a runtime started as root can deliver as another account. (#4.3.0)`);
}

async function checkHome(homes: DotQmailFiles, path: string): Promise<Home> {
  let home: Home;
  try {
    home = await homes.home(path);
  } catch {
    throw soft("Unable to switch to home directory. (#4.3.0)");
  }
  const { mode } = home.listing.stats;
  if ((mode & 0o002) !== 0) throw soft("Uh-oh: home directory is writable. (#4.7.0)");
  if ((mode & 0o1000) !== 0) throw soft("Home directory is sticky: user is editing his .qmail file. (#4.2.1)");
  return home;
}

/** The header (up to the first empty line) holds our Delivered-To line already: the message came back. */
export function loops(message: Buffer, dtline: string): boolean {
  const end = message.indexOf("\n\n");
  const header = message.subarray(0, end === -1 ? message.length : end + 1).toString("latin1");
  const mine = Buffer.from(dtline.slice(0, -1), "utf8").toString("latin1");
  return header.split("\n").includes(mine);
}

export async function readMessage(messFile: string): Promise<Buffer> {
  try {
    return await messFs.readFile(messFile);
  } catch {
    throw soft("Unable to read message. (#4.3.0)");
  }
}

/** qmail-local's part, done as the account: home checks, loop check, the .qmail file, the environment. */
export async function prepareForAccount(request: AccountRequest, message: Buffer, asAccount: boolean, homes: DotQmailFiles): Promise<PreparedDelivery> {
  const { user, input } = request;
  const at = input.recipient.lastIndexOf("@");
  const local = input.recipient.slice(0, at);
  const host = input.recipient.slice(at + 1);
  const home = await checkHome(homes, user.home);

  const dtline = deliveredToLine(input.recipient);
  if (loops(message, dtline)) throw hard("This message is looping: it already has my Delivered-To line. (#5.4.6)");

  const dotQmail = await findDotQmail(home, user.dash, user.ext);
  let instructions: Instruction[];
  if (dotQmail === undefined && user.dash !== "") throw hard("Sorry, no mailbox here by that name. (#5.1.1)");
  // No .qmail for a plain user, or an empty one for anybody: defaultdelivery (qmail's aliasempty).
  if (dotQmail === undefined || dotQmail.text === "") {
    instructions = parseDotQmail(request.defaultDelivery, user.home, false);
  } else {
    instructions = parseDotQmail(dotQmail.text, user.home, dotQmail.forwardOnly);
  }

  const newSender = await ownerSender(home, user.dash, user.ext, local, host, input.sender);
  const rpline = returnPathLine(input.sender);
  const ufline = fromLine(input.sender, request.nowMs);
  return {
    instructions,
    home: user.home,
    uid: user.uid,
    gid: user.gid,
    asAccount,
    newSender,
    dtline,
    rpline,
    ufline,
    env: programEnv({
      user: user.user,
      home: user.home,
      local,
      host,
      sender: input.sender,
      newSender,
      ext: user.ext,
      defaultPart: dotQmail?.defaultPart,
      dtline,
      rpline,
      ufline,
    }),
  };
}

/** qmail-lspawn's part (whose mailbox, who writes), then qmail-local's, in-process or as the account. */
export async function prepareDelivery(settings: PrepareSettings, input: LocalDeliveryInput, asAccount: PrepareAsAccount): Promise<PreparedDelivery> {
  const local = input.recipient.slice(0, input.recipient.lastIndexOf("@"));
  let user: LocalUser;
  try {
    user = await settings.users.resolve(local);
  } catch {
    throw soft("Trouble reading users/cdb in qmail-lspawn. (#4.3.0)");
  }
  const writer = writerFor(user, settings.ownUid);
  const request: AccountRequest = { user, input, defaultDelivery: settings.defaultDelivery, nowMs: settings.now() };
  const message = await settings.message(input.messFile);
  return writer === "self" ? prepareForAccount(request, message, false, settings.homes) : asAccount(request, message);
}
