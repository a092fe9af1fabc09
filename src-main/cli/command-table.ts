import type { CliCommand } from './cli-types';
import { historyCheckCommand } from './commands/history-check';
import { historyExportCommand } from './commands/history-export';
import { historyListCommand } from './commands/history-list';
import { dicomImportCommand } from './commands/dicom-import';
import { dicomProbeCommand } from './commands/dicom-probe';
import { infoCommand } from './commands/info';
import { evalCommand } from './commands/eval';
import { evalTrustCommand } from './commands/eval-trust';
import { modelCommands } from './commands/model';
import { pacsCommands } from './commands/pacs';
import { historyReviewCommand, seriesExportCommand } from './commands/review-export';

/** Every CLI command. Names are an interface hospital IT scripts rely on: never rename one. */
export const commandTable: CliCommand[] = [infoCommand, dicomProbeCommand, dicomImportCommand, historyListCommand, historyExportCommand, historyCheckCommand, historyReviewCommand, seriesExportCommand, ...modelCommands, evalCommand, evalTrustCommand, ...pacsCommands];
