/**
 * How the `apiary` command fails: one line on stderr, no stack trace. A {@link CliError}
 * exits 1 (a node did not answer, a kill was refused) or 2 when `usage` is set; a
 * {@link UsageError} always exits 2 (bad usage, a feature not available).
 */

/** A failure to report as one line: exit code 1, or 2 when `usage` (the command was misused). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

/** Bad usage: one line on stderr, exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, true);
  }
}
