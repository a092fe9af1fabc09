import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';

/**
 * The workstation window's hardened web preferences, as a plain object (a test reads it without Electron).
 * The renderer gets no Node, runs sandboxed in an isolated world, and talks to main only through the
 * named operations the preload exposes.
 */
export const HARDENED_WEB_PREFERENCES = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  plugins: false,
  enableWebSQL: false,
  navigateOnDragDrop: false,
  /** Chromium's spellchecker downloads dictionaries from the internet: off. */
  spellcheck: false,
  safeDialogs: true,
  autoplayPolicy: 'user-gesture-required',
} as const satisfies WebPreferences);

export const WINDOW_BACKGROUND = '#0b0d10';

export interface WindowOptionsInput {
  /** Absolute path of the bundled preload (dist/main/preload.cjs). */
  preloadPath: string;
  /** DevTools only in an unpackaged (development) run. */
  devTools: boolean;
}

export function mainWindowOptions(input: WindowOptionsInput): BrowserWindowConstructorOptions {
  return {
    width: 1600,
    height: 1000,
    minWidth: 1280,
    minHeight: 720,
    show: false,
    title: 'HealthGPT Workstation',
    backgroundColor: WINDOW_BACKGROUND,
    autoHideMenuBar: true,
    webPreferences: { ...HARDENED_WEB_PREFERENCES, preload: input.preloadPath, devTools: input.devTools },
  };
}
