// qmail's date822fmt: `D Mon YYYY HH:MM:SS -0000` in UTC, the day not zero-padded, as used in the
// Received line qmail-queue adds and in qmail-send's bounces. Pure formatting.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

const twoDigits = (n: number): string => String(n).padStart(2, "0");

/** The date without qmail's trailing newline. */
export function qmailDate(epochMs: number): string {
  const d = new Date(epochMs);
  const time = `${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}:${twoDigits(d.getUTCSeconds())}`;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${time} -0000`;
}
