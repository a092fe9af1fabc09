/**
 * Our Cornerstone image loader (`hgpt:<seriesUid>/<index>`) and metadata provider, fed by the typed
 * `dicom` contract: frames arrive as typed arrays (binary over the bridge, structured clone over
 * Electron IPC), never JSON numbers. Series details (per-image geometry) are cached so the metadata
 * provider can answer synchronously, before a frame has loaded (scroll sync needs every slice's
 * position without decoding it).
 */
import type { Image, ImageLoadObject } from 'cornerstone-core';
import type { Frame, PixelArray, SeriesDetail } from '../../src-shared/contracts/dicom';
import type { WorkstationClient } from '../../src-shared/ipc/client-api';

export const IMAGE_SCHEME = 'hgpt';

/**
 * Image ids name the slot in display order *and* the instance it must hold:
 * `hgpt:<seriesUid>/<index>/<sopInstanceUid>/<frame>`. While an import is still adding slices the
 * display order can shift; a frame fetched for an index that now holds another instance is refused
 * (StaleImageError) instead of being drawn at the wrong place.
 */
export function imageIdFor(seriesUid: string, index: number, sopInstanceUid: string, frame: number): string {
  return `${IMAGE_SCHEME}:${seriesUid}/${index}/${sopInstanceUid}/${frame}`;
}

export function parseImageId(imageId: string): { seriesUid: string; index: number; sopInstanceUid: string; frame: number } | null {
  const m = /^hgpt:([^/]+)\/(\d+)\/([^/]+)\/(\d+)$/.exec(imageId);
  if (!m || !m[1] || !m[2] || !m[3] || !m[4]) return null;
  return { seriesUid: m[1], index: Number(m[2]), sopInstanceUid: m[3], frame: Number(m[4]) };
}

export class StaleImageError extends Error {
  override name = 'StaleImageError';
}

/** A frame's attributes without its pixels: what overlays and metadata modules read. */
export type FrameInfo = Omit<Frame, 'pixels'>;

/** The pixel data Cornerstone draws, with the modality rescale that maps it to modality units. */
export interface DisplayPixels {
  pixels: Uint8Array | Int16Array | Uint16Array;
  slope: number;
  intercept: number;
  min: number;
  max: number;
  rgba: boolean;
}

/**
 * Converts a frame's pixels to what Cornerstone 2 can draw: integer grey values (its LUT is indexed by
 * stored value) or RGBA bytes. Float frames (modality LUT already applied) are quantised to 16 bits with
 * a rescale that restores their values to within (max − min) / 65535.
 */
export function displayPixels(frame: Pick<Frame, 'pixels' | 'color' | 'rescaleSlope' | 'rescaleIntercept' | 'minPixelValue' | 'maxPixelValue' | 'bitsStored'>): DisplayPixels {
  const src: PixelArray = frame.pixels;
  if (frame.color) {
    const n = Math.floor(src.length / 3);
    const out = new Uint8Array(n * 4);
    const shift = src instanceof Uint8Array ? 0 : Math.max(0, frame.bitsStored - 8);
    for (let i = 0; i < n; i += 1) {
      out[i * 4] = (src[i * 3] ?? 0) >> shift;
      out[i * 4 + 1] = (src[i * 3 + 1] ?? 0) >> shift;
      out[i * 4 + 2] = (src[i * 3 + 2] ?? 0) >> shift;
      out[i * 4 + 3] = 255;
    }
    return { pixels: out, slope: 1, intercept: 0, min: 0, max: 255, rgba: true };
  }
  if (src instanceof Float32Array) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < src.length; i += 1) {
      const v = src[i] ?? 0;
      if (Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (!Number.isFinite(min)) min = max = 0;
    const range = max - min;
    const out = new Uint16Array(src.length);
    if (range > 0) {
      const k = 65535 / range;
      for (let i = 0; i < src.length; i += 1) {
        const v = src[i] ?? min;
        out[i] = Number.isFinite(v) ? Math.round((v - min) * k) : 0;
      }
    }
    return { pixels: out, slope: range > 0 ? range / 65535 : 1, intercept: min, min: 0, max: range > 0 ? 65535 : 0, rgba: false };
  }
  return { pixels: src, slope: frame.rescaleSlope, intercept: frame.rescaleIntercept, min: frame.minPixelValue, max: frame.maxPixelValue, rgba: false };
}

export function frameToImage(imageId: string, frame: Frame): Image {
  const d = displayPixels(frame);
  const spacing = frame.pixelSpacing;
  const win = frame.windows[0];
  const lo = d.min * d.slope + d.intercept;
  const hi = d.max * d.slope + d.intercept;
  const image: Image = {
    imageId,
    minPixelValue: d.min,
    maxPixelValue: d.max,
    slope: d.slope,
    intercept: d.intercept,
    windowCenter: frame.color ? 127.5 : win ? win.center : (lo + hi) / 2,
    windowWidth: frame.color ? 256 : win ? win.width : Math.max(1, hi - lo),
    getPixelData: () => d.pixels,
    rows: frame.rows,
    columns: frame.columns,
    height: frame.rows,
    width: frame.columns,
    color: frame.color,
    rgba: d.rgba,
    columnPixelSpacing: spacing?.[1] ?? 1,
    rowPixelSpacing: spacing?.[0] ?? 1,
    invert: frame.invert,
    sizeInBytes: d.pixels.byteLength,
  };
  if (!frame.color && frame.voiLut && frame.windows.length === 0) {
    image.voiLUT = { firstValueMapped: frame.voiLut.firstValueMapped, numBitsPerEntry: frame.voiLut.bitsPerEntry, lut: frame.voiLut.data };
  }
  return image;
}

/**
 * Frame attributes kept for overlays and metadata (~1 KB each): bounded like the image cache (oldest
 * dropped; geometry then still comes from the series detail), and above the number of slices any series
 * is likely to have, so a cached image keeps its attributes.
 */
export const FRAME_INFO_ENTRIES = 16384;

export class FrameService {
  private details = new Map<string, Promise<SeriesDetail>>();
  private settled = new Map<string, SeriesDetail>();
  private infos = new Map<string, FrameInfo>();

  constructor(
    private readonly client: WorkstationClient,
    private readonly maxInfos = FRAME_INFO_ENTRIES,
  ) {}

  series(seriesUid: string): Promise<SeriesDetail> {
    let p = this.details.get(seriesUid);
    if (!p) {
      p = this.client.dicom.getSeries({ seriesUid }).then((r) => {
        if (!r.ok) throw new Error(r.error.message);
        this.settled.set(seriesUid, r.value);
        return r.value;
      });
      p.catch(() => this.details.delete(seriesUid));
      this.details.set(seriesUid, p);
    }
    return p;
  }

  /** Forgets cached series details (after an import added to them); frames stay valid by instance. */
  invalidate(seriesUid?: string): void {
    if (seriesUid === undefined) {
      this.details.clear();
      this.settled.clear();
      return;
    }
    this.details.delete(seriesUid);
    this.settled.delete(seriesUid);
  }

  detailNow(seriesUid: string): SeriesDetail | undefined {
    return this.settled.get(seriesUid);
  }

  info(imageId: string): FrameInfo | undefined {
    return this.infos.get(imageId);
  }

  async frame(seriesUid: string, index: number, expect?: { sopInstanceUid: string; frame: number }): Promise<Frame> {
    const r = await this.client.dicom.getFrame({ seriesUid, index });
    if (!r.ok) throw new Error(r.error.message);
    const { pixels: _pixels, ...info } = r.value;
    if (expect && (info.sopInstanceUid !== expect.sopInstanceUid || info.frame !== expect.frame)) {
      throw new StaleImageError(`slice ${index + 1} of the series changed while it was being imported`);
    }
    const id = imageIdFor(seriesUid, index, info.sopInstanceUid, info.frame);
    this.infos.delete(id);
    this.infos.set(id, info);
    if (this.infos.size > this.maxInfos) this.infos.delete(this.infos.keys().next().value as string);
    return r.value;
  }

  /** The Cornerstone image loader for the `hgpt:` scheme. */
  loader = (imageId: string): ImageLoadObject => {
    const parsed = parseImageId(imageId);
    const promise = parsed
      ? this.frame(parsed.seriesUid, parsed.index, parsed).then((f) => frameToImage(imageId, f))
      : Promise.reject(new Error(`not a HealthGPT image id: ${imageId}`));
    return { promise };
  };

  /** The Cornerstone metadata provider: answers from the loaded frame, else from the series detail. */
  metadata = (type: string, imageId: string): unknown => {
    const parsed = parseImageId(imageId);
    if (!parsed) return undefined;
    const info = this.infos.get(imageId);
    const detail = this.settled.get(parsed.seriesUid);
    const atIndex = detail?.images[parsed.index];
    const img =
      atIndex && atIndex.sopInstanceUid === parsed.sopInstanceUid && atIndex.frame === parsed.frame
        ? atIndex
        : detail?.images.find((i) => i.sopInstanceUid === parsed.sopInstanceUid && i.frame === parsed.frame);
    switch (type) {
      case 'imagePlaneModule': {
        const iop = info?.imageOrientationPatient ?? img?.imageOrientationPatient ?? null;
        const ipp = info?.imagePositionPatient ?? img?.imagePositionPatient ?? null;
        const ps = info?.pixelSpacing ?? img?.pixelSpacing ?? null;
        const rows = info?.rows ?? img?.rows;
        const columns = info?.columns ?? img?.columns;
        if (rows === undefined || columns === undefined) return undefined;
        return {
          frameOfReferenceUID: info?.frameOfReferenceUid ?? detail?.frameOfReferenceUid ?? undefined,
          rows,
          columns,
          imageOrientationPatient: iop ?? undefined,
          rowCosines: iop ? iop.slice(0, 3) : undefined,
          columnCosines: iop ? iop.slice(3, 6) : undefined,
          imagePositionPatient: ipp ?? undefined,
          sliceThickness: info?.sliceThickness ?? img?.sliceThickness ?? undefined,
          sliceLocation: img?.sliceLocation ?? undefined,
          pixelSpacing: ps ?? undefined,
          rowPixelSpacing: ps?.[0],
          columnPixelSpacing: ps?.[1],
        };
      }
      case 'modalityLutModule':
        return info ? { rescaleSlope: info.rescaleSlope, rescaleIntercept: info.rescaleIntercept, rescaleType: info.rescaleType } : undefined;
      case 'voiLutModule':
        return info
          ? { windowCenter: info.windows.map((w) => w.center), windowWidth: info.windows.map((w) => w.width), voiLUTFunction: info.voiLutFunction }
          : undefined;
      case 'generalSeriesModule':
        return {
          modality: info?.overlay.modality ?? detail?.modality,
          seriesInstanceUID: parsed.seriesUid,
          seriesNumber: info?.overlay.seriesNumber ?? detail?.seriesNumber ?? undefined,
          seriesDescription: info?.overlay.seriesDescription ?? detail?.seriesDescription,
          studyInstanceUID: detail?.studyUid,
        };
      case 'patientModule':
        return info ? { patientName: info.overlay.patientName, patientId: info.overlay.patientId } : undefined;
      case 'generalStudyModule':
        return info ? { studyDate: info.overlay.studyDate, studyDescription: info.overlay.studyDescription } : undefined;
      case 'imagePixelModule':
        return info
          ? {
              samplesPerPixel: info.samplesPerPixel,
              photometricInterpretation: info.photometric,
              rows: info.rows,
              columns: info.columns,
              bitsAllocated: info.bitsAllocated,
              bitsStored: info.bitsStored,
              pixelRepresentation: info.pixelRepresentation,
            }
          : undefined;
      case 'sopCommonModule':
        return info ? { sopInstanceUID: info.sopInstanceUid, sopClassUID: info.sopClassUid } : undefined;
      default:
        return undefined;
    }
  };
}
