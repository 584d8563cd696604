// The one error type of the data pipeline: every problem with a source
// (missing, malformed, truncated, unreachable) names the file or URL it is
// about, so a user can act on the message without a stack trace.

/** An error about a data source; `file` is the path or URL the message names. */
export class DataError extends Error {
  readonly code = 'ERR_TORCHTS_DATA';

  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
    this.name = 'DataError';
  }
}

/** The reason of a Node fs error in a few words (ENOENT -> 'no such file or folder'). */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'ENOTDIR':
      return 'is a file, not a folder';
    default:
      return (error as Error | undefined)?.message ?? String(error);
  }
}
