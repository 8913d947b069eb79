// The answer to "whose mailbox is this local part?", shared by users/cdb, qmail-getpw's rules
// and virtual users: the account, its ids and home, and the dash and extension qmail-local uses
// to pick the .qmail file.

export interface LocalUser {
  /** Where the answer came from. */
  readonly source: "assign" | "passwd" | "alias" | "virtual";
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** "-" when there is an extension (or always for assign prefix and alias hits), else "". */
  readonly dash: string;
  readonly ext: string;
}
