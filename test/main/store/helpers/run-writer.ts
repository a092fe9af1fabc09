/**
 * Child process for the interrupted-run test: starts a generating run through the real history service,
 * writes two partial DICOM slices into <dataDir>/generated/<runId>/ as the workflow does, prints
 * "writing <runId>", then keeps running until the parent kills it (kill -9).
 * Usage: node --import tsx run-writer.ts <dataDir> <runId>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HistoryService } from '../../../../src-main/store/history-service';

const [dataDir, runId] = process.argv.slice(2);
if (!dataDir || !runId) throw new Error('usage: run-writer <dataDir> <runId>');

const history = await HistoryService.start({ dataDir, actor: 'run-writer' });
await history.ensureCase({
  caseId: 'case-k9',
  patientId: 'PK9',
  patientName: 'Killed^Run',
  studies: [{ studyId: 'study-k9', studyUid: '1.2.826.0.9', series: [{ seriesId: 'series-k9', seriesUid: '1.2.826.0.9.1', modality: 'MR' }] }],
});
await history.recordRun({ runId, caseId: 'case-k9', task: 'mri2ct', prompt: 'MRI to CT', packId: 'demo', packHash: 'b'.repeat(64), executionProvider: 'cpu', inputSeriesIds: ['series-k9'] });
const folder = path.join(dataDir, 'generated', runId);
mkdirSync(folder, { recursive: true });
for (const n of [1, 2]) writeFileSync(path.join(folder, `000${n}.dcm`), `DICM partial slice ${n} of PatientName Killed^Run`);
process.stdout.write(`writing ${runId}\n`);
setInterval(() => {}, 60_000); // stay alive, mid-run, until killed
