/**
 * Patient-space geometry for DICOM images, shared by the importer (slice sorting) and the viewer
 * (physical pane synchronisation). Pure functions on plain arrays; no DOM, no node.
 *
 * Conventions (DICOM PS3.3 C.7.6.2.1.1):
 * - imageOrientationPatient = [rx, ry, rz, cx, cy, cz]: row direction cosine (the direction in which
 *   the column index increases, i.e. along a row) then column direction cosine (row index increases).
 * - pixelSpacing = [rowSpacing, columnSpacing] in mm: distance between rows (adjacent row centres),
 *   then between columns.
 * - imagePositionPatient: centre of the first transmitted pixel (column 0, row 0), in mm.
 * Pixel coordinates here are (column, row), 0-based, at pixel centres.
 */

export type Vec3 = [number, number, number];

export interface ImagePlane {
  imagePositionPatient: readonly number[];
  imageOrientationPatient: readonly number[];
  /** [rowSpacing, columnSpacing] in mm. */
  pixelSpacing: readonly number[];
  rows: number;
  columns: number;
}

export function cross(a: readonly number[], b: readonly number[]): Vec3 {
  const [a0 = 0, a1 = 0, a2 = 0] = a;
  const [b0 = 0, b1 = 0, b2 = 0] = b;
  return [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0];
}

export function dot(a: readonly number[], b: readonly number[]): number {
  return (a[0] ?? 0) * (b[0] ?? 0) + (a[1] ?? 0) * (b[1] ?? 0) + (a[2] ?? 0) * (b[2] ?? 0);
}

export function norm(a: readonly number[]): number {
  return Math.sqrt(dot(a, a));
}

export function normalize(a: readonly number[]): Vec3 {
  const n = norm(a);
  if (!(n > 0)) return [0, 0, 0];
  return [(a[0] ?? 0) / n, (a[1] ?? 0) / n, (a[2] ?? 0) / n];
}

export function rowCosine(iop: readonly number[]): Vec3 {
  return normalize([iop[0] ?? 0, iop[1] ?? 0, iop[2] ?? 0]);
}

export function columnCosine(iop: readonly number[]): Vec3 {
  return normalize([iop[3] ?? 0, iop[4] ?? 0, iop[5] ?? 0]);
}

/** The slice normal: row cosine × column cosine (unit length), or null for a degenerate orientation. */
export function sliceNormal(iop: readonly number[] | null | undefined): Vec3 | null {
  if (!iop || iop.length !== 6 || iop.some((v) => !Number.isFinite(v))) return null;
  const n = cross(rowCosine(iop), columnCosine(iop));
  const len = norm(n);
  if (len < 1e-6) return null;
  return [n[0] / len, n[1] / len, n[2] / len];
}

/** Patient-space point (mm) of pixel (column, row) of a plane. */
export function pixelToPatient(plane: ImagePlane, column: number, row: number): Vec3 {
  const r = rowCosine(plane.imageOrientationPatient);
  const c = columnCosine(plane.imageOrientationPatient);
  const [rowSpacing = 1, colSpacing = 1] = plane.pixelSpacing;
  const p = plane.imagePositionPatient;
  return [
    (p[0] ?? 0) + r[0] * colSpacing * column + c[0] * rowSpacing * row,
    (p[1] ?? 0) + r[1] * colSpacing * column + c[1] * rowSpacing * row,
    (p[2] ?? 0) + r[2] * colSpacing * column + c[2] * rowSpacing * row,
  ];
}

/**
 * Pixel (column, row) of a patient-space point projected onto a plane, plus its signed distance from
 * the plane along the normal (mm). Inverse of pixelToPatient for points on the plane.
 */
export function patientToPixel(plane: ImagePlane, point: readonly number[]): { column: number; row: number; distance: number } {
  const r = rowCosine(plane.imageOrientationPatient);
  const c = columnCosine(plane.imageOrientationPatient);
  const n = cross(r, c);
  const [rowSpacing = 1, colSpacing = 1] = plane.pixelSpacing;
  const p = plane.imagePositionPatient;
  const d: Vec3 = [(point[0] ?? 0) - (p[0] ?? 0), (point[1] ?? 0) - (p[1] ?? 0), (point[2] ?? 0) - (p[2] ?? 0)];
  return { column: dot(d, r) / colSpacing, row: dot(d, c) / rowSpacing, distance: dot(d, n) };
}

/**
 * Index of the slice of a stack nearest to a patient-space point along the stack normal — the physical
 * scroll sync between panes with different slice spacing. Returns -1 for an empty stack.
 */
export function nearestSliceIndex(positions: ReadonlyArray<readonly number[]>, normal: readonly number[], point: readonly number[]): number {
  const target = dot(normal, point);
  let best = -1;
  let bestDistance = Infinity;
  positions.forEach((ipp, i) => {
    const d = Math.abs(dot(normal, ipp) - target);
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  });
  return best;
}

/** Whether two orientations describe parallel planes (same normal up to sign) within a tolerance. */
export function parallelPlanes(iopA: readonly number[], iopB: readonly number[], toleranceDeg = 1): boolean {
  const a = sliceNormal(iopA);
  const b = sliceNormal(iopB);
  if (!a || !b) return false;
  return Math.abs(dot(a, b)) >= Math.cos((toleranceDeg * Math.PI) / 180);
}

/**
 * Physical zoom sync: the zoom (screen pixels per image pixel) a second pane needs so that one mm on
 * screen has the same size in both panes, given each pane's column spacing (mm per image pixel).
 */
export function matchedZoom(zoomA: number, spacingA: number, spacingB: number): number {
  if (!(spacingA > 0) || !(spacingB > 0)) return zoomA;
  return (zoomA * spacingB) / spacingA;
}

/** Mean spacing (mm) between consecutive sorted slices along a normal, or null with fewer than 2. */
export function sliceSpacing(positions: ReadonlyArray<readonly number[]>, normal: readonly number[]): number | null {
  if (positions.length < 2) return null;
  const first = positions[0];
  const last = positions[positions.length - 1];
  if (!first || !last) return null;
  return Math.abs(dot(normal, last) - dot(normal, first)) / (positions.length - 1);
}
