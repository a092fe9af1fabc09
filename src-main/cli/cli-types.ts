import type { Services } from '../services';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Services built on first use, so `--help` and argument errors cost nothing. */
  services(): Promise<Services>;
}

export interface CliCommand {
  /** One or more words: "info", "pack verify", "history list". */
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A user mistake on the command line: printed as a clear message, exit code 2, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function printResult(io: CliIo, json: boolean, value: unknown, human: () => string): void {
  io.out(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
