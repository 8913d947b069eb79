// The lines qmail-local puts in front of a delivered message, and the environment a `|program`
// line gets. Every value here may carry attacker-chosen envelope data, so the lines are made safe
// for their format (a newline inside would start a new header or a new mbox message), and
// programs receive them only as environment variables, never inside the command string
// (security.md §1.5, §1.8). Pure: reads and writes nothing.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const two = (n: number): string => String(n).padStart(2, "0");

/** ctime(3) in UTC: `Www Mmm dd HH:MM:SS YYYY`, the day padded with a space. */
export function ctimeUtc(ms: number): string {
  const d = new Date(ms);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()}`;
}

export function deliveredToLine(recipient: string): string {
  return `Delivered-To: ${recipient.replaceAll("\n", "_")}\n`;
}

export function returnPathLine(sender: string): string {
  return `Return-Path: <${sender.replaceAll("\n", "_")}>\n`;
}

/** The mbox separator: a space inside the sender would split the line's fields, a newline would end it. */
export function fromLine(sender: string, ms: number): string {
  const who = sender === "" ? "MAILER-DAEMON" : sender.replace(/[ \t\n]/g, "-");
  return `From ${who} ${ctimeUtc(ms)}\n`;
}

/** `a-b-c` → [`b-c`, `c`, ``]: EXT2, EXT3, EXT4 drop one, two, three leading parts. */
function extensionTails(ext: string): string[] {
  const tails: string[] = [];
  let rest = ext;
  for (let n = 0; n < 3; n++) {
    const dash = rest.indexOf("-");
    rest = dash === -1 ? "" : rest.slice(dash + 1);
    tails.push(rest);
  }
  return tails;
}

/** `a.b.c.d` → [`a.b.c`, `a.b`, `a`]: HOST2, HOST3, HOST4 drop one, two, three trailing labels. */
function hostHeads(host: string): string[] {
  const heads: string[] = [];
  let rest = host;
  for (let n = 0; n < 3; n++) {
    const dot = rest.lastIndexOf(".");
    if (dot !== -1) rest = rest.slice(0, dot);
    heads.push(rest);
  }
  return heads;
}

export interface ProgramEnvInput {
  readonly user: string;
  readonly home: string;
  readonly local: string;
  readonly host: string;
  readonly sender: string;
  readonly newSender: string;
  readonly ext: string;
  /** The part of ext a `default` file name matched, when one did. */
  readonly defaultPart: string | undefined;
  readonly dtline: string;
  readonly rpline: string;
  readonly ufline: string;
}

export function programEnv(input: ProgramEnvInput): Record<string, string> {
  const [ext2, ext3, ext4] = extensionTails(input.ext);
  const [host2, host3, host4] = hostHeads(input.host);
  return {
    USER: input.user,
    HOME: input.home,
    SENDER: input.sender,
    NEWSENDER: input.newSender,
    RECIPIENT: `${input.local}@${input.host}`,
    LOCAL: input.local,
    HOST: input.host,
    HOST2: host2!,
    HOST3: host3!,
    HOST4: host4!,
    EXT: input.ext,
    EXT2: ext2!,
    EXT3: ext3!,
    EXT4: ext4!,
    ...(input.defaultPart === undefined ? {} : { DEFAULT: input.defaultPart }),
    DTLINE: input.dtline,
    RPLINE: input.rpline,
    UFLINE: input.ufline,
  };
}
