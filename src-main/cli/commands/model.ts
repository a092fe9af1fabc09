import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generationTaskSchema, comprehensionTaskSchema } from '../../../src-shared/contracts/model-pack';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { readModelInput, type FileInputOptions, type WindowChoice } from '../../model/dicom-input';
import { grayToPng } from '../../model/model-image';
import { aiGeneratedPngText, withPngText } from '../../model/png-text';
import { APP_NAME, appVersion } from '../../shell/app-info';
import { randomUUID } from 'node:crypto';
import { recordFileRun } from '../../workflow/file-run';
import { verifyPack } from '../../model/pack-verify';
import { loadPack } from '../../model/runtime';
import { answerFraming } from '../../../src-shared/question-types';
import { printResult, UsageError, type CliCommand, type CliIo } from '../cli-types';
import { generateSeriesFromFolder } from './generate-series';
import { ANSWER_CONFIDENCE_LABEL, CONFIDENCE_MAP_LABEL, CYCLE_DIFFERENCE_LABEL } from '../../workflow/confidence-artifacts';
import { CYCLE_REVERSE, cycleCheck, cycleDifferencePng, cycleMapFullScale } from '../../workflow/cycle-check';
import { parseProvider, resolvePack } from '../pack-args';
import { modalityMismatch, taskSourceModality } from '../../../src-shared/task-facts';
import { workflowErrorCodes } from '../../../src-shared/contracts/workflow';

/** An input path named on the command line that does not exist: said in words before any pack loads. */
function checkInputPath(file: string, option: string): void {
  if (!existsSync(file)) throw new UsageError(`${option}: No such file: ${file}`);
}

function parseWindow(text: string | undefined): WindowChoice | undefined {
  if (!text) return undefined;
  const m = /^(-?\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m) throw new UsageError('--window must be CENTER,WIDTH (for example 40,400)');
  return { center: Number(m[1]), width: Number(m[2]) };
}

function fileInputOptions(window: string | undefined, frame: string | undefined): FileInputOptions {
  const w = parseWindow(window);
  return { ...(w ? { window: w } : {}), ...(frame ? { frame: Number(frame) - 1 } : {}) };
}

async function openRuntime(packArg: string | undefined, io: CliIo, provider: string | undefined) {
  const services = await io.services();
  const dir = resolvePack(packArg, services);
  const verified = await verifyPack(dir, { ...services.packVerifyOptions(), keepContents: true });
  if (!verified.ok) throw new DomainError(verified.code, verified.message);
  services.policy.assertPackAllowed({ id: verified.manifest.name, version: verified.manifest.version });
  return { services, rt: await loadPack(dir, { verified, provider: parseProvider(provider) }) };
}

export const packVerifyCommand: CliCommand = {
  name: 'pack verify',
  summary: 'Verify a model pack: schema, every file size and sha256, signature',
  usage: 'healthgpt pack verify <pack-folder-or-name> [--require-signature] [--json]',
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean', default: false }, 'require-signature': { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one pack folder or name');
    const services = await io.services();
    const dir = resolvePack(positionals[0]!, services);
    const opts = services.packVerifyOptions();
    if (values['require-signature']) opts.requireSignature = true;
    const r = await verifyPack(dir, opts);
    if (!r.ok) {
      printResult(io, values.json, { ok: false, error: { code: r.code, message: r.message }, path: dir }, () => `REFUSED ${dir}\n  ${r.code}: ${r.message}`);
      return 1;
    }
    const m = r.manifest;
    const value = {
      ok: true,
      path: r.dir,
      name: m.name,
      version: m.version,
      licence: m.licence,
      intendedUse: m.intendedUse,
      manifestSha256: r.manifestSha256,
      signature: r.signature,
      files: m.files.length,
      bytes: m.files.reduce((s, f) => s + f.size, 0),
      tasks: Object.keys(m.tasks),
    };
    printResult(io, values.json, value, () =>
      [
        `OK ${m.name} ${m.version} (${value.files} files, ${(value.bytes / 2 ** 20).toFixed(1)} MiB)`,
        `  ${m.intendedUse.text}`,
        `  signature: ${r.signature.valid ? `valid (${r.signature.keyId})` : r.signature.present ? `present, key ${r.signature.keyId} not trusted` : 'none'}`,
        `  tasks: ${value.tasks.join(', ')}`,
      ].join('\n'),
    );
    return 0;
  },
};

export const askCommand: CliCommand = {
  name: 'ask',
  summary: 'Ask the model about an image (VQA or report draft)',
  usage:
    'healthgpt ask [--pack <pack>] --image <dicom|png> --question "<text>" [--task vqa|report] [--max-tokens N] [--window C,W] [--frame N] [--provider auto|cpu|cuda|dml|coreml] [--json]\n' +
    '       --pack may be left out when exactly one pack is installed. --image is one file (a folder is refused: ask is about one image).',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        pack: { type: 'string' },
        image: { type: 'string' },
        question: { type: 'string', default: '' },
        task: { type: 'string', default: 'vqa' },
        'max-tokens': { type: 'string', default: '256' },
        window: { type: 'string' },
        frame: { type: 'string' },
        provider: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!values.image) throw new UsageError('--image is required (a DICOM or PNG file)');
    checkInputPath(values.image, '--image');
    // Ask is about one image; which slice of a folder's series is the person's choice, not ours to guess.
    if (statSync(values.image).isDirectory()) {
      throw new UsageError(`--image: ${values.image} is a folder; ask reads one image: give one DICOM or PNG file of it (for a whole series, use \`healthgpt generate --in <folder>\`)`);
    }
    const task = comprehensionTaskSchema.safeParse(values.task);
    if (!task.success) throw new UsageError('--task must be vqa or report');
    if (task.data === 'vqa' && !values.question.trim()) throw new UsageError('--question is required for vqa');
    const maxTokens = Number(values['max-tokens']);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new UsageError('--max-tokens must be a positive integer');
    const inputOptions = fileInputOptions(values.window, values.frame);
    const { services, rt } = await openRuntime(values.pack, io, values.provider);
    try {
      services.policy.assertTaskAllowed(task.data);
      const { image, dicom } = await readModelInput(values.image, rt.manifest.tasks[task.data], inputOptions);
      const startedAt = Date.now();
      // The window's rule for the question actually asked (workflow-service.ts ask): so both answer alike.
      const prompt = values.question.trim() || rt.manifest.tasks[task.data]?.defaultQuestion || (task.data === 'report' ? 'Write a short report of this image.' : '');
      // The same warning and note as the window's answers (src-shared/question-types.ts).
      const { banner, note } = answerFraming(rt.manifest, task.data, prompt);
      if (!values.json && banner) io.out(banner);
      const r = await rt.ask({ image, question: prompt, task: task.data, maxTokens, onToken: values.json ? undefined : (d) => io.out(d) });
      const text = banner + r.text;
      // word offsets index the text as printed and recorded (after the banner)
      const confidence = { ...r.confidence, words: r.confidence.words.map((w) => ({ ...w, start: w.start + banner.length, end: w.end + banner.length })) };
      const recorded = await recordFileRun(services.history, rt, {
        file: values.image, dicom, task: task.data, prompt, params: { maxTokens, window: image.window, decoding: 'greedy', ...inputOptions }, startedAt,
        status: r.stopReason === 'cancelled' ? 'cancelled' : 'succeeded', timing: r.timings,
        outputs: [
          { kind: 'text', label: task.data === 'report' ? 'Draft report' : 'Answer', text, artifacts: [] },
          { kind: 'file', label: ANSWER_CONFIDENCE_LABEL, text: null, artifacts: [{ bytes: new Uint8Array(Buffer.from(JSON.stringify(confidence))), name: 'answer-confidence.json', mediaType: 'application/json' }] },
        ],
      });
      if (values.json) {
        const { logits: _l, ...rest } = r;
        printResult(io, true, { ok: true, ...rest, text, confidence, ...(note ? { note } : {}), runId: recorded.runId, caseId: recorded.caseId }, () => '');
      } else {
        if (note) io.err(`\nNote: ${note}\n`);
        io.err(`\nmodel's own confidence (not a chance of being right): ${(confidence.overall * 100).toFixed(0)}% per token (geometric mean)\n`);
        io.out(`\n\n[${r.pack.name} ${r.pack.version}${r.pack.demonstration ? ' — demonstration model, not for clinical use' : ''}; ${r.provider}; ${r.tokens.length} tokens, ${r.timings.decodeTokensPerSecond.toFixed(1)} tok/s; stop: ${r.stopReason}]\n`);
      }
      return 0;
    } finally {
      await rt.close();
    }
  },
};

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Generate an image: super-resolution, CT→MRI, MRI→CT, reconstruction',
  usage:
    'healthgpt generate [--pack <pack>] --task sr|ct2mri|mri2ct|recon --in <dicom|png> --out <file.png> [--window C,W] [--frame N] [--provider ...] [--allow-modality-mismatch] [--cycle] [--json]\n' +
    '       healthgpt generate [--pack <pack>] --task sr|ct2mri|mri2ct|recon --in <series-folder> --out <folder> [--allow-modality-mismatch] [--cycle] [--confidence-dicom <new-folder>] [--json]   (a whole series → derived DICOM series)\n' +
    '       --pack may be left out when exactly one pack is installed. ct2mri reads CT and mri2ct reads MR: another modality is refused\n' +
    '       unless --allow-modality-mismatch (recorded with the run). A series written to --out is unreviewed, and its files say so.\n' +
    '       --cycle (ct2mri, mri2ct): convert the output back and report the difference from the input inside the body mask',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        pack: { type: 'string' },
        task: { type: 'string' },
        in: { type: 'string' },
        out: { type: 'string' },
        window: { type: 'string' },
        frame: { type: 'string' },
        provider: { type: 'string' },
        'allow-modality-mismatch': { type: 'boolean', default: false },
        cycle: { type: 'boolean', default: false },
        'confidence-dicom': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!values.in || !values.out || !values.task) throw new UsageError('--task, --in and --out are required');
    checkInputPath(values.in, '--in');
    const allowModalityMismatch = values['allow-modality-mismatch'];
    const task = generationTaskSchema.safeParse(values.task);
    if (!task.success) throw new UsageError('--task must be sr, ct2mri, mri2ct or recon');
    if (values.cycle && !CYCLE_REVERSE[task.data]) throw new UsageError('--cycle is for ct2mri and mri2ct (a conversion that can be converted back)');
    if (existsSync(values.in) && statSync(values.in).isDirectory()) {
      const provider = parseProvider(values.provider);
      const services = await io.services();
      return generateSeriesFromFolder(services, { packDir: resolvePack(values.pack, services), task: task.data, input: values.in, out: values.out, provider, json: values.json, allowModalityMismatch, cycle: values.cycle, ...(values['confidence-dicom'] ? { confidenceDicom: values['confidence-dicom'] } : {}) }, io);
    }
    if (!/\.png$/i.test(values.out)) throw new UsageError('--out must name a .png file for one image (give a series folder as --in to write a DICOM series)');
    const inputOptions = fileInputOptions(values.window, values.frame);
    const { services, rt } = await openRuntime(values.pack, io, values.provider);
    try {
      services.policy.assertTaskAllowed(task.data);
      const { image, dicom, window } = await readModelInput(values.in, rt.manifest.tasks[task.data], inputOptions);
      // The window's rule (workflow-service.ts generate): a conversion reads one modality.
      const mismatch = modalityMismatch(task.data, dicom?.modality);
      if (mismatch && !allowModalityMismatch) throw new DomainError(workflowErrorCodes.modalityMismatch, `${mismatch.replace('override explicitly', 'give --allow-modality-mismatch')}`);
      const startedAt = Date.now();
      let lastPct = -1;
      const r = await rt.generate({
        task: task.data,
        image,
        onProgress: (done, total) => {
          const pct = Math.floor((done / total) * 10) * 10;
          if (!values.json && pct !== lastPct) {
            lastPct = pct;
            io.err(`\r${pct}%`);
          }
        },
      });
      const runId = `run-${randomUUID()}`;
      // The file says what it is wherever it goes: iTXt chunks naming app, pack, task and run, "AI-generated — not for diagnosis".
      const png = withPngText(
        grayToPng(r.pixels, r.rows, r.cols),
        aiGeneratedPngText({ appName: APP_NAME, appVersion: appVersion(), packName: r.pack.name, packVersion: r.pack.version, task: task.data, runId, demonstration: r.pack.demonstration }),
      );
      writeFileSync(values.out, png, { mode: 0o600 }); // an image of a patient: this user only
      // beside the image: the chosen tokens' probability per pixel (white = certain), and the cycle's difference
      const mapFile = values.out.replace(/\.png$/i, '.confidence.png');
      const mapPng = grayToPng(r.confidence.probability, r.confidence.rows, r.confidence.cols);
      writeFileSync(mapFile, mapPng, { mode: 0o600 });
      const cycle = values.cycle ? await cycleCheck(rt, task.data, image, r, window) : null;
      const cycleFile = cycle ? values.out.replace(/\.png$/i, '.cycle-difference.png') : null;
      const cyclePng = cycle ? cycleDifferencePng(cycle) : null;
      if (cycleFile && cyclePng) writeFileSync(cycleFile, cyclePng, { mode: 0o600 });
      const recorded = await recordFileRun(services.history, rt, {
        runId,
        file: values.in, dicom, task: task.data, prompt: rt.manifest.tasks[task.data]?.promptTemplate ?? task.data, params: {
          window: image.window, outputScale: r.outputScale, decoding: 'greedy, image tokens only', ...inputOptions,
          ...(mismatch ? { modalityOverride: { seriesModality: dicom?.modality ?? null, taskReads: taskSourceModality(task.data), by: services.history.actor } } : {}),
        }, startedAt,
        status: 'succeeded', timing: r.timings,
        outputs: [
          { kind: 'image', label: `${task.data} (PNG)`, text: null, artifacts: [{ bytes: new Uint8Array(png), name: path.basename(values.out), mediaType: 'image/png' }] },
          { kind: 'file', label: CONFIDENCE_MAP_LABEL, text: null, artifacts: [{ bytes: new Uint8Array(mapPng), name: path.basename(mapFile), mediaType: 'image/png' }] },
          ...(cycle && cyclePng && cycleFile
            ? [{ kind: 'file' as const, label: CYCLE_DIFFERENCE_LABEL, text: `${cycle.meanAbsDifference.toFixed(3)} ${cycle.unit}`, artifacts: [{ bytes: cyclePng, name: path.basename(cycleFile), mediaType: 'image/png' }] }]
            : []),
        ],
      });
      const summary = {
        ok: true,
        out: path.resolve(values.out),
        task: r.task,
        rows: r.rows,
        cols: r.cols,
        pixelSpacing: r.pixelSpacing,
        outputScale: r.outputScale,
        window: r.window,
        provider: r.provider,
        pack: r.pack,
        plugin: r.plugin,
        imageTokens: r.tokens.length,
        confidence: { ...r.confidence.summary, map: path.resolve(mapFile), mapMeaning: 'chosen image token probability per pixel, 0..255 = 0..1 (the model\'s own, not a measured error)' },
        ...(cycle ? { cycle: { reverseTask: cycle.reverseTask, unit: cycle.unit, meanAbsDifference: cycle.meanAbsDifference, maskFraction: cycle.maskFraction, differenceMap: path.resolve(cycleFile!), mapFullScale: cycleMapFullScale(cycle.unit), reverseMs: cycle.reverseMs } } : {}),
        timings: r.timings,
        runId: recorded.runId,
        caseId: recorded.caseId,
        aiGenerated: true,
      };
      printResult(io, values.json, summary, () =>
        `\nwrote ${summary.out} (${r.cols}×${r.rows}${r.pixelSpacing ? `, spacing ${r.pixelSpacing.map((v) => v.toFixed(4)).join('×')} mm` : ''}) — AI-generated by ${r.pack.name} ${r.pack.version}${r.pack.demonstration ? ', demonstration model, not for clinical use' : ''}; ${r.provider}; ${(r.timings.totalMs / 1000).toFixed(2)} s` +
          `\nconfidence map ${summary.confidence.map}: mean token probability ${summary.confidence.meanProbability.toFixed(2)}, ${(summary.confidence.lowFraction * 100).toFixed(0)}% of tokens below 0.5` +
          (cycle ? `\ncycle ${task.data}→${cycle.reverseTask}: mean |difference| ${cycle.meanAbsDifference.toFixed(cycle.unit === 'HU' ? 1 : 3)} ${cycle.unit} inside the body mask (${summary.cycle!.differenceMap})` : ''),
      );
      return 0;
    } finally {
      await rt.close();
    }
  },
};

export const modelCommands: CliCommand[] = [packVerifyCommand, askCommand, generateCommand];
