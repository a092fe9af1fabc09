import { parseArgs } from 'node:util';
import type { ProbeEntry } from '../../../src-shared/contracts/dicom';
import { describeTransferSyntax } from '../../dicom/transfer-syntax';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

const fmt = (v: number | null, digits = 2) => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(digits));

/** The storage classes a reader meets most; others are shown by UID. */
const SOP_CLASS_NAMES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.2': 'CT image',
  '1.2.840.10008.5.1.4.1.1.2.1': 'enhanced CT image',
  '1.2.840.10008.5.1.4.1.1.4': 'MR image',
  '1.2.840.10008.5.1.4.1.1.4.1': 'enhanced MR image',
  '1.2.840.10008.5.1.4.1.1.7': 'secondary capture image',
  '1.2.840.10008.5.1.4.1.1.1': 'CR image',
  '1.2.840.10008.5.1.4.1.1.1.1': 'digital X-ray image',
  '1.2.840.10008.5.1.4.1.1.6.1': 'ultrasound image',
  '1.2.840.10008.5.1.4.1.1.128': 'PET image',
  '1.2.840.10008.5.1.4.1.1.20': 'nuclear medicine image',
  '1.2.840.10008.5.1.4.1.1.88.11': 'basic text SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.104.1': 'encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT structure set',
};

/** What a person reads for one file: what it is, its size, and its values (in HU for CT). */
export function probeSummary(e: ProbeEntry): string {
  if (!e.ok) return `${e.path}\n  could not be read: ${e.error ?? e.problem ?? 'unknown problem'}`;
  const kind = e.sopClassUid ? (SOP_CLASS_NAMES[e.sopClassUid] ?? `SOP class ${e.sopClassUid}`) : 'DICOM object';
  const what = e.sourceFormat ? `${e.sourceFormat} image (plain, not DICOM)` : e.modality && !kind.startsWith(e.modality) ? `${e.modality} ${kind}` : kind;
  const syntax = e.transferSyntax && !e.sourceFormat ? `, ${describeTransferSyntax(e.transferSyntax)}` : '';
  const lines = [`${e.path}`, `  ${what}${syntax}`];
  if (e.rows !== null && e.columns !== null) {
    const frames = e.frames ?? 1;
    const spacing = e.pixelSpacing ? `, pixels ${fmt(e.pixelSpacing[0] ?? null, 3)} × ${fmt(e.pixelSpacing[1] ?? null, 3)} mm` : ', pixel spacing not given';
    // colour images say how their samples are stored (a grey image's one sample needs no words)
    const colour = e.photometric ? `, ${e.photometric}${e.samplesPerPixel && e.samplesPerPixel > 1 ? ` (${e.samplesPerPixel} samples per pixel${e.bitsAllocated ? `, ${e.bitsAllocated}-bit` : ''})` : ''}` : '';
    lines.push(`  ${e.columns} × ${e.rows} pixels, ${frames} frame${frames === 1 ? '' : 's'}${spacing}${colour}`);
  }
  if (e.min !== null) {
    const unit = e.modality === 'CT' ? ' HU' : '';
    lines.push(`  values${unit ? ' (HU)' : ''}: min ${fmt(e.min)}, max ${fmt(e.max)}, mean ${fmt(e.mean)}`);
  } else {
    lines.push('  no pixel data (a report, structure set or other non-image object)');
  }
  return lines.join('\n');
}

export const dicomProbeCommand: CliCommand = {
  name: 'dicom probe',
  summary: 'Read and decode DICOM files, PNG/JPEG/TIFF images or folders: what each file is, its size, colour, spacing and pixel values',
  usage: [
    'healthgpt dicom probe <file|folder>... [--json]',
    '',
    'For each file: what it is (modality, SOP class, transfer syntax; PNG, JPEG and TIFF files as plain images),',
    'columns × rows, frames, pixel spacing (for plain images only when the file states a physical unit), colour',
    '(photometric interpretation, samples per pixel, bits), and min/max/mean of the pixel values after the modality',
    'LUT (HU for CT; colour: over all RGB samples), or why it could not be read; then a count. --json prints every',
    'field as JSON.',
    'Exit code 0 when every file decoded (or is DICOM without pixels), 1 when any failed.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new UsageError('dicom probe needs at least one file or folder. Usage: healthgpt dicom probe <file|folder>... [--json]');
    const services = await io.services();
    const entries = await directCall(services, 'dicom', 'probe', { paths: positionals });
    const failed = entries.filter((e) => !e.ok).length;
    printResult(io, values.json, entries, () =>
      [...entries.map(probeSummary), '', `${entries.length} file${entries.length === 1 ? '' : 's'}: ${entries.length - failed} read, ${failed} could not be read`].join('\n'),
    );
    return failed === 0 ? 0 : 1;
  },
};
