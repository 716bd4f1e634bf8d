/**
 * One error hierarchy for the whole program. Domain code throws these;
 * only the CLI entry point turns them into messages and exit codes.
 */
export abstract class MosaicError extends Error {
  abstract readonly exitCode: number;
  /** What the user can do about it, printed after the message. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad input, unknown agent, failed check: the user can fix it. Exit 1. */
export class UserError extends MosaicError {
  readonly exitCode: number = 1;
}

/** A check ran and found problems (verify, send --verify). Exit 1. */
export class CheckFailedError extends UserError {
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[], options: { hint?: string } = {}) {
    super(message, options);
    this.problems = problems;
  }
}

/** Wrong command-line usage. Exit 2. */
export class UsageError extends MosaicError {
  readonly exitCode: number = 2;
}

/** A bug or an environment we cannot explain. Exit 70. */
export class InternalError extends MosaicError {
  readonly exitCode: number = 70;
}

/** An external command failed; carries everything needed to diagnose it. */
export class CommandError extends UserError {
  constructor(
    readonly argv: readonly string[],
    readonly exitStatus: number | null,
    readonly signal: string | null,
    readonly stderr: string,
    readonly durationMs: number,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    const how = signal ? `signal ${signal}` : `exit ${String(exitStatus)}`;
    const detail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
    super(`${argv.slice(0, 6).join(' ')}${argv.length > 6 ? ' …' : ''} failed (${how}, ${durationMs} ms)${detail}`, options);
  }
}
