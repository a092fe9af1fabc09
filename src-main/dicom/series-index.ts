/**
 * The in-memory index of imported instances: patient → study → series, each series' images sorted
 * along the slice normal. Persisted as JSON under the data folder so a restart keeps the study list.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE, restrictMode } from '../fs/private-files';
import type { SeriesDetail, SeriesImage, SeriesSummary, StudySummary } from '../../src-shared/contracts/dicom';
import { dot, parallelPlanes, sliceNormal, sliceSpacing } from '../../src-shared/dicom/geometry';
import type { InstanceMeta } from './parse';

export interface IndexedInstance {
  path: string;
  meta: InstanceMeta;
}

interface SortedImage {
  instance: IndexedInstance;
  frame: number;
}

interface SeriesEntry {
  instances: Map<string, IndexedInstance>;
  sorted: { images: SortedImage[]; sortedBy: SeriesDetail['sortedBy']; normal: number[] | null; spacing: number | null } | null;
}

const INDEX_VERSION = 1;

/** Sorts a series' frames: by position along the normal, else Instance Number, else file order. */
export function sortSeriesImages(instances: IndexedInstance[]): NonNullable<SeriesEntry['sorted']> {
  const images: SortedImage[] = [];
  for (const instance of instances) for (let f = 0; f < instance.meta.frames; f += 1) images.push({ instance, frame: f });
  const first = instances.find((i) => i.meta.imageOrientationPatient);
  const iop = first?.meta.imageOrientationPatient ?? null;
  const normal = sliceNormal(iop);
  const allPositioned =
    normal !== null &&
    images.every((im) => {
      const o = im.instance.meta.imageOrientationPatient;
      return im.instance.meta.framePositions[im.frame] && o && iop && parallelPlanes(o, iop);
    });
  const positionOf = (im: SortedImage) => im.instance.meta.framePositions[im.frame] ?? [0, 0, 0];
  const byInstance = (a: SortedImage, b: SortedImage) =>
    (a.instance.meta.instanceNumber ?? Infinity) - (b.instance.meta.instanceNumber ?? Infinity) || a.frame - b.frame || a.instance.path.localeCompare(b.instance.path);
  if (allPositioned && normal) {
    // Each image's distance along the normal once (not per comparison: a 2,000-slice series re-sorts
    // while it is being imported and viewed).
    const along = new Map(images.map((im) => [im, dot(normal, positionOf(im))]));
    const distinct = new Set([...along.values()].map((d) => d.toFixed(4)));
    if (distinct.size === images.length || images.length === 1) {
      images.sort((a, b) => along.get(a)! - along.get(b)! || byInstance(a, b));
      return { images, sortedBy: 'image-position', normal, spacing: sliceSpacing(images.map(positionOf), normal) };
    }
  }
  const numbered = images.some((im) => im.instance.meta.instanceNumber !== null);
  images.sort(numbered ? byInstance : (a, b) => a.instance.path.localeCompare(b.instance.path) || a.frame - b.frame);
  return { images, sortedBy: numbered ? 'instance-number' : 'file-order', normal, spacing: null };
}

export class SeriesIndex {
  private readonly series = new Map<string, SeriesEntry>();

  constructor(private readonly file: string | null) {}

  load(): void {
    if (!this.file) return;
    try {
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as { version?: number; instances?: IndexedInstance[] };
      if (raw.version !== INDEX_VERSION || !Array.isArray(raw.instances)) return;
      for (const i of raw.instances) this.add(i);
    } catch {
      // No index yet, or an unreadable one: start empty (the files themselves are untouched).
    }
  }

  save(): void {
    if (!this.file) return;
    // Names, IDs and birth dates of every imported patient: this user only (private-files.ts).
    makePrivateDir(path.dirname(this.file));
    const instances = [...this.series.values()].flatMap((s) => [...s.instances.values()]);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: INDEX_VERSION, instances }), { mode: PRIVATE_FILE_MODE });
    restrictMode(tmp, PRIVATE_FILE_MODE);
    renameSync(tmp, this.file);
  }

  add(instance: IndexedInstance): void {
    const uid = instance.meta.seriesUid;
    let entry = this.series.get(uid);
    if (!entry) {
      entry = { instances: new Map(), sorted: null };
      this.series.set(uid, entry);
    }
    entry.instances.set(instance.meta.sopInstanceUid, instance);
    entry.sorted = null;
  }

  has(seriesUid: string): boolean {
    return this.series.has(seriesUid);
  }

  private sorted(entry: SeriesEntry): NonNullable<SeriesEntry['sorted']> {
    entry.sorted ??= sortSeriesImages([...entry.instances.values()]);
    return entry.sorted;
  }

  image(seriesUid: string, index: number): { instance: IndexedInstance; frame: number; count: number } | null {
    const entry = this.series.get(seriesUid);
    if (!entry) return null;
    const { images } = this.sorted(entry);
    const im = images[index];
    return im ? { instance: im.instance, frame: im.frame, count: images.length } : null;
  }

  private summary(uid: string, entry: SeriesEntry): SeriesSummary {
    const { images } = this.sorted(entry);
    const m = images[0]?.instance.meta ?? [...entry.instances.values()][0]!.meta;
    return {
      seriesUid: uid,
      studyUid: m.studyUid,
      seriesNumber: m.seriesNumber,
      seriesDescription: m.seriesDescription,
      modality: m.modality,
      imageCount: images.length,
      rows: m.rows,
      columns: m.columns,
      multiFrame: [...entry.instances.values()].some((i) => i.meta.frames > 1),
      frameOfReferenceUid: m.frameOfReferenceUid,
      transferSyntaxes: [...new Set([...entry.instances.values()].map((i) => i.meta.transferSyntax))],
    };
  }

  listStudies(): StudySummary[] {
    const studies = new Map<string, StudySummary>();
    for (const [uid, entry] of this.series) {
      const s = this.summary(uid, entry);
      const m = [...entry.instances.values()][0]!.meta;
      const key = m.studyUid || `no-study-uid:${m.patientId}`;
      let study = studies.get(key);
      if (!study) {
        study = {
          studyUid: key,
          patientId: m.patientId,
          patientName: m.patientName,
          patientBirthDate: m.patientBirthDate,
          patientSex: m.patientSex,
          studyDate: m.studyDate,
          studyTime: m.studyTime,
          studyDescription: m.studyDescription,
          accessionNumber: m.accessionNumber,
          modalities: [],
          series: [],
        };
        studies.set(key, study);
      }
      study.series.push(s);
      if (s.modality && !study.modalities.includes(s.modality)) study.modalities.push(s.modality);
    }
    const list = [...studies.values()];
    for (const st of list) st.series.sort((a, b) => (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity) || a.seriesUid.localeCompare(b.seriesUid));
    return list.sort((a, b) => a.patientName.localeCompare(b.patientName) || a.studyDate.localeCompare(b.studyDate) || a.studyUid.localeCompare(b.studyUid));
  }

  detail(seriesUid: string): SeriesDetail | null {
    const entry = this.series.get(seriesUid);
    if (!entry) return null;
    const sorted = this.sorted(entry);
    const s = this.summary(seriesUid, entry);
    const m = sorted.images[0]!.instance.meta;
    const images: SeriesImage[] = sorted.images.map((im, index) => {
      const meta = im.instance.meta;
      const ipp = meta.framePositions[im.frame] ?? null;
      return {
        index,
        sopInstanceUid: meta.sopInstanceUid,
        instanceNumber: meta.instanceNumber,
        frame: im.frame,
        rows: meta.rows,
        columns: meta.columns,
        imagePositionPatient: ipp,
        imageOrientationPatient: meta.imageOrientationPatient,
        pixelSpacing: meta.pixelSpacing,
        sliceThickness: meta.sliceThickness,
        sliceLocation: ipp && sorted.normal ? dot(sorted.normal, ipp) : null,
      };
    });
    return {
      ...s,
      patientName: m.patientName,
      patientId: m.patientId,
      studyDescription: m.studyDescription,
      studyDate: m.studyDate,
      sortedBy: sorted.sortedBy,
      sliceNormal: sorted.normal,
      sliceSpacing: sorted.spacing,
      images,
    };
  }
}
