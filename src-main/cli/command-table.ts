import type { CliCommand } from './cli-types';
import { historyCheckCommand } from './commands/history-check';
import { historyExportCommand } from './commands/history-export';
import { historyListCommand } from './commands/history-list';
import { dicomImportCommand } from './commands/dicom-import';
import { dicomProbeCommand } from './commands/dicom-probe';
import { infoCommand } from './commands/info';
import { evalCommand } from './commands/eval';
import { modelCommands } from './commands/model';
import { pacsCommands } from './commands/pacs';

/** Every CLI command. Names are an interface hospital IT scripts rely on: never rename one. */
export const commandTable: CliCommand[] = [infoCommand, dicomProbeCommand, dicomImportCommand, historyListCommand, historyExportCommand, historyCheckCommand, ...modelCommands, evalCommand, ...pacsCommands];
