import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { answerFraming } from '../../src-shared/question-types';
import path from 'node:path';
import type { Frame, SeriesDetail } from '../../src-shared/contracts/dicom';
import type { GenerationTask, PackManifest, TaskSpec } from '../../src-shared/contracts/model-pack';
import { workflowErrorCodes, type AskOutcome, type GenerateOutcome, type workflowContract } from '../../src-shared/contracts/workflow';
import { DomainError } from '../../src-shared/ipc/envelope';
import { APP_NAME, appVersion } from '../shell/app-info';
import { writeFileAtomic } from '../fs/atomic-write';
import { fileStamp, type ExportDestinations } from '../fs/export-destination';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../fs/private-files';
import { reencodeViewPng } from './view-png';
import { isDiskFull } from '../fs/disk-full';
import type { DicomService } from '../dicom/dicom-service';
import type { DomainHandlers, EventSink } from '../ipc/registry';
import type { JobManager } from '../jobs/job-manager';
import type { ModelRuntime } from '../model/runtime';
import type { HistoryService } from '../store/history-service';
import { DerivedSeriesWriter, readSourceAttributes, shortRunId, stampReview, type DerivedSlice, type ReviewStamp } from './derived-dicom';
import { modalityMismatch, taskSourceModality } from '../../src-shared/task-facts';
import type { RunRecord } from '../../src-shared/contracts/history';
import { derivedSlice, outputModalityOf } from './derived-slice';
import { frameToModelInput, inputWindowFor, type InputWindow } from '../model/model-input';
import { isoDate, stableId } from './case-ids';
import { ANSWER_CONFIDENCE_LABEL, CONFIDENCE_MAP_LABEL, CYCLE_DIFFERENCE_LABEL, CONFIDENCE_MEDIA_TYPE, confidenceMapName, cycleDifferenceName, decodeConfidenceMap, encodeConfidenceMap, meanFigures } from './confidence-artifacts';
import type { ConfidenceSummary } from '../model/confidence';
import { writeConfidenceSeries } from './confidence-dicom';
import { CYCLE_REVERSE, cycleCheck, cycleDifferencePng, type CycleCheck } from './cycle-check';

/** The slice of other services the workflow needs; each is the real service in the app. */
export interface WorkflowDeps {
  jobs: JobManager;
  dicom: Pick<DicomService, 'getSeries' | 'getFrame' | 'imageFile' | 'indexWritten' | 'listStudies'>;
  /** The loaded model, or null (the app runs with no model); loads the default pack on first use. */
  model: () => Promise<ModelRuntime | null>;
  history: HistoryService;
  dataDir: string;
  assertTaskAllowed: (task: string) => void;
  assertExportAllowed: () => void;
  /** Throws when the machine policy forbids exporting a run a person rejected (disableRejectedExport). */
  assertRejectedExportAllowed: () => void;
  /** Where exports the window asks for go (main names them; the window never passes a path). */
  exports: ExportDestinations;
}

export class WorkflowService {
  constructor(private readonly deps: WorkflowDeps) {}

  private async runtime(): Promise<ModelRuntime> {
    const rt = await this.deps.model();
    if (!rt) throw new DomainError(workflowErrorCodes.noPack, 'No model pack is loaded: load a verified pack in the model panel first.');
    return rt;
  }

  private async series(seriesUid: string): Promise<SeriesDetail> {
    const series = this.deps.dicom.getSeries(seriesUid);
    if (series.imageCount === 0) throw new DomainError(workflowErrorCodes.notImage, 'This series holds no images (a report, plan or other non-image object); the model reads images.');
    return series;
  }

  private async frame(seriesUid: string, index: number): Promise<Frame> {
    return this.deps.dicom.getFrame(seriesUid, index);
  }

  private filePath(seriesUid: string, index: number): string | null {
    return this.deps.dicom.imageFile(seriesUid, index);
  }

  private taskSpec(rt: ModelRuntime, task: string, kind: TaskSpec['kind']): TaskSpec {
    const spec = (rt.manifest.tasks as PackManifest['tasks'])[task as keyof PackManifest['tasks']];
    if (!spec || spec.kind !== kind) throw new DomainError(workflowErrorCodes.taskUnavailable, `The loaded pack ${rt.manifest.name} does not offer the task "${task}".`);
    return spec;
  }

  /** Turns one frame into the model's input (model-input.ts, as every path does); refuses colour clearly. */
  private modelInput(frame: Frame, window: InputWindow) {
    if (frame.color) throw new DomainError(workflowErrorCodes.notImage, 'This series is in colour; the model reads greyscale CT and MR images.');
    return frameToModelInput(frame, window);
  }

  /** The case for a study, and the history rows of the given series, created on first use. */
  private async caseFor(series: SeriesDetail, firstFile: string | null): Promise<{ caseId: string; seriesId: string; studyId: string }> {
    let patientName: string | null = null;
    let patientId: string | null = null;
    let studyDate: string | null = null;
    if (firstFile) {
      try {
        const src = readSourceAttributes(firstFile);
        patientName = src.PatientName ?? null;
        patientId = src.PatientID ?? null;
        studyDate = isoDate(src.StudyDate);
      } catch {
        // The case is still recorded, by UIDs only.
      }
    }
    const caseId = stableId('case', series.studyUid);
    const studyId = stableId('study', series.studyUid);
    const seriesId = stableId('series', series.seriesUid);
    await this.deps.history.ensureCase({
      caseId,
      title: series.seriesDescription || null,
      patientId,
      patientName,
      studies: [
        {
          studyId,
          studyUid: series.studyUid,
          studyDate,
          description: null,
          accession: null,
          series: [{ seriesId, seriesUid: series.seriesUid, modality: series.modality, description: series.seriesDescription, instanceCount: series.imageCount, location: firstFile ? path.dirname(firstFile) : null }],
        },
      ],
    });
    return { caseId, seriesId, studyId };
  }

  ask(request: { seriesUid: string; sliceIndex: number; task: 'vqa' | 'report'; question: string; maxTokens: number }, sink: EventSink) {
    this.deps.assertTaskAllowed(request.task);
    return this.deps.jobs.start({
      kind: 'workflow-ask',
      sink,
      run: async ({ signal, progress }): Promise<AskOutcome> => {
        const rt = await this.runtime();
        const spec = this.taskSpec(rt, request.task, 'comprehension');
        const series = await this.series(request.seriesUid);
        if (request.sliceIndex >= series.imageCount) throw new DomainError('BAD_REQUEST', `slice ${request.sliceIndex + 1} is beyond the ${series.imageCount} images of this series`);
        const frame = await this.frame(request.seriesUid, request.sliceIndex);
        const { image, window } = this.modelInput(frame, inputWindowFor(spec, series.modality));
        const question = request.question.trim() || spec.defaultQuestion || (request.task === 'report' ? 'Write a short report of this image.' : '');
        if (!question) throw new DomainError('BAD_REQUEST', 'Type a question first.');
        const where = await this.caseFor(series, this.filePath(series.seriesUid, request.sliceIndex));
        const runId = `run-${randomUUID()}`;
        const startedAt = Date.now();
        await this.deps.history.recordRun({
          runId, caseId: where.caseId, task: request.task, prompt: question, packId: `${rt.manifest.name}@${rt.manifest.version}`, packHash: rt.manifestSha256,
          plugin: spec.plugin, executionProvider: rt.provider, params: { sliceIndex: request.sliceIndex, maxTokens: request.maxTokens, window: window.text, decoding: 'greedy' }, seed: null, startedAt, inputSeriesIds: [where.seriesId],
        });
        const { banner, note } = answerFraming(rt.manifest, request.task, question);
        let text = banner;
        let tokens = 0;
        if (banner) progress({ done: 0, total: request.maxTokens, appendText: banner });
        try {
          const result = await rt.ask({
            image, question, task: request.task, maxTokens: request.maxTokens, signal,
            onToken: (delta) => {
              text += delta;
              tokens += 1;
              progress({ done: tokens, total: request.maxTokens, appendText: delta });
            },
          });
          text = banner + result.text;
          const stop = signal.aborted ? 'cancelled' : result.stopReason;
          // word offsets move past the banner, so they index the text as recorded and shown
          const confidence = { ...result.confidence, words: result.confidence.words.map((w) => ({ ...w, start: w.start + banner.length, end: w.end + banner.length })) };
          await this.deps.history.recordOutput({ outputId: `out-${randomUUID()}`, runId, kind: 'text', label: request.task === 'report' ? 'Draft report' : 'Answer', text, artifacts: [] });
          await this.deps.history.recordOutput({
            outputId: `out-${randomUUID()}`, runId, kind: 'file', label: ANSWER_CONFIDENCE_LABEL, text: null,
            artifacts: [{ bytes: new Uint8Array(Buffer.from(JSON.stringify(confidence))), name: 'answer-confidence.json', mediaType: CONFIDENCE_MEDIA_TYPE }],
          });
          await this.deps.history.finishRun({ runId, status: stop === 'cancelled' ? 'cancelled' : 'succeeded', timing: result.timings });
          return { runId, caseId: where.caseId, text, stopReason: stop, provider: rt.provider, packName: rt.manifest.name, confidence, ...(note ? { note } : {}) };
        } catch (e) {
          // Whatever streamed before a cancel or failure is kept with the run.
          if (text) await this.deps.history.recordOutput({ outputId: `out-${randomUUID()}`, runId, kind: 'text', label: 'Partial answer', text, artifacts: [] });
          await this.deps.history.finishRun({ runId, status: signal.aborted ? 'cancelled' : 'failed', error: e instanceof Error ? e.message : String(e) });
          if (signal.aborted) return { runId, caseId: where.caseId, text, stopReason: 'cancelled', provider: rt.provider, packName: rt.manifest.name };
          throw e;
        }
      },
    });
  }

  /**
   * Generated series of a study are numbered 9001, 9002, ... in the order they are made: the next number
   * above both the study's series in the index and the generated series its case history records (a
   * restart or the CLI's fresh index still counts the earlier ones).
   */
  private async nextGeneratedSeriesNumber(studyUid: string, caseId: string, studyId: string): Promise<number> {
    const indexed = this.deps.dicom.listStudies().find((s) => s.studyUid === studyUid)?.series ?? [];
    const highestIndexed = Math.max(9000, ...indexed.map((s) => s.seriesNumber ?? 0).filter((n) => n > 9000 && n < 10000));
    const recorded = (await this.deps.history.getCase(caseId, false)).studies.find((s) => s.studyId === studyId)?.series.filter((s) => s.generated).length ?? 0;
    return Math.max(highestIndexed + 1, 9001 + recorded);
  }

  generate(request: { seriesUid: string; task: GenerationTask; from?: number; to?: number; allowModalityMismatch?: boolean; cycle?: boolean }, sink: EventSink) {
    this.deps.assertTaskAllowed(request.task);
    const reverseTask = CYCLE_REVERSE[request.task];
    if (request.cycle) {
      if (!reverseTask) throw new DomainError('BAD_REQUEST', `A cycle check is for CT→MRI and MRI→CT; ${request.task} has no reverse task.`);
      this.deps.assertTaskAllowed(reverseTask);
    }
    let partial: GenerateOutcome | null = null;
    return this.deps.jobs.start({
      kind: 'workflow-generate',
      sink,
      onCancelled: () => partial,
      run: async ({ signal, progress }): Promise<GenerateOutcome> => {
        const rt = await this.runtime();
        const spec = this.taskSpec(rt, request.task, 'generation');
        const series = await this.series(request.seriesUid);
        // A conversion reads one modality: MRI → CT on a CT series is refused unless explicitly overridden.
        const mismatch = modalityMismatch(request.task, series.modality);
        if (mismatch && !request.allowModalityMismatch) throw new DomainError(workflowErrorCodes.modalityMismatch, mismatch);
        const from = request.from ?? 0;
        const to = Math.min(request.to ?? series.imageCount - 1, series.imageCount - 1);
        if (from > to) throw new DomainError('BAD_REQUEST', `slice range ${from + 1}–${to + 1} is outside the ${series.imageCount} images of this series`);
        const firstFile = this.filePath(series.seriesUid, from);
        if (!firstFile) throw new DomainError(workflowErrorCodes.notImage, 'The series has no readable image files.');
        const source = readSourceAttributes(firstFile);
        const where = await this.caseFor(series, firstFile);
        const runId = `run-${randomUUID()}`;
        const seriesNumber = await this.nextGeneratedSeriesNumber(series.studyUid, where.caseId, where.studyId);
        const modality = outputModalityOf(request.task, spec, series.modality);
        const inputWindow = inputWindowFor(spec, series.modality);
        const outDir = path.join(this.deps.dataDir, 'generated', runId);
        const writer = new DerivedSeriesWriter(
          {
            task: request.task,
            runId,
            modality,
            provenance: { packName: rt.manifest.name, packVersion: rt.manifest.version, packSha256: rt.manifestSha256, demonstration: rt.manifest.intendedUse.demonstration, appName: APP_NAME, appVersion: appVersion() },
            source,
            seriesNumber,
          },
          outDir,
        );
        const total = to - from + 1;
        await this.deps.history.recordRun({
          runId, caseId: where.caseId, task: request.task, prompt: spec.promptTemplate, packId: `${rt.manifest.name}@${rt.manifest.version}`, packHash: rt.manifestSha256,
          plugin: spec.plugin, executionProvider: rt.provider, inputSeriesIds: [where.seriesId], seed: null,
          params: {
            from, to, inputWindow, output: spec.output ?? null, decoding: 'greedy, image tokens only', seriesNumber,
            ...(mismatch ? { modalityOverride: { seriesModality: series.modality, taskReads: taskSourceModality(request.task), by: this.deps.history.actor } } : {}),
          },
        });
        const written: Array<{ slice: DerivedSlice; file: string; confidence: Uint8Array; figures: ConfidenceSummary; cycle?: Pick<CycleCheck, 'meanAbsDifference' | 'unit'> & { png: Uint8Array } }> = [];
        const started = performance.now();
        const outcome = (complete: boolean): GenerateOutcome => ({
          runId, caseId: where.caseId, generatedSeriesUid: written.length ? writer.seriesInstanceUid : null, slicesWritten: written.length, slicesRequested: total, complete, outputFolder: written.length ? outDir : null, provider: rt.provider, packName: rt.manifest.name,
          ...(written.length ? { confidence: meanFigures(written.map((w) => w.figures)) } : {}),
          ...(request.cycle && reverseTask && written.length ? { cycle: { reverseTask, unit: written[0]!.cycle!.unit, meanAbsDifference: written.reduce((s, w) => s + w.cycle!.meanAbsDifference, 0) / written.length, slices: written.length } } : {}),
        });
        try {
          for (let i = from; i <= to; i += 1) {
            if (signal.aborted) break;
            const frame = await this.frame(request.seriesUid, i);
            const { image, window } = this.modelInput(frame, inputWindow);
            let result: Awaited<ReturnType<ModelRuntime['generate']>>;
            try {
              result = await rt.generate({
                task: request.task, image, signal,
                onProgress: (done, all) => {
                  const doneSlices = i - from + done / Math.max(1, all);
                  const elapsed = (performance.now() - started) / 1000;
                  progress({ done: doneSlices, total, message: `slice ${i - from + 1} of ${total}`, etaSeconds: doneSlices > 0 ? (elapsed / doneSlices) * (total - doneSlices) : undefined });
                },
              });
            } catch (e) {
              if (signal.aborted) break; // cancelled mid-slice: keep the slices already written
              throw e;
            }
            if (signal.aborted) break;
            let cycle: (typeof written)[number]['cycle'];
            if (request.cycle) {
              try {
                const c = await cycleCheck(rt, request.task, image, result, window, signal);
                cycle = { meanAbsDifference: c.meanAbsDifference, unit: c.unit, png: cycleDifferencePng(c) };
              } catch (e) {
                if (signal.aborted) break;
                throw e;
              }
            }
            const range: [number, number] = spec.output && spec.output.modality !== 'same' ? spec.output.range : [window.lo, window.hi];
            const slice = derivedSlice(frame, result, range, modality === 'CT');
            const file = writer.writeSlice(slice, written.length);
            written.push({ slice, file: file.path, confidence: encodeConfidenceMap(result.confidence), figures: result.confidence.summary, ...(cycle ? { cycle } : {}) });
            this.deps.dicom.indexWritten([file]);
            partial = outcome(false);
            progress({ done: i - from + 1, total, message: `slice ${i - from + 1} of ${total} written`, data: { generatedSeriesUid: writer.seriesInstanceUid, slicesWritten: written.length, lastSliceIndex: i } });
          }
          const complete = written.length === total;
          if (!complete && written.length > 0) {
            // A cancelled series keeps its slices, re-labelled INCOMPLETE (same SOP instances).
            this.deps.dicom.indexWritten(written.map((w, k) => writer.writeSlice(w.slice, k, true)));
          }
          if (written.length > 0) {
            const artifacts = written.map((w, k) => ({ bytes: new Uint8Array(readFileSync(w.file)), name: `${String(k + 1).padStart(4, '0')}.dcm`, mediaType: 'application/dicom' }));
            await this.deps.history.recordOutput({
              outputId: `out-${randomUUID()}`, runId, kind: 'series', label: `${request.task}${complete ? '' : ' (incomplete)'}`, text: null,
              generatedSeries: { studyId: where.studyId, seriesId: stableId('series', writer.seriesInstanceUid), seriesUid: writer.seriesInstanceUid, modality, description: `AI ${request.task} ${shortRunId(runId)} #${seriesNumber}`, instanceCount: written.length, location: outDir, generated: true },
              artifacts,
            });
            await this.deps.history.recordOutput({
              outputId: `out-${randomUUID()}`, runId, kind: 'file', label: CONFIDENCE_MAP_LABEL, text: null,
              artifacts: written.map((w, k) => ({ bytes: w.confidence, name: confidenceMapName(k), mediaType: CONFIDENCE_MEDIA_TYPE })),
            });
            if (request.cycle) {
              await this.deps.history.recordOutput({
                outputId: `out-${randomUUID()}`, runId, kind: 'file', label: CYCLE_DIFFERENCE_LABEL, text: written.map((w, k) => `slice ${k + 1}: ${w.cycle!.meanAbsDifference.toFixed(3)} ${w.cycle!.unit}`).join('\n'),
                artifacts: written.map((w, k) => ({ bytes: w.cycle!.png, name: cycleDifferenceName(k), mediaType: 'image/png' })),
              });
            }
          }
          await this.deps.history.finishRun({ runId, status: complete ? 'succeeded' : 'cancelled', timing: { totalMs: performance.now() - started, slices: written.length } });
          partial = outcome(complete);
          return partial;
        } catch (e) {
          await this.deps.history.finishRun({ runId, status: signal.aborted ? 'cancelled' : 'failed', error: e instanceof Error ? e.message : String(e) }).catch(() => undefined);
          if (signal.aborted) return outcome(false);
          throw e;
        } finally {
          // A run that wrote no slice leaves no folder: `history check` lists generated folders no series refers to.
          if (written.length === 0) rmSync(outDir, { recursive: true, force: true });
        }
      },
    });
  }

  /**
   * A generating run's slices in generated/<runId>/ rewritten with its current review state and
   * re-indexed, so the study list says "REJECTED" or "ACCEPTED" next to the series. The review itself is
   * already recorded: a failure here (a folder removed by hand) leaves the files as they were and is not
   * the reviewer's error; export stamps the state from the history either way.
   */
  async restampGeneratedSeries(runId: string): Promise<void> {
    try {
      const found = await this.deps.history.findRun(runId);
      if (!found || !found.run.outputs.some((o) => o.kind === 'series')) return;
      const folder = path.join(this.deps.dataDir, 'generated', runId);
      if (!existsSync(folder)) return;
      const stamp = reviewOf(found.run);
      const files = readdirSync(folder).filter((n) => n.endsWith('.dcm')).sort().map((name) => {
        const file = path.join(folder, name);
        const bytes = stampReview(readFileSync(file), runId, stamp);
        writeFileAtomic(file, bytes);
        return { path: file, bytes };
      });
      this.deps.dicom.indexWritten(files);
    } catch {
      // See above: the recorded review stands; the folder keeps its previous stamp.
    }
  }

  /** The confidence map recorded with slice `sliceIndex` of a generated series (from the history: works after a restart). */
  async confidenceMap(generatedSeriesUid: string, sliceIndex: number) {
    const { run } = await this.generatedSeries(generatedSeriesUid);
    const maps = run.outputs.find((o) => o.kind === 'file' && o.label === CONFIDENCE_MAP_LABEL);
    const artifact = maps?.artifacts.find((a) => a.name === confidenceMapName(sliceIndex));
    if (!artifact) throw new DomainError(workflowErrorCodes.noRun, `No confidence map is recorded for slice ${sliceIndex + 1} of ${generatedSeriesUid} (runs from before confidence maps have none).`);
    const { bytes } = await this.deps.history.readArtifact(artifact.hash);
    const { maxEntropy: _m, ...view } = decodeConfidenceMap(bytes);
    return view;
  }

  /**
   * Writes a generated series' confidence maps as a DICOM Secondary Capture series (confidence-dicom.ts)
   * into the new folder `destination`, from what the history holds.
   */
  async exportConfidenceSeries(generatedSeriesUid: string, destination: string): Promise<{ folder: string; files: number; seriesInstanceUid: string }> {
    this.deps.assertExportAllowed();
    const { run, output } = await this.generatedSeries(generatedSeriesUid);
    const maps = run.outputs.find((o) => o.kind === 'file' && o.label === CONFIDENCE_MAP_LABEL);
    if (!maps) throw new DomainError(workflowErrorCodes.noRun, `No confidence maps are recorded for ${generatedSeriesUid}.`);
    const slices = [];
    for (const [k, a] of [...output.artifacts].sort((x, y) => x.name.localeCompare(y.name)).entries()) {
      const m = maps.artifacts.find((x) => x.name === confidenceMapName(k));
      if (!m) throw new DomainError(workflowErrorCodes.noRun, `No confidence map is recorded for slice ${k + 1} of ${generatedSeriesUid}.`);
      slices.push({ dicom: (await this.deps.history.readArtifact(a.hash)).bytes, map: (await this.deps.history.readArtifact(m.hash)).bytes });
    }
    const [packName, packVersion] = run.packId.split('@') as [string, string];
    const target = path.resolve(destination);
    if (existsSync(target)) throw exportFailure(Object.assign(new Error('exists'), { code: 'EEXIST' }), target);
    try {
      const r = writeConfidenceSeries({ task: run.task as GenerationTask, runId: run.runId, packName, packVersion: packVersion ?? '', packSha256: run.packHash, slices }, target);
      return { folder: target, files: r.files.length, seriesInstanceUid: r.seriesInstanceUid };
    } catch (e) {
      rmSync(target, { recursive: true, force: true }); // whole or absent
      throw exportFailure(e, target);
    }
  }

  // ---- exports: the window's entry points name nothing; main picks the place (ExportDestinations) ----

  async exportSeriesForWindow(generatedSeriesUid: string, confirmReview = false): Promise<SeriesExport> {
    this.deps.assertExportAllowed();
    const { run } = await this.generatedSeries(generatedSeriesUid);
    // Asked before the save dialog: an unconfirmed export of an unreviewed run never asks where to put it.
    this.checkReviewForExport(run, confirmReview);
    const target = await this.deps.exports.choose(`AI-${run.task}-${shortRunId(run.runId)}-${fileStamp()}`, 'folder', 'Export the generated series as DICOM');
    return this.exportSeries(generatedSeriesUid, target, { confirmReview });
  }

  /** A slice's cycle difference map and figure, from what the history recorded with the run. */
  async cycleDifferenceMap(generatedSeriesUid: string, sliceIndex: number): Promise<{ png: Uint8Array<ArrayBuffer>; figure: string }> {
    const { run } = await this.generatedSeries(generatedSeriesUid);
    const output = run.outputs.find((o) => o.kind === 'file' && o.label === CYCLE_DIFFERENCE_LABEL);
    const artifact = output?.artifacts.find((a) => a.name === cycleDifferenceName(sliceIndex));
    if (!output || !artifact) throw new DomainError(workflowErrorCodes.noRun, `No cycle check is recorded for slice ${sliceIndex + 1} of ${generatedSeriesUid} (run one with the cycle check on).`);
    const figure = (output.text ?? '').split('\n')[sliceIndex] ?? '';
    return { png: new Uint8Array((await this.deps.history.readArtifact(artifact.hash)).bytes), figure };
  }

  async exportConfidenceSeriesForWindow(generatedSeriesUid: string): Promise<{ folder: string; files: number; seriesInstanceUid: string }> {
    this.deps.assertExportAllowed();
    const { run } = await this.generatedSeries(generatedSeriesUid);
    const target = await this.deps.exports.choose(`AI-${run.task}-${shortRunId(run.runId)}-confidence-${fileStamp()}`, 'folder', 'Export the confidence maps as DICOM');
    return this.exportConfidenceSeries(generatedSeriesUid, target);
  }

  async exportReportForWindow(runId: string, format: 'md' | 'txt'): Promise<{ path: string; bytes: number }> {
    this.deps.assertExportAllowed();
    const file = await this.deps.exports.choose(`report-${shortRunId(runId)}-${fileStamp()}.${format}`, 'file', 'Export the report');
    return this.exportReport(runId, file, format);
  }

  async exportPngForWindow(png: Uint8Array): Promise<{ path: string; bytes: number }> {
    this.deps.assertExportAllowed();
    // Checked before the dialog opens: a bad image never asks the person where to put it.
    const clean = reencodeViewPng(png);
    const file = await this.deps.exports.choose(`view-${fileStamp()}-${randomUUID().slice(0, 4)}.png`, 'file', 'Save the view as PNG');
    return this.writePng(file, clean);
  }

  /** A generated series as the case history holds it (so an export works after a restart too). */
  private async generatedSeries(uid: string) {
    const found = await this.deps.history.findGeneratedSeries(uid);
    if (!found) throw new DomainError(workflowErrorCodes.noRun, `No generated series ${uid} is recorded in the case history.`);
    return found;
  }

  /**
   * An accepted (or edited) run exports as it is; an unreviewed or rejected one only with the person's
   * confirmation, and a rejected one not at all where the policy says so.
   */
  private checkReviewForExport(run: RunRecord, confirmReview: boolean): ReviewStamp {
    const stamp = reviewOf(run);
    if (stamp.state === 'rejected') this.deps.assertRejectedExportAllowed();
    if ((stamp.state === 'unreviewed' || stamp.state === 'rejected') && !confirmReview) {
      const what = stamp.state === 'rejected' ? `was rejected${stamp.reviewer ? ` by ${stamp.reviewer}` : ''}` : 'has not been reviewed';
      throw new DomainError(
        workflowErrorCodes.reviewNotAccepted,
        `Run ${shortRunId(run.runId)} (${run.task}) ${what}. Export it anyway only if you mean to: its files will say "${stamp.state}". Confirm to export (CLI: --confirm-unreviewed).`,
      );
    }
    return stamp;
  }

  /**
   * Writes a generated series, from the slices stored with its run in the history, into the folder
   * `destination` (made if missing); an existing file there is never replaced. Each file carries the
   * run's review state as of now (stampReview); the export and that state go to the audit trail.
   */
  async exportSeries(generatedSeriesUid: string, destination: string, options: { confirmReview?: boolean } = {}): Promise<SeriesExport> {
    this.deps.assertExportAllowed();
    const { output, run } = await this.generatedSeries(generatedSeriesUid);
    const stamp = this.checkReviewForExport(run, options.confirmReview === true);
    const target = path.resolve(destination);
    const written: string[] = [];
    let created = false;
    try {
      created = !existsSync(target);
      makePrivateDir(target);
      for (const a of [...output.artifacts].sort((x, y) => x.name.localeCompare(y.name))) {
        const { bytes } = await this.deps.history.readArtifact(a.hash);
        const file = path.join(target, path.basename(a.name));
        writeFileSync(file, stampReview(bytes, run.runId, stamp), { flag: 'wx', mode: PRIVATE_FILE_MODE });
        written.push(file);
      }
    } catch (e) {
      // An export is whole or absent: remove what was written before the failure (e.g. a full disk).
      for (const f of written) rmSync(f, { force: true });
      if (created) rmSync(target, { recursive: true, force: true });
      if (e instanceof DomainError) throw e;
      throw exportFailure(e, target);
    }
    await this.deps.history.recordAudit({
      action: 'export.series', entity: 'run', entityId: run.runId,
      detail: { folder: target, files: written.length, seriesUid: generatedSeriesUid, reviewState: stamp.state, confirmedUnreviewed: stamp.state === 'unreviewed' || stamp.state === 'rejected' },
    });
    return { folder: target, files: written.length, reviewState: stamp.state };
  }

  async exportReport(runId: string, destination: string, format: 'md' | 'txt'): Promise<{ path: string; bytes: number }> {
    this.deps.assertExportAllowed();
    const found = await this.deps.history.findRun(runId);
    if (!found) throw new DomainError(workflowErrorCodes.noRun, `No run ${runId} in the case history.`);
    const { run, caseSummary } = found;
    const text = run.outputs.filter((o) => o.kind === 'text').map((o) => o.text ?? '').join('\n\n');
    const lines =
      format === 'md'
        ? [`# ${run.task === 'report' ? 'Draft report' : 'Answer'}`, '', `- Patient: ${caseSummary.patientName ?? caseSummary.patientId ?? 'unknown'}`, `- Model: ${run.packId} (${run.executionProvider.toUpperCase()})`, `- Question: ${run.prompt}`, `- Date: ${new Date(run.startedAt).toISOString()}`, '', text, '', '> AI-generated text. ' + (/nano/i.test(run.packId) ? 'Demonstration model, not for clinical use.' : 'Review before use.')]
        : [text, '', `AI-generated by ${run.packId}.`];
    const body = `${lines.join('\n')}\n`;
    const file = path.resolve(destination);
    try {
      writeFileAtomic(file, body, { overwrite: false });
    } catch (e) {
      throw exportFailure(e, file);
    }
    await this.deps.history.recordAudit({ action: 'export.report', entity: 'run', entityId: runId, detail: { path: file, format } });
    return { path: file, bytes: Buffer.byteLength(body) };
  }

  private async writePng(destination: string, png: Uint8Array): Promise<{ path: string; bytes: number }> {
    const file = path.resolve(destination);
    try {
      writeFileAtomic(file, png, { overwrite: false });
    } catch (e) {
      throw exportFailure(e, file);
    }
    await this.deps.history.recordAudit({ action: 'export.png', entity: 'view', entityId: null, detail: { path: file, bytes: png.byteLength } });
    return { path: file, bytes: png.byteLength };
  }
}

export interface SeriesExport {
  folder: string;
  files: number;
  reviewState: ReviewStamp['state'];
}

/** The run's review state: its latest decision (reviews come oldest first), or unreviewed. */
function reviewOf(run: RunRecord): ReviewStamp {
  const last = run.reviews.at(-1);
  return last ? { state: last.decision, reviewer: last.reviewer, at: last.at } : { state: 'unreviewed' };
}

/** A file-system failure during an export, as a message a person can act on. */
function exportFailure(e: unknown, target: string): DomainError {
  const code = (e as NodeJS.ErrnoException).code;
  if (isDiskFull(e)) return new DomainError(workflowErrorCodes.exportFailed, `the disk is full at ${target}; nothing was exported.`);
  if (code === 'EEXIST') return new DomainError(workflowErrorCodes.exportFailed, `${target} already exists and is never replaced; nothing was exported.`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new DomainError(workflowErrorCodes.exportFailed, `no permission to write ${target}; nothing was exported.`);
  return new DomainError(workflowErrorCodes.exportFailed, `export to ${target} failed (${code ?? (e instanceof Error ? e.message : String(e))}); nothing was exported.`);
}

export function createWorkflowHandlers(service: WorkflowService): DomainHandlers<typeof workflowContract> {
  return {
    ask: (request, ctx) => service.ask(request, ctx.sink),
    generate: (request, ctx) => service.generate(request, ctx.sink),
    confidenceMap: ({ generatedSeriesUid, sliceIndex }) => service.confidenceMap(generatedSeriesUid, sliceIndex),
    exportSeries: ({ generatedSeriesUid, confirmReview }) => service.exportSeriesForWindow(generatedSeriesUid, confirmReview === true),
    cycleDifferenceMap: ({ generatedSeriesUid, sliceIndex }) => service.cycleDifferenceMap(generatedSeriesUid, sliceIndex),
    exportConfidenceSeries: ({ generatedSeriesUid }) => service.exportConfidenceSeriesForWindow(generatedSeriesUid),
    exportReport: ({ runId, format }) => service.exportReportForWindow(runId, format),
    exportPng: ({ png }) => service.exportPngForWindow(png),
  };
}
