import type { CliCommand } from './cli-types';
import { infoCommand } from './commands/info';

/** Every CLI command. Names are an interface hospital IT scripts rely on: never rename one. */
export const commandTable: CliCommand[] = [infoCommand];
