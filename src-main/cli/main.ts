import { pathToFileURL } from 'node:url';
import { DomainError } from '../../src-shared/ipc/envelope';
import { createServices, type Services } from '../services';
import { commandTable } from './command-table';
import { UsageError, type CliCommand, type CliIo } from './cli-types';

function helpText(): string {
  const width = Math.max(...commandTable.map((c) => c.name.length));
  return [
    'healthgpt — HealthGPT Workstation, headless',
    '',
    'Usage: healthgpt <command> [options]   (add --json for machine-readable output)',
    '',
    ...commandTable.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Environment: HEALTHGPT_DATA_DIR sets the data folder.',
  ].join('\n');
}

/** Longest match of leading words against command names ("history list" before "history"). */
function findCommand(argv: string[]): { command: CliCommand; rest: string[] } | null {
  let best: { command: CliCommand; rest: string[] } | null = null;
  for (const command of commandTable) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export async function runCli(argv: string[], io: Omit<CliIo, 'services'> & { services?: () => Promise<Services> }): Promise<number> {
  let services: Services | null = null;
  const fullIo: CliIo = {
    out: io.out,
    err: io.err,
    services:
      io.services ??
      (async () => (services ??= await createServices({ mode: 'cli', dataDir: process.env.HEALTHGPT_DATA_DIR }))),
  };
  const json = argv.includes('--json');
  const fail = (code: string, message: string, exit: number): number => {
    if (json) io.out(`${JSON.stringify({ ok: false, error: { code, message } }, null, 2)}\n`);
    io.err(`healthgpt: ${message}\n`);
    return exit;
  };
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.out(`${helpText()}\n`);
      return argv.length === 0 ? 2 : 0;
    }
    const found = findCommand(argv);
    if (!found) return fail('USAGE', `unknown command "${argv.slice(0, 2).join(' ')}". Run \`healthgpt --help\` for the list.`, 2);
    if (found.rest.includes('--help')) {
      io.out(`${found.command.usage}\n`);
      return 0;
    }
    return await found.command.run(found.rest, fullIo);
  } catch (e) {
    if (e instanceof UsageError) return fail('USAGE', e.message, 2);
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return fail('USAGE', (e as Error).message, 2);
    if (e instanceof DomainError) return fail(e.code, e.message, 1);
    return fail('INTERNAL', e instanceof Error ? e.message : String(e), 1);
  } finally {
    if (services) await (services as Services).close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`healthgpt: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
