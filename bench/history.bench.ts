import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { percentile, type BenchRow } from './bench-types';
import { migrate } from '../src-main/store/database';
import { HistoryDb, type ParsedCaseQuery } from '../src-main/store/history-db';
import { HistoryService } from '../src-main/store/history-service';

/**
 * History store benchmarks (issue 5): insert rate of runs with outputs through the real service (SQL
 * worker, synchronous=FULL, artifacts fsynced), search latency over 100,000 runs, online backup of a
 * ~1 GB store, quick_check at start on that store, and case export.
 * Sizes: HG_BENCH_RUNS (default 100000), HG_BENCH_STORE_MB (default 1024), HG_BENCH_INSERTS (default 400).
 */
export async function runHistoryBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hg-bench-history-'));
  try {
    rows.push(...(await insertRate(path.join(dir, 'insert'))));
    rows.push(...(await bigStore(path.join(dir, 'big'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function mkRun(i: number, caseId: string, startedAt: number) {
  return {
    runId: `run-${i}`,
    caseId,
    task: ['vqa', 'report', 'super-resolution', 'ct-to-mri'][i % 4]!,
    prompt: `Describe the findings (${i})`,
    packId: 'healthgpt-m3',
    packHash: 'a'.repeat(64),
    plugin: i % 4 < 2 ? 'comprehension' : 'generation',
    executionProvider: 'cpu',
    params: { temperature: 0, maxTokens: 256 },
    seed: i,
    startedAt,
  };
}

async function insertRate(dataDir: string): Promise<BenchRow[]> {
  const n = Number(process.env.HG_BENCH_INSERTS ?? 400);
  const h = await HistoryService.start({ dataDir, actor: 'bench' });
  try {
    await h.recordCase({ caseId: 'c', patientName: 'Bench^Insert', studies: [] });
    const image = () => randomBytes(16 * 1024);
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1) {
      const run = mkRun(i, 'c', Date.now());
      await h.recordCompletedRun({
        run,
        outputs: [
          { outputId: `o-${i}-t`, runId: run.runId, kind: 'text', text: 'No acute intracranial abnormality.', artifacts: [] },
          { outputId: `o-${i}-i`, runId: run.runId, kind: 'image', artifacts: [{ bytes: image(), mediaType: 'image/png', name: 'out.png' }] },
        ],
        end: { runId: run.runId, status: 'succeeded', timing: { total: 1000 } },
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    // Rows per run: runs 1, outputs 2, artifacts 1, output_artifacts 1, audit_log 4.
    return [
      { benchmark: 'history insert', metric: 'runs with 2 outputs + 16 KiB artifact', value: n / seconds, unit: 'runs/s', note: `${n} runs, one transaction each, synchronous=FULL, artifact fsync+rename` },
      { benchmark: 'history insert', metric: 'rows', value: (n * 9) / seconds, unit: 'rows/s', note: '9 rows per run (run, 2 outputs, artifact, link, 4 audit)' },
    ];
  } finally {
    await h.close();
  }
}

async function bigStore(dataDir: string): Promise<BenchRow[]> {
  const runs = Number(process.env.HG_BENCH_RUNS ?? 100_000);
  const targetMb = Number(process.env.HG_BENCH_STORE_MB ?? 1024);
  const runsPerCase = 5;
  const cases = Math.ceil(runs / runsPerCase);
  const file = path.join(dataDir, 'history.db');
  const rows: BenchRow[] = [];

  // Build: the store's own write path (HistoryDb) in large transactions, without per-commit syncs.
  const buildStart = performance.now();
  {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('foreign_keys = ON');
    migrate(db);
    const hdb = new HistoryDb(db, 'bench');
    const textBytes = Math.max(0, Math.floor((targetMb * 1024 * 1024) / runs) - 600);
    const filler = 'The study shows no acute abnormality. '.repeat(Math.ceil(textBytes / 38)).slice(0, textBytes);
    const day0 = Date.parse('2020-01-01T00:00:00Z');
    const batch = db.transaction((from: number, to: number) => {
      for (let c = from; c < to; c += 1) {
        const date = new Date(day0 + (c % 2000) * 86_400_000).toISOString().slice(0, 10);
        hdb.recordCase({
          caseId: `case-${c}`,
          patientId: `PID${String(c % 7000).padStart(6, '0')}`,
          patientName: `Patient${c % 7000}^Bench`,
          createdAt: day0 + c * 60_000,
          studies: [{ studyId: `study-${c}`, studyUid: `1.2.826.0.1.3680043.${c}`, studyDate: date, description: `CT head ${c % 50}`, accession: `A${c}`, series: [] }],
        });
        for (let r = 0; r < runsPerCase; r += 1) {
          const i = c * runsPerCase + r;
          if (i >= runs) break;
          const run = mkRun(i, `case-${c}`, day0 + c * 60_000 + r * 1000);
          hdb.recordCompletedRun({
            run,
            outputs: [{ outputId: `o-${i}`, runId: run.runId, kind: 'text', text: filler, artifacts: [] }],
            end: { runId: run.runId, status: i % 17 === 0 ? 'failed' : 'succeeded', endedAt: run.startedAt + 900 },
          });
          if (i % 9 === 0) hdb.recordReview({ reviewId: `rev-${i}`, runId: run.runId, decision: i % 2 ? 'accepted' : 'rejected' });
        }
      }
    });
    for (let c = 0; c < cases; c += 500) batch(c, Math.min(cases, c + 500));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  const buildSeconds = (performance.now() - buildStart) / 1000;
  const sizeMb = statSync(file).size / 2 ** 20;

  // Start: read-only inspection with quick_check, then open and migrate, in the worker.
  const openStart = performance.now();
  const h = await HistoryService.start({ dataDir, actor: 'bench' });
  const openMs = performance.now() - openStart;
  try {
    if ((await h.status()).state !== 'open') throw new Error('bench store refused');
    rows.push({ benchmark: 'history store', metric: `open until usable (quick_check) on ${sizeMb.toFixed(0)} MB`, value: openMs, unit: 'ms', note: `${runs} runs; runs in the background (status 'opening'); includes worker start; store built in ${buildSeconds.toFixed(1)} s` });

    // Search latency: the panel's filters, through the worker, warm cache.
    const queries: Array<Partial<ParsedCaseQuery>> = [
      {},
      { patient: 'Patient123' },
      { patient: 'PID0042' },
      { study: '1.2.826.0.1.3680043.1999' },
      { study: 'CT head 7' },
      { dateFrom: '2021-03-01', dateTo: '2021-03-31' },
      { task: 'ct-to-mri' },
      { status: 'failed' },
      { review: 'rejected' },
      { task: 'vqa', status: 'failed', dateFrom: '2022-01-01' },
      { offset: 5000 },
    ];
    const samples: number[] = [];
    const perQuery = new Map<number, number[]>();
    for (let rep = 0; rep < 12; rep += 1) {
      for (const [qi, q] of queries.entries()) {
        const t = performance.now();
        await h.listCases({ limit: 50, offset: 0, ...q });
        const ms = performance.now() - t;
        if (rep > 1) {
          samples.push(ms);
          perQuery.set(qi, [...(perQuery.get(qi) ?? []), ms]);
        }
      }
    }
    const worst = [...perQuery.entries()].map(([qi, s]) => [qi, percentile(s, 50)] as const).sort((a, b) => b[1] - a[1])[0];
    rows.push({ benchmark: 'history search', metric: `p50 over ${runs} runs`, value: percentile(samples, 50), unit: 'ms', note: `${queries.length} filter mixes × 10, page of 50 + total count` });
    rows.push({
      benchmark: 'history search',
      metric: `p95 over ${runs} runs`,
      value: percentile(samples, 95),
      unit: 'ms',
      note: worst ? `slowest filter: ${JSON.stringify(queries[worst[0]])} p50 ${worst[1].toFixed(1)} ms` : undefined,
    });
    const t = performance.now();
    await h.getCase('case-1234', false);
    rows.push({ benchmark: 'history search', metric: 'getCase (5 runs)', value: performance.now() - t, unit: 'ms' });

    // Online backup of the whole store.
    const backup = await h.backup(path.join(dataDir, 'backups', 'bench.db'));
    rows.push({
      benchmark: 'history backup',
      metric: `online backup of ${sizeMb.toFixed(0)} MB`,
      value: backup.durationMs / 1000,
      unit: 's',
      note: `${((backup.bytes / 2 ** 20) / (backup.durationMs / 1000)).toFixed(0)} MB/s incl. quick_check of the copy and fsync${sizeMb < 900 ? `; extrapolated to 1 GB: ${((backup.durationMs / 1000) * (1024 / sizeMb)).toFixed(1)} s` : ''}`,
    });

    // Case export: a case with a generated series of 40 slices of 512 KiB (about 20 MiB).
    await h.recordCase({ caseId: 'export-case', patientName: 'Export^Bench', studies: [{ studyId: 'es', studyUid: '1.2.3.4', series: [] }] });
    const slices = Array.from({ length: 40 }, () => ({ bytes: randomBytes(512 * 1024), mediaType: 'application/dicom', name: 'slice.dcm' }));
    await h.recordCompletedRun({
      run: mkRun(10_000_000, 'export-case', Date.now()),
      outputs: [{ outputId: 'eo', runId: 'run-10000000', kind: 'series', generatedSeries: { studyId: 'es', seriesId: 'eg', seriesUid: '2.25.1' }, artifacts: slices }],
      end: { runId: 'run-10000000', status: 'succeeded' },
    });
    const e0 = performance.now();
    const exp = await h.exportCase('export-case', path.join(dataDir, 'export.zip'));
    const exportSeconds = (performance.now() - e0) / 1000;
    rows.push({ benchmark: 'history export', metric: 'case with 40 × 512 KiB slices', value: exportSeconds * 1000, unit: 'ms', note: `${(exp.bytes / 2 ** 20).toFixed(1)} MiB zip, artifacts hash-verified, deflate level 1 (random bytes: incompressible)` });
  } finally {
    await h.close();
  }
  return rows;
}
