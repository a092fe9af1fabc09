/**
 * Where retrieved instances land: `<data>/pacs/<study>/<series>/<sop>.dcm`, each written whole (temp
 * file, fsync, rename), so a retrieve cut off at any point leaves only complete instances. A series'
 * `retrieve.json` says whether it is complete or partial; a retrieve skips the instances already there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { dicomUidSchema } from '../../src-shared/contracts/pacs';
import { dicomParser } from '../dicom/dicom-parser-lib';
import { writeFileAtomic } from '../fs/atomic-write';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../fs/private-files';

export interface SeriesMarker {
  state: 'complete' | 'partial';
  node: string;
  expected: number;
  stored: number;
  updatedAt: string;
  message?: string;
}

export const MARKER_FILE = 'retrieve.json';

export function seriesFolder(dataDir: string, studyUid: string, seriesUid: string): string {
  // Both are checked UIDs (digits and dots): safe as folder names, no traversal.
  dicomUidSchema.parse(studyUid);
  dicomUidSchema.parse(seriesUid);
  return path.join(dataDir, 'pacs', studyUid, seriesUid);
}

/** SOP Instance UIDs already stored whole in a series folder (temp files of a cut-off write are not). */
export function storedInstances(folder: string): Set<string> {
  if (!existsSync(folder)) return new Set();
  return new Set(
    readdirSync(folder)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => f.slice(0, -4))
      .filter((u) => dicomUidSchema.safeParse(u).success),
  );
}

export function readMarker(folder: string): SeriesMarker | null {
  try {
    return JSON.parse(readFileSync(path.join(folder, MARKER_FILE), 'utf8')) as SeriesMarker;
  } catch {
    return null;
  }
}

export function writeMarker(folder: string, marker: SeriesMarker): void {
  writeFileAtomic(path.join(folder, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
}

export interface CheckedInstance {
  sopInstanceUid: string;
  seriesUid: string;
  studyUid: string;
}

/**
 * Checks that a received object is a DICOM Part 10 file with usable UIDs, reading its header only.
 * Returns the reason in words when it is not.
 */
export function checkInstance(bytes: Uint8Array): CheckedInstance | { refused: string } {
  if (bytes.length < 132 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') return { refused: 'not a DICOM Part 10 file (no DICM preamble)' };
  let ds;
  try {
    ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  } catch (e) {
    return { refused: `unreadable DICOM header (${e instanceof Error ? e.message : String(e)})` };
  }
  const uid = (tag: string) => (ds.string(tag) ?? '').replace(/\0/g, '').trim();
  const out = { sopInstanceUid: uid('x00080018'), seriesUid: uid('x0020000e'), studyUid: uid('x0020000d') };
  for (const [name, value] of Object.entries(out)) if (!dicomUidSchema.safeParse(value).success) return { refused: `${name} is missing or not a UID` };
  return out;
}

/**
 * Writes one instance whole: a temp file, flushed to disk, then renamed to `<sop>.dcm`, so a cut-off
 * retrieve or a power loss never leaves a partial file under a name a resume would trust. Asynchronous,
 * so the next part is parsed while the disk flushes this one (the flush costs ~30 ms per file here).
 */
export async function storeInstance(folder: string, sopInstanceUid: string, bytes: Uint8Array): Promise<string> {
  makePrivateDir(folder);
  const file = path.join(folder, `${sopInstanceUid}.dcm`);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return file;
}
