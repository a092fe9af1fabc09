/**
 * Child process for the crash tests: records runs with artifacts through the real history service (SQL
 * worker, artifact store) and prints "committed <runId> <hash> <hash>" after each commit returns. The
 * parent kills it with SIGKILL at a random moment and then checks the store.
 * Usage: node --import tsx crash-writer.ts <dataDir> <runs> <seed>
 */
import { randomBytes } from 'node:crypto';
import { HistoryService } from '../../../../src-main/store/history-service';

const [dataDir, runsArg, seedArg] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: crash-writer <dataDir> <runs> <seed>');
const runs = Number(runsArg ?? 1000);
const seed = seedArg ?? '0';

const history = await HistoryService.start({ dataDir, actor: 'crash-writer' });
const status = await history.status();
if (status.state !== 'open') {
  process.stdout.write(`refused ${status.reason} ${status.message}\n`);
  process.exit(2);
}
const caseId = `case-${seed}`;
await history.recordCase({
  caseId,
  patientId: `P${seed}`,
  patientName: `Crash^Test${seed}`,
  studies: [{ studyId: `study-${seed}`, studyUid: `1.2.826.0.1.${seed}`, studyDate: '2026-01-02', series: [{ seriesId: `series-${seed}`, seriesUid: `1.2.826.0.1.${seed}.1`, modality: 'CT' }] }],
});
process.stdout.write(`ready ${caseId}\n`);
for (let i = 0; i < runs; i += 1) {
  const runId = `run-${seed}-${i}`;
  const size = 2048 + ((i * 7919) % 60_000);
  const result = await history.recordCompletedRun({
    run: {
      runId,
      caseId,
      task: i % 2 ? 'vqa' : 'super-resolution',
      prompt: `prompt ${i}`,
      packId: 'demo-pack',
      packHash: 'f'.repeat(64),
      executionProvider: 'cpu',
      params: { i },
      seed: i,
      inputSeriesIds: [`series-${seed}`],
    },
    outputs: [
      { outputId: `out-${seed}-${i}-t`, runId, kind: 'text', text: `answer ${i}`, artifacts: [] },
      {
        outputId: `out-${seed}-${i}-i`,
        runId,
        kind: 'image',
        artifacts: [
          { bytes: randomBytes(size), mediaType: 'application/octet-stream', name: `slice-${i}-a` },
          { bytes: randomBytes(1024), mediaType: 'application/octet-stream', name: `slice-${i}-b` },
        ],
      },
    ],
    end: { runId, status: 'succeeded', timing: { total: i } },
  });
  process.stdout.write(`committed ${result.runId}\n`);
}
process.stdout.write('done\n');
await history.close();
