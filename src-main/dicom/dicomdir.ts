/** DICOMDIR (PS3.10 media directory): the files its IMAGE (and other) records point to. */
import path from 'node:path';
import type { DataSet } from 'dicom-parser';

/** Absolute paths of every Referenced File ID (0004,1500) in the directory record sequence. */
export function dicomDirReferencedFiles(dataSet: DataSet, dicomDirPath: string): string[] {
  const records = dataSet.elements.x00041220?.items ?? [];
  const base = path.dirname(dicomDirPath);
  const out: string[] = [];
  for (const item of records) {
    const ds = item.dataSet;
    if (!ds?.elements.x00041500) continue;
    let id = '';
    try {
      id = ds.string('x00041500') ?? '';
    } catch {
      continue;
    }
    // Components are separated by backslashes (multi-valued CS); string() gives the first only.
    const n = ds.numStringValues('x00041500') ?? 1;
    const parts: string[] = [];
    for (let i = 0; i < n; i += 1) parts.push((ds.string('x00041500', i) ?? '').trim());
    if (!parts.length) parts.push(id.trim());
    const rel = parts.filter(Boolean);
    if (!rel.length || rel.some((p) => p === '..' || p.includes('/'))) continue;
    out.push(path.join(base, ...rel));
  }
  return out;
}
