// ConfigError: the one error type for bad configuration. Its message always names the file
// (relative to the root, e.g. `control/concurrencyremote`) and, when one line is to blame, the
// line number, so an administrator can go straight to the fault:
// `control/concurrencyremote:1: not a number: "abc"`.

export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
  }
}
