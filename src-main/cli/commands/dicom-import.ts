import path from 'node:path';
import { parseArgs } from 'node:util';
import { importReportSchema } from '../../../src-shared/contracts/dicom';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { cliSink } from '../direct-call';

export const dicomImportCommand: CliCommand = {
  name: 'dicom import',
  summary: 'Import DICOM files, folders, DICOMDIRs and PNG/JPEG/TIFF images into the local store',
  usage: [
    'healthgpt dicom import <file|folder>... [--json]',
    '',
    'Runs the same import job as the window. PNG, JPEG and TIFF images (8/16-bit, grey or RGB, multi-page',
    'TIFF) are stored as secondary-capture DICOM naming the source file and its SHA-256; their pixel size',
    'is kept only when the file states a physical unit, else it is unknown. Prints one line per file.',
    'Exit code 0 when every file was imported (or skipped as DICOM without pixels), 1 when any failed.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new UsageError('dicom import needs at least one file or folder. Usage: healthgpt dicom import <file|folder>... [--json]');
    const services = await io.services();
    const started = services.dicom.import(positionals.map((p) => path.resolve(p)), cliSink());
    const final = await services.jobs.wait(started.jobId);
    if (final.status === 'failed') throw new DomainError(final.error.code, `import: ${final.error.message}`);
    const report = importReportSchema.parse((final as { result: unknown }).result);
    printResult(io, values.json, report, () =>
      [
        ...report.entries.map((e) => `${e.status === 'ok' ? 'ok     ' : e.status === 'skipped' ? 'skipped' : 'ERROR  '} ${e.path}${e.message ? `\n        ${e.message}` : ''}`),
        `${report.imported} imported, ${report.skipped} skipped, ${report.failed} failed; ${report.seriesUids.length} series`,
      ].join('\n'),
    );
    return report.failed > 0 ? 1 : 0;
  },
};
