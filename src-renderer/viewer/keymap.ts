/**
 * The viewer's keyboard map: one table of bindings (rebindable: pass another table), resolved to typed
 * commands. Pure, so it is unit-tested and listed in the help overlay from the same source.
 */

export type ViewerTool = 'wwwc' | 'pan' | 'zoom' | 'length' | 'angle' | 'roi';
export type ComparisonMode = 'side' | 'fade' | 'swipe' | 'flicker' | 'difference';
export const COMPARISON_MODES: readonly ComparisonMode[] = ['side', 'fade', 'swipe', 'flicker', 'difference'];

export type ViewerCommand =
  | { kind: 'preset'; slot: 1 | 2 | 3 | 4 }
  | { kind: 'image-window' }
  | { kind: 'scroll'; delta: number }
  | { kind: 'first' }
  | { kind: 'last' }
  | { kind: 'cine' }
  | { kind: 'cine-fps'; delta: number }
  | { kind: 'invert' }
  | { kind: 'reset' }
  | { kind: 'zoom'; factor: number }
  /** One image pixel per screen pixel (colour and microscopy images are read at 1:1). */
  | { kind: 'zoom-1to1' }
  /** Nearest-neighbour magnification on/off (pixels shown as squares, not smoothed). */
  | { kind: 'nearest' }
  /** Brightness/contrast/gamma of a colour image. */
  | { kind: 'colour-adjust'; brightness: number; contrast: number; gamma: number }
  | { kind: 'tool'; tool: ViewerTool }
  | { kind: 'toggle-lock' }
  | { kind: 'next-mode' }
  | { kind: 'other-pane' }
  | { kind: 'toggle-window-link' }
  | { kind: 'delete-measurement' };

export interface KeyBinding {
  key: string;
  command: ViewerCommand;
  label: string;
}

export const DEFAULT_KEYMAP: readonly KeyBinding[] = [
  { key: '1', command: { kind: 'preset', slot: 1 }, label: 'CT brain 80/40 (MR: auto)' },
  { key: '2', command: { kind: 'preset', slot: 2 }, label: 'CT soft tissue 400/40 (MR: auto)' },
  { key: '3', command: { kind: 'preset', slot: 3 }, label: 'CT lung 1500/−600 (MR: auto)' },
  { key: '4', command: { kind: 'preset', slot: 4 }, label: 'CT bone 2500/480 (MR: auto)' },
  { key: '0', command: { kind: 'image-window' }, label: "The image's own window" },
  { key: 'ArrowUp', command: { kind: 'scroll', delta: -1 }, label: 'Previous slice' },
  { key: 'ArrowLeft', command: { kind: 'scroll', delta: -1 }, label: 'Previous slice' },
  { key: 'ArrowDown', command: { kind: 'scroll', delta: 1 }, label: 'Next slice' },
  { key: 'ArrowRight', command: { kind: 'scroll', delta: 1 }, label: 'Next slice' },
  { key: 'PageUp', command: { kind: 'scroll', delta: -10 }, label: '10 slices back' },
  { key: 'PageDown', command: { kind: 'scroll', delta: 10 }, label: '10 slices on' },
  { key: 'Home', command: { kind: 'first' }, label: 'First slice' },
  { key: 'End', command: { kind: 'last' }, label: 'Last slice' },
  { key: 'c', command: { kind: 'cine' }, label: 'Cine play/stop' },
  { key: ']', command: { kind: 'cine-fps', delta: 5 }, label: 'Cine faster' },
  { key: '[', command: { kind: 'cine-fps', delta: -5 }, label: 'Cine slower' },
  { key: 'i', command: { kind: 'invert' }, label: 'Invert' },
  { key: 'r', command: { kind: 'reset' }, label: 'Reset view' },
  { key: '+', command: { kind: 'zoom', factor: 1.25 }, label: 'Zoom in' },
  { key: '=', command: { kind: 'zoom', factor: 1.25 }, label: 'Zoom in' },
  { key: '-', command: { kind: 'zoom', factor: 0.8 }, label: 'Zoom out' },
  { key: 'o', command: { kind: 'zoom-1to1' }, label: 'Zoom 1:1 (one image pixel per screen pixel)' },
  { key: 'n', command: { kind: 'nearest' }, label: 'Nearest-neighbour pixels on/off' },
  { key: 'w', command: { kind: 'tool', tool: 'wwwc' }, label: 'Window/level tool (left drag)' },
  { key: 'p', command: { kind: 'tool', tool: 'pan' }, label: 'Pan tool' },
  { key: 'z', command: { kind: 'tool', tool: 'zoom' }, label: 'Zoom tool' },
  { key: 'l', command: { kind: 'tool', tool: 'length' }, label: 'Length (mm)' },
  { key: 'a', command: { kind: 'tool', tool: 'angle' }, label: 'Angle' },
  { key: 'e', command: { kind: 'tool', tool: 'roi' }, label: 'Elliptical ROI (mean ± sd)' },
  { key: 'k', command: { kind: 'toggle-lock' }, label: 'Lock/unlock pane sync' },
  { key: 'j', command: { kind: 'toggle-window-link' }, label: 'Link/unlink window/level of the panes' },
  { key: 'Delete', command: { kind: 'delete-measurement' }, label: 'Delete the selected (else the last) measurement' },
  { key: 'Backspace', command: { kind: 'delete-measurement' }, label: 'Delete the selected (else the last) measurement' },
  { key: 'm', command: { kind: 'next-mode' }, label: 'Next comparison mode' },
  { key: '`', command: { kind: 'other-pane' }, label: 'Make the other pane active' },
];

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/**
 * The command for a key press, or null. Chords with Ctrl, Meta or Alt are left to the browser and the
 * OS; Tab is never bound (it moves focus, for keyboard users).
 */
export function commandForKey(event: KeyLike, keymap: readonly KeyBinding[] = DEFAULT_KEYMAP): ViewerCommand | null {
  if (event.ctrlKey || event.metaKey || event.altKey || event.key === 'Tab') return null;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return keymap.find((b) => b.key === key)?.command ?? null;
}

export function nextMode(mode: ComparisonMode): ComparisonMode {
  const i = COMPARISON_MODES.indexOf(mode);
  return COMPARISON_MODES[(i + 1) % COMPARISON_MODES.length] ?? 'side';
}
