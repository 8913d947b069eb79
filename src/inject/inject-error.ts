// The one error qmail-inject's work raises: its text and its exit code (100 for input it can never
// accept, 111 for trouble that may pass). The command prints `fatal: <text>` and exits with it.

export class InjectError extends Error {
  constructor(
    message: string,
    readonly exit: 100 | 111,
  ) {
    super(message);
  }
}
