// qmail-queue's exit codes and the texts every injector turns them into (qmail.c's qmail_close).
// The text starts with D (permanent: 5xx, exit 100) or Z (temporary: 4xx, exit 111); injectors
// show it to their client without the first letter. Reads and writes nothing: a pure table.

export const QueueExit = {
  ok: 0,
  addressTooLong: 11,
  permanentlyRejected: 31,
  outOfMemory: 51,
  timeout: 52,
  writeError: 53,
  readError: 54,
  configUnreadable: 55,
  networkTrouble: 56,
  homeDir: 61,
  queueDir: 62,
  pidFile: 63,
  messFile: 64,
  intdFile: 65,
  todoLink: 66,
  temporarilyRejected: 71,
  connectionTimedOut: 72,
  connectionRejected: 73,
  communicationFailed: 74,
  internalBug: 81,
  /** notqmail: the program wrote its own D/Z text to descriptor 6. */
  customText: 82,
  envelopeFormat: 91,
  cannotExec: 120,
} as const;

/** A code this table names; a QMAILQUEUE program may still exit with any other number. */
export type KnownQueueExit = (typeof QueueExit)[keyof typeof QueueExit];

/** How a queueing attempt ended: an exit code, or "crashed" when a QMAILQUEUE program died of a signal. */
export type QueueExitStatus = number | "crashed";

export interface QueueFailure<Exit extends QueueExitStatus = QueueExitStatus> {
  readonly ok: false;
  readonly exit: Exit;
  /** qmail's text for `exit`, starting with D or Z. */
  readonly text: string;
}

export interface QueueSuccess {
  readonly ok: true;
  /** The message number (inode of mess/N); null when a QMAILQUEUE program queued it and did not say. */
  readonly id: number | null;
  /** The queueing process's pid: qmail-smtpd's "qp" in `250 ok <time> qp <qp>`. */
  readonly qp: number;
}

export type EnqueueResult = QueueSuccess | QueueFailure;

export function queueExitText(exit: QueueExitStatus): string {
  if (exit === "crashed") return "Zqq crashed (#4.3.0)";
  switch (exit) {
    case 115: // qmail.c keeps this old code as a synonym of 11
    case QueueExit.addressTooLong:
      return "Denvelope address too long for qq (#5.1.3)";
    case QueueExit.permanentlyRejected:
      return "Dmail server permanently rejected message (#5.3.0)";
    case QueueExit.outOfMemory:
      return "Zqq out of memory (#4.3.0)";
    case QueueExit.timeout:
      return "Zqq timeout (#4.3.0)";
    case QueueExit.writeError:
      return "Zqq write error or disk full (#4.3.0)";
    case QueueExit.readError:
      return "Zqq read error (#4.3.0)";
    case QueueExit.configUnreadable:
      return "Zqq unable to read configuration (#4.3.0)";
    case QueueExit.networkTrouble:
      return "Zqq trouble making network connection (#4.3.0)";
    case QueueExit.homeDir:
      return "Zqq trouble in home directory (#4.3.0)";
    case QueueExit.queueDir:
    case QueueExit.pidFile:
    case QueueExit.messFile:
    case QueueExit.intdFile:
    case QueueExit.todoLink:
      return "Zqq trouble creating files in queue (#4.3.0)";
    case QueueExit.temporarilyRejected:
      return "Zmail server temporarily rejected message (#4.3.0)";
    case QueueExit.connectionTimedOut:
      return "Zconnection to mail server timed out (#4.4.1)";
    case QueueExit.connectionRejected:
      return "Zconnection to mail server rejected (#4.4.1)";
    case QueueExit.communicationFailed:
      return "Zcommunication with mail server failed (#4.4.2)";
    case QueueExit.internalBug:
    case QueueExit.envelopeFormat:
      return "Zqq internal bug (#4.3.0)";
    case QueueExit.cannotExec:
      return "Zunable to exec qq (#4.3.0)";
    default:
      return exit >= 11 && exit <= 40 ? "Dqq permanent problem (#5.3.0)" : "Zqq temporary problem (#4.3.0)";
  }
}

export function queueFailure<Exit extends QueueExitStatus>(exit: Exit, text: string = queueExitText(exit)): QueueFailure<Exit> {
  return { ok: false, exit, text };
}
