// The chaos run's mail reader: one POP3 session over a real socket — USER/PASS, UIDL, then RETR
// and DELE of the first few listed messages, QUIT — recording what it took and how each step was
// answered. A few per session, because under faults a session over hundreds of messages would
// almost never reach its QUIT, and nothing would ever be deleted.
// A copy counts as retrieved only when its RETR got +OK and the whole message up to the final dot
// (the X-Chaos-Id header and the body line naming the same id); its deletion counts as done only
// when QUIT got +OK. A -ERR is a right answer to local trouble: after one to a RETR the message is
// left alone, after any other the session QUITs. Anything else — a reply that is neither +OK nor
// -ERR, a +OK'd message that is not whole — is a wrong answer.

import { connect, type Socket } from "node:net";

export interface Pop3Copy {
  /** The message's maildir name up to its first `:` (RFC 1939's unique id, as qmail-pop3d gives it). */
  readonly uid: string;
  readonly id: string;
}

export interface Pop3Session {
  /**
   * `quit`: every step +OK; `refused-step`: some step got -ERR (the server may close after it);
   * `cut`: the connection ended inside a message being retrieved (after its +OK, a failed read
   * can only end the connection); `dropped`: it ended while a reply was owed and no -ERR came;
   * `refused`: no connection.
   */
  readonly outcome: "quit" | "refused-step" | "cut" | "dropped" | "refused";
  /** The uids UIDL listed. */
  readonly listed: readonly string[];
  /** Copies retrieved whole. */
  readonly retrieved: readonly Pop3Copy[];
  /** Uids whose deletion QUIT's +OK confirmed. */
  readonly deleted: readonly string[];
  /** Wrong answers (see the head comment). */
  readonly wrong: readonly string[];
  /** The last command and its reply (or the socket error), for the report. */
  readonly detail: string;
}

const TIMEOUT_MS = 30_000;
const MESSAGES_PER_SESSION = 5;

class Closed extends Error {}

/** Line-at-a-time reading of a POP3 server's replies. */
class Conversation {
  private buffered = "";
  private waiting: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private ended: Error | undefined;
  command = "greeting";

  constructor(private readonly socket: Socket) {
    socket.setTimeout(TIMEOUT_MS, () => this.end(new Closed(`no reply in ${TIMEOUT_MS} ms`)));
    socket.on("error", (error: NodeJS.ErrnoException) => this.end(new Closed(error.code ?? error.message)));
    socket.on("close", () => this.end(new Closed("connection closed")));
    socket.on("data", (chunk: Buffer) => {
      this.buffered += chunk.toString("latin1");
      this.deliver();
    });
  }

  send(command: string): void {
    this.command = command;
    this.socket.write(`${command}\r\n`);
  }

  line(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** The lines of a multi-line reply after its first line, up to the terminating dot, unstuffed. */
  async block(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line === ".") return lines;
      lines.push(line.startsWith(".") ? line.slice(1) : line);
    }
  }

  private deliver(): void {
    const end = this.buffered.indexOf("\r\n");
    if (this.waiting === undefined) return;
    const waiting = this.waiting;
    if (end >= 0) {
      this.waiting = undefined;
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      waiting.resolve(line);
    } else if (this.ended !== undefined) {
      this.waiting = undefined;
      waiting.reject(this.ended);
    }
  }

  private end(error: Error): void {
    this.ended ??= error;
    this.socket.destroy();
    this.deliver();
  }
}

/** Reads and deletes the first MESSAGES_PER_SESSION messages in `user`'s maildrop on the POP3 server at `port`. */
export async function popMailbox(port: number, user: string, password: string): Promise<Pop3Session> {
  const listed: string[] = [];
  const retrieved: Pop3Copy[] = [];
  const marked: string[] = [];
  const wrong: string[] = [];
  let refusal: string | undefined;
  let inMessage = false;
  const socket = connect({ host: "127.0.0.1", port });
  const talk = new Conversation(socket);
  const session = (outcome: Pop3Session["outcome"], detail: string, deleted: readonly string[] = []): Pop3Session => ({ outcome, listed, retrieved, deleted, wrong, detail });
  /** The reply to `command`: true for +OK, false for -ERR; anything else is recorded as wrong. */
  const ask = async (command: string | undefined): Promise<boolean> => {
    if (command !== undefined) talk.send(command);
    const line = await talk.line();
    if (line.startsWith("+OK")) return true;
    refusal = `${talk.command}: ${line}`;
    if (!line.startsWith("-ERR")) wrong.push(`POP3 ${talk.command}: neither +OK nor -ERR: ${JSON.stringify(line)}`);
    return false;
  };
  try {
    const loggedIn = (await ask(undefined)) && (await ask(`USER ${user}`)) && (await ask(`PASS ${password}`));
    if (loggedIn && (await ask("UIDL"))) {
      const listing = (await talk.block()).map((line) => line.split(" ") as [string, string]);
      listed.push(...listing.map(([, uid]) => uid));
      for (const [number, uid] of listing.slice(0, MESSAGES_PER_SESSION)) {
        if (!(await ask(`RETR ${number}`))) continue;
        inMessage = true;
        const text = (await talk.block()).join("\n");
        inMessage = false;
        const id = /^X-Chaos-Id: (\S+)$/m.exec(text)?.[1];
        if (id === undefined || !text.includes(`\n\nchaos test message ${id}`)) {
          wrong.push(`POP3 RETR ${number} (${uid}): +OK with a message that is not whole: ${JSON.stringify(text.slice(-200))}`);
          continue;
        }
        retrieved.push({ uid, id });
        if (await ask(`DELE ${number}`)) marked.push(uid);
      }
    }
    // QUIT after a refusal too: its +OK commits the DELEs that were taken.
    const committed = await ask("QUIT");
    return session(refusal === undefined ? "quit" : "refused-step", refusal ?? "QUIT: +OK", committed ? marked : []);
  } catch (error) {
    if (!(error instanceof Closed)) throw error;
    const ended = `${talk.command}: ${error.message}`;
    if (inMessage) return session("cut", ended);
    if (refusal !== undefined) return session("refused-step", `${refusal}, then ${ended}`);
    return session(talk.command === "greeting" && error.message === "ECONNREFUSED" ? "refused" : "dropped", ended);
  } finally {
    socket.destroy();
  }
}

/** What the run's POP3 sessions did, in all. */
export interface Pop3Tally {
  readonly sessions: Record<Pop3Session["outcome"], number>;
  /** Copies retrieved whole: uid → X-Chaos-Id. A retrieved copy is in the reader's hands: delivered. */
  readonly retrieved: Map<string, string>;
  /** Uids whose deletion a QUIT's +OK confirmed. */
  readonly deleted: Set<string>;
  readonly wrong: string[];
  /** What the first few dropped sessions last saw, for the report. */
  readonly drops: string[];
}

export const emptyPop3Tally = (): Pop3Tally => ({ sessions: { quit: 0, "refused-step": 0, cut: 0, dropped: 0, refused: 0 }, retrieved: new Map(), deleted: new Set(), wrong: [], drops: [] });

const DROPS_KEPT = 5;

export function addPop3Session(tally: Pop3Tally, session: Pop3Session): void {
  tally.sessions[session.outcome]++;
  tally.wrong.push(...session.wrong);
  if (session.outcome === "dropped" && tally.drops.length < DROPS_KEPT) tally.drops.push(session.detail);
  // A confirmed deletion that is listed again would reach the reader twice.
  for (const uid of session.listed) if (tally.deleted.has(uid)) tally.wrong.push(`POP3 listed ${uid} again after a QUIT +OK confirmed its deletion`);
  for (const copy of session.retrieved) tally.retrieved.set(copy.uid, copy.id);
  for (const uid of session.deleted) tally.deleted.add(uid);
}
