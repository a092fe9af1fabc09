/**
 * Viewer geometry in physical units: how a Cornerstone viewport (scale, translation in image pixels)
 * maps canvas points to patient space (mm), and the view a second pane needs to show the same
 * patient-space point at the same screen place with the same mm per screen pixel. Pure functions (no
 * DOM, no Cornerstone import) so they are unit-tested under Node.
 *
 * Pixel coordinates here are Cornerstone's: continuous, (0,0) is the top-left corner of the first
 * pixel, so the centre of pixel (column i, row j) is (i + 0.5, j + 0.5). The shared geometry helpers
 * (src-shared/dicom/geometry.ts) use 0-based pixel centres; the ±0.5 is applied here.
 *
 * The model of Cornerstone's transform (cornerstone-core calculateTransform, rotation 0, no flips,
 * displayed area = whole image, presentation size mode NONE):
 *   canvas = canvasCentre + S · (translation + pixel − imageSize / 2)
 * where S = scale on both axes, times colSpacing/rowSpacing horizontally when rows are closer than
 * columns (or rowSpacing/colSpacing vertically in the other case), so one screen pixel is the same
 * number of mm across and down: min(rowSpacing, columnSpacing) / scale.
 */
import { nearestSliceIndex, patientToPixel, pixelToPatient, sliceNormal, type ImagePlane, type Vec3 } from '../../src-shared/dicom/geometry';

export interface Point2 {
  x: number;
  y: number;
}

/** The part of a Cornerstone viewport that places the image on the canvas. */
export interface ViewPlacement {
  scale: number;
  translation: Point2;
}

export interface CanvasSize {
  width: number;
  height: number;
}

const DEFAULT_IOP = [1, 0, 0, 0, 1, 0] as const;

/** An ImagePlane from possibly incomplete DICOM geometry: absent values fall back to an axial 1 mm grid. */
export function planeOf(image: {
  rows: number;
  columns: number;
  imagePositionPatient: readonly number[] | null;
  imageOrientationPatient: readonly number[] | null;
  pixelSpacing: readonly number[] | null;
}): ImagePlane {
  const spacingOk = image.pixelSpacing && image.pixelSpacing.length === 2 && image.pixelSpacing.every((v) => v > 0 && Number.isFinite(v));
  return {
    rows: image.rows,
    columns: image.columns,
    imagePositionPatient: image.imagePositionPatient ?? [0, 0, 0],
    imageOrientationPatient: image.imageOrientationPatient && sliceNormal(image.imageOrientationPatient) ? image.imageOrientationPatient : DEFAULT_IOP,
    pixelSpacing: spacingOk && image.pixelSpacing ? image.pixelSpacing : [1, 1],
  };
}

export function spacingOf(plane: ImagePlane): { row: number; column: number } {
  return { row: plane.pixelSpacing[0] ?? 1, column: plane.pixelSpacing[1] ?? 1 };
}

/** Horizontal and vertical screen scale factors Cornerstone applies for a viewport scale. */
export function axisScales(plane: ImagePlane, scale: number): Point2 {
  const s = spacingOf(plane);
  if (s.row < s.column) return { x: scale * (s.column / s.row), y: scale };
  if (s.column < s.row) return { x: scale, y: scale * (s.row / s.column) };
  return { x: scale, y: scale };
}

/** Millimetres covered by one screen (canvas) pixel, the same across and down. */
export function mmPerScreenPixel(plane: ImagePlane, scale: number): number {
  const s = spacingOf(plane);
  return Math.min(s.row, s.column) / scale;
}

export function cornerstonePixelToPatient(plane: ImagePlane, p: Point2): Vec3 {
  return pixelToPatient(plane, p.x - 0.5, p.y - 0.5);
}

export function patientToCornerstonePixel(plane: ImagePlane, point: readonly number[]): Point2 & { distance: number } {
  const q = patientToPixel(plane, point);
  return { x: q.column + 0.5, y: q.row + 0.5, distance: q.distance };
}

export function canvasToImagePixel(plane: ImagePlane, view: ViewPlacement, canvas: CanvasSize, c: Point2): Point2 {
  const s = axisScales(plane, view.scale);
  return {
    x: (c.x - canvas.width / 2) / s.x - view.translation.x + plane.columns / 2,
    y: (c.y - canvas.height / 2) / s.y - view.translation.y + plane.rows / 2,
  };
}

export function imagePixelToCanvas(plane: ImagePlane, view: ViewPlacement, canvas: CanvasSize, p: Point2): Point2 {
  const s = axisScales(plane, view.scale);
  return {
    x: canvas.width / 2 + s.x * (view.translation.x + p.x - plane.columns / 2),
    y: canvas.height / 2 + s.y * (view.translation.y + p.y - plane.rows / 2),
  };
}

/** Patient-space point at the centre of the canvas. */
export function viewCentre(plane: ImagePlane, view: ViewPlacement): Vec3 {
  return cornerstonePixelToPatient(plane, { x: plane.columns / 2 - view.translation.x, y: plane.rows / 2 - view.translation.y });
}

/**
 * The placement for a target pane so it shows the source's centre point at its own canvas centre with
 * the same mm per screen pixel. With equal canvas sizes and parallel planes this puts every
 * patient-space point at the same screen place in both panes, whatever the matrix or spacing.
 */
export function syncedPlacement(source: ImagePlane, view: ViewPlacement, target: ImagePlane): ViewPlacement {
  const mm = mmPerScreenPixel(source, view.scale);
  const t = spacingOf(target);
  const scale = Math.min(t.row, t.column) / mm;
  const centre = viewCentre(source, view);
  const p = patientToCornerstonePixel(target, centre);
  return { scale, translation: { x: target.columns / 2 - p.x, y: target.rows / 2 - p.y } };
}

export function placementsClose(a: ViewPlacement, b: ViewPlacement, tolerance = 1e-3): boolean {
  return (
    Math.abs(a.scale - b.scale) <= tolerance * Math.max(1, Math.abs(a.scale)) &&
    Math.abs(a.translation.x - b.translation.x) <= tolerance * 10 &&
    Math.abs(a.translation.y - b.translation.y) <= tolerance * 10
  );
}

/**
 * The target slice for physical scroll sync: the one nearest along the target's own normal to the
 * source view's centre point, and how far it lies from it (mm). Null when the target stack has no
 * usable geometry.
 */
export function syncedSlice(
  sourcePlane: ImagePlane,
  view: ViewPlacement,
  targetPositions: ReadonlyArray<readonly number[] | null>,
  targetOrientation: readonly number[] | null,
): { index: number; distanceMm: number } | null {
  const normal = targetOrientation ? sliceNormal(targetOrientation) : null;
  if (!normal || targetPositions.length === 0 || targetPositions.some((p) => !p)) return null;
  const positions = targetPositions as ReadonlyArray<readonly number[]>;
  const centre = viewCentre(sourcePlane, view);
  const index = nearestSliceIndex(positions, normal, centre);
  const at = positions[index];
  if (!at) return null;
  const distanceMm = Math.abs(normal[0] * (centre[0] - (at[0] ?? 0)) + normal[1] * (centre[1] - (at[1] ?? 0)) + normal[2] * (centre[2] - (at[2] ?? 0)));
  return { index, distanceMm };
}

/** Patient-direction letters (LPS: +x Left, +y Posterior, +z Head) for a direction, most significant first. */
export function orientationLetters(v: readonly number[], threshold = 0.25): string {
  const names: Array<[number, string, string]> = [
    [v[0] ?? 0, 'L', 'R'],
    [v[1] ?? 0, 'P', 'A'],
    [v[2] ?? 0, 'H', 'F'],
  ];
  return names
    .filter(([c]) => Math.abs(c) > threshold)
    .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
    .map(([c, pos, neg]) => (c > 0 ? pos : neg))
    .join('');
}

/** Letters for the four screen edges of an unrotated, unflipped image. */
export function orientationMarkers(iop: readonly number[]): { left: string; right: string; top: string; bottom: string } {
  const r = [iop[0] ?? 0, iop[1] ?? 0, iop[2] ?? 0];
  const c = [iop[3] ?? 0, iop[4] ?? 0, iop[5] ?? 0];
  return {
    right: orientationLetters(r),
    left: orientationLetters(r.map((x) => -x)),
    bottom: orientationLetters(c),
    top: orientationLetters(c.map((x) => -x)),
  };
}

/** A scale bar of a round length (1, 2 or 5 × 10^k mm) no longer than maxPixels on screen. */
export function scaleBar(mmPerPixel: number, maxPixels: number): { mm: number; pixels: number; label: string } | null {
  if (!(mmPerPixel > 0) || !(maxPixels > 0)) return null;
  const maxMm = mmPerPixel * maxPixels;
  const exp = Math.floor(Math.log10(maxMm));
  let best = 0;
  for (let e = exp - 1; e <= exp; e += 1) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v <= maxMm && v > best) best = v;
    }
  }
  if (best <= 0) return null;
  const label = best >= 10 ? `${+(best / 10).toPrecision(3)} cm` : best < 1 ? `${+(best * 1000).toPrecision(3)} µm` : `${+best.toPrecision(3)} mm`;
  return { mm: best, pixels: best / mmPerPixel, label };
}

type FlatSeries = { frameOfReferenceUid: string | null; images: Array<{ imagePositionPatient: readonly number[] | null; pixelSpacing: readonly number[] | null }> };

/**
 * Two flat images (an imported photograph or slide: one image, no frame of reference, no patient
 * position) are compared with their top-left corners together: in mm when both state a pixel size,
 * pixel for pixel when neither does, and not at all when only one does (that would be a guess).
 */
export function flatImagePair(a: Partial<Pick<FlatSeries, 'frameOfReferenceUid' | 'images'>>, b: Partial<Pick<FlatSeries, 'frameOfReferenceUid' | 'images'>>): boolean {
  const flat = (d: typeof a) => d.frameOfReferenceUid === null && d.images?.length === 1 && d.images[0]?.imagePositionPatient === null;
  if (!flat(a) || !flat(b)) return false;
  return (a.images?.[0]?.pixelSpacing === null) === (b.images?.[0]?.pixelSpacing === null);
}

/** A physical length for a measurement: µm under 1 mm (microscopy), mm otherwise. */
export function physicalLength(mm: number): { value: number; unit: 'µm' | 'mm'; text: string } {
  if (Math.abs(mm) < 1) return { value: mm * 1000, unit: 'µm', text: `${(mm * 1000).toFixed(1)} µm` };
  return { value: mm, unit: 'mm', text: `${mm.toFixed(1)} mm` };
}
