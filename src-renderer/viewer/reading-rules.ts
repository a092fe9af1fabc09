/**
 * Reading rules of the viewer as pure functions (unit-tested without a DOM): the unit a pane's values are
 * in, which measurements are complete enough to show, when window/level is linked across panes, whether
 * a preset label still describes the window on screen, and whether two panes can be subtracted.
 */

/** The unit of a series' modality values: HU only for CT; other modalities are named, never called HU. */
export function valueUnit(modality: string | null | undefined): string {
  const m = (modality ?? '').toUpperCase();
  if (m === 'CT') return 'HU';
  if (m === 'MR') return 'MR intensity (a.u.)';
  if (m === 'PT') return 'PET value';
  return m ? `${m} value (a.u.)` : 'value (a.u.)';
}

export interface Point {
  x: number;
  y: number;
}

/** Cornerstone-tools' measurement data, as much of it as the rules read. */
export interface ToolData {
  handles?: Record<string, Partial<Point> | undefined>;
  length?: unknown;
  rAngle?: unknown;
  cachedStats?: { mean?: unknown; area?: unknown } | undefined;
}

function finitePoint(p: Partial<Point> | undefined): p is Point {
  return Boolean(p) && Number.isFinite(p?.x) && Number.isFinite(p?.y);
}

function apart(a: Point, b: Point, minPixels: number): boolean {
  return Math.hypot(a.x - b.x, a.y - b.y) >= minPixels;
}

/**
 * Whether a measurement is complete and meaningful: a length between two distinct points, an angle with
 * three distinct points and a finite value, an ROI with a finite mean over a non-empty area. A single
 * click makes none of these (it gave "Angle NaN°" and "Length 0.0 mm").
 */
export function measurementComplete(tool: 'Length' | 'Angle' | 'EllipticalRoi', d: ToolData, minPixels = 1): boolean {
  const h = d.handles ?? {};
  const start = h.start;
  const end = h.end;
  if (!finitePoint(start) || !finitePoint(end)) return false;
  if (tool === 'Length') return typeof d.length === 'number' && Number.isFinite(d.length) && apart(start, end, minPixels);
  if (tool === 'Angle') {
    const middle = h.middle;
    if (!finitePoint(middle)) return false;
    return typeof d.rAngle === 'number' && Number.isFinite(d.rAngle) && apart(start, middle, minPixels) && apart(end, middle, minPixels);
  }
  const s = d.cachedStats;
  return (
    Math.abs(start.x - end.x) >= minPixels &&
    Math.abs(start.y - end.y) >= minPixels &&
    typeof s?.mean === 'number' &&
    Number.isFinite(s.mean) &&
    typeof s.area === 'number' &&
    s.area > 0
  );
}

export interface SeriesUnits {
  modality: string | null | undefined;
}

/**
 * The default of the window/level link: on when both panes show a series of the same modality, so their
 * values share a unit (a CT and its super-resolved CT, both HU); off otherwise (a CT window means nothing
 * on a synthetic MR).
 */
export function defaultWindowLink(a: SeriesUnits | null, b: SeriesUnits | null): boolean {
  if (!a?.modality || !b?.modality) return false;
  return valueUnit(a.modality) === valueUnit(b.modality);
}

export interface Voi {
  windowWidth: number;
  windowCenter: number;
}

/** The preset label stays only while the window on screen is still the preset's (a W/L drag ends it). */
export function presetStillShown(preset: Voi | null, shown: Voi | null, tolerance = 0.5): boolean {
  if (!preset || !shown) return false;
  return Math.abs(preset.windowWidth - shown.windowWidth) <= tolerance && Math.abs(preset.windowCenter - shown.windowCenter) <= tolerance;
}

export type DifferenceKind = { kind: 'units'; unit: string } | { kind: 'refused'; reason: string } | { kind: 'normalised' };

/**
 * What a difference map between two panes may be: in the shared unit when both have the same modality;
 * across modalities (CT vs synthetic MR) a subtraction in HU is meaningless, so it is refused unless the
 * reader asks for a normalised (structural) difference, which is labelled as such and carries no unit.
 */
export function differenceKind(original: string | null | undefined, generated: string | null | undefined, normalisedRequested: boolean): DifferenceKind {
  const a = valueUnit(original);
  const b = valueUnit(generated);
  if (a === b) return { kind: 'units', unit: a };
  if (normalisedRequested) return { kind: 'normalised' };
  return {
    kind: 'refused',
    reason: `No difference in units: the original is ${(original ?? '?').toUpperCase()} (${a}) and the generated series is ${(generated ?? '?').toUpperCase()} (${b}). A normalised structural difference can be shown instead.`,
  };
}

/** The typical distance between neighbouring slices along `normal` (median), or null for fewer than two. */
export function sliceSpacing(positions: ReadonlyArray<readonly number[] | null>, normal: readonly number[]): number | null {
  const along = positions
    .filter((p): p is readonly number[] => Array.isArray(p))
    .map((p) => (p[0] ?? 0) * (normal[0] ?? 0) + (p[1] ?? 0) * (normal[1] ?? 0) + (p[2] ?? 0) * (normal[2] ?? 0))
    .sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let k = 1; k < along.length; k += 1) {
    const g = (along[k] ?? 0) - (along[k - 1] ?? 0);
    if (g > 1e-6) gaps.push(g);
  }
  if (gaps.length === 0) return null;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? null;
}

/**
 * How far (mm) a following pane's nearest slice may be from the linked location and still count as the
 * same place: half the coarser slice spacing of the two series (or of the one that has one; a thickness
 * otherwise), at least 0.5 mm. Beyond it the pane has no slice there.
 */
export function sliceMatchTolerance(spacings: ReadonlyArray<number | null | undefined>): number {
  const known = spacings.filter((s): s is number => typeof s === 'number' && Number.isFinite(s) && s > 0);
  const coarsest = known.length ? Math.max(...known) : 1;
  return Math.max(0.5, coarsest / 2) + 0.01;
}

export interface OverlayFacts {
  patientSex?: string;
  patientAge?: string;
  accessionNumber?: string;
  kvp?: number | null;
  repetitionTime?: number | null;
  echoTime?: number | null;
}

const trimNumber = (v: number) => String(Number(v.toFixed(2)));

/** "45Y M" from Patient's Age and Sex (either may be missing); empty when neither is known. */
export function ageSexText(o: OverlayFacts | undefined): string {
  return [o?.patientAge?.trim(), o?.patientSex?.trim()].filter(Boolean).join(' ');
}

/** The acquisition line: kVp for CT, TR/TE for MR, whatever the file has; empty when it has none. */
export function acquisitionText(o: OverlayFacts | undefined): string {
  const parts: string[] = [];
  if (typeof o?.kvp === 'number') parts.push(`${trimNumber(o.kvp)} kVp`);
  if (typeof o?.repetitionTime === 'number') parts.push(`TR ${trimNumber(o.repetitionTime)}`);
  if (typeof o?.echoTime === 'number') parts.push(`TE ${trimNumber(o.echoTime)}`);
  const text = parts.join(' ');
  return typeof o?.repetitionTime === 'number' || typeof o?.echoTime === 'number' ? `${text} ms` : text;
}
