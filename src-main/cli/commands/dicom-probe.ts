import { parseArgs } from 'node:util';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

const fmt = (v: number | null, digits = 2) => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(digits));

export const dicomProbeCommand: CliCommand = {
  name: 'dicom probe',
  summary: 'Read and decode DICOM files, PNG/JPEG/TIFF images or folders: SOP class, modality, syntax, size, colour, pixel statistics',
  usage: [
    'healthgpt dicom probe <file|folder>... [--json]',
    '',
    'For each file: ok or the error, SOP class, modality, transfer syntax, rows, columns, frames, pixel',
    'spacing, photometric interpretation (RGB for colour), samples per pixel, bits, and min/max/mean of the',
    'pixel values after the modality LUT (colour: over all RGB samples). PNG, JPEG and TIFF files are probed',
    'as plain images (format, size, pages; pixel spacing only when the file states a physical unit).',
    'Exit code 0 when every file decoded (or is DICOM without pixels), 1 when any failed.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new UsageError('dicom probe needs at least one file or folder. Usage: healthgpt dicom probe <file|folder>... [--json]');
    const services = await io.services();
    const entries = await directCall(services, 'dicom', 'probe', { paths: positionals });
    printResult(io, values.json, entries, () =>
      entries
        .map((e) =>
          e.ok && e.min !== null
            ? `${e.path}\n  ok  ${e.sourceFormat ?? e.modality ?? '?'} ${e.columns}x${e.rows}x${e.frames} ${e.sourceFormat ? 'plain image' : e.transferSyntax} ${e.photometric ?? ''} ${e.samplesPerPixel ?? '?'} sample(s)/pixel ${e.bitsAllocated ?? '?'}-bit spacing ${e.pixelSpacing ? e.pixelSpacing.join('\\') : '-'} min ${fmt(e.min)} max ${fmt(e.max)} mean ${fmt(e.mean)}`
            : `${e.path}\n  ${e.ok ? 'ok (no pixels)' : 'ERROR'}  ${e.error ?? ''}`,
        )
        .join('\n'),
    );
    return entries.every((e) => e.ok) ? 0 : 1;
  },
};
