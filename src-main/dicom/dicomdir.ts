/** DICOMDIR (PS3.10 media directory): the files its IMAGE (and other) records point to. */
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { DataSet } from 'dicom-parser';

export interface RefusedReference {
  /** Where the entry points (absolute, not resolved). */
  path: string;
  message: string;
}

export interface DicomDirReferences {
  /** Absolute paths of the entries that are plain files (or missing) inside the DICOMDIR's folder. */
  files: string[];
  /** Entries refused: links, or paths that leave the folder. The folder walk follows no links either. */
  refused: RefusedReference[];
}

/** Why an entry may not be read, or null when every component is a plain folder/file inside `realBase`. */
function refusal(realBase: string, parts: string[], label: string): string | null {
  let at = realBase;
  for (let i = 0; i < parts.length; i += 1) {
    at = path.join(at, parts[i]!);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      return null; // missing: the scan reports it as unreadable
    }
    if (st.isSymbolicLink()) {
      const where = i === parts.length - 1 ? 'is a symbolic link' : `passes through the symbolic link ${parts.slice(0, i + 1).join('\\')}`;
      return `DICOMDIR entry ${label} ${where}; entries must be files inside the DICOMDIR's folder, so it was not read.`;
    }
  }
  let real: string;
  try {
    real = realpathSync(at);
  } catch {
    return null;
  }
  if (!real.startsWith(realBase + path.sep)) return `DICOMDIR entry ${label} resolves to ${real}, outside the DICOMDIR's folder, so it was not read.`;
  return null;
}

/** Every Referenced File ID (0004,1500) in the directory record sequence, checked against the folder. */
export function dicomDirReferencedFiles(dataSet: DataSet, dicomDirPath: string): DicomDirReferences {
  const records = dataSet.elements.x00041220?.items ?? [];
  const base = path.dirname(dicomDirPath);
  let realBase = base;
  try {
    realBase = realpathSync(base);
  } catch {
    // the folder vanished: every entry then reads as missing
  }
  const out: DicomDirReferences = { files: [], refused: [] };
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
    if (!rel.length) continue;
    const label = rel.join('\\');
    const target = path.join(base, ...rel);
    if (rel.some((p) => p === '..' || p === '.' || p.includes('/'))) {
      out.refused.push({ path: target, message: `DICOMDIR entry ${label} is not a path inside the DICOMDIR's folder, so it was not read.` });
      continue;
    }
    const why = refusal(realBase, rel, label);
    if (why) out.refused.push({ path: target, message: why });
    else out.files.push(target);
  }
  return out;
}
