// Electron fuses for the packaged app, flipped in electron-builder's afterPack hook (before signing, so the
// signature covers the flipped binary) and read back to prove they took. See docs/it-deployment.md.
import path from 'node:path';
import fuses from '@electron/fuses';

const { flipFuses, getCurrentFuseWire, FuseVersion, FuseV1Options } = fuses;

/** Fuse states as stored in the binary (@electron/fuses FuseState). */
export const FUSE_ENABLE = 49;
export const FUSE_DISABLE = 48;
export const FUSE_REMOVED = 114;

/** What each fuse must be in the shipped app. */
export const WORKSTATION_FUSES = Object.freeze({
  /** ELECTRON_RUN_AS_NODE would turn the signed binary into a general-purpose Node. */
  RunAsNode: false,
  /** Chromium's cookie store encrypted with the OS key store. */
  EnableCookieEncryption: true,
  /** NODE_OPTIONS would let the environment inject code into main. */
  EnableNodeOptionsEnvironmentVariable: false,
  /** --inspect and friends would let anyone attach a debugger to main. */
  EnableNodeCliInspectArguments: false,
  /** app.asar must match the hash embedded at build time (macOS, Windows). */
  EnableEmbeddedAsarIntegrityValidation: true,
  /** Never load an app folder placed beside the binary, only the (integrity-checked) app.asar. */
  OnlyLoadAppFromAsar: true,
  LoadBrowserProcessSpecificV8Snapshot: false,
  /** The app is served from app://, file:// gets no extra privileges. */
  GrantFileProtocolExtraPrivileges: false,
});

/** The file @electron/fuses patches for a packaged app on each platform. */
export function packagedExecutable({ platform, appOutDir, productFilename, executableName }) {
  switch (platform) {
    case 'darwin':
    case 'mas':
      return path.join(appOutDir, `${productFilename}.app`);
    case 'win32':
      return path.join(appOutDir, `${productFilename}.exe`);
    case 'linux':
      return path.join(appOutDir, executableName);
    default:
      throw new Error(`fuses: unsupported platform ${platform}`);
  }
}

function fuseConfig(resetAdHocDarwinSignature) {
  const config = { version: FuseVersion.V1, resetAdHocDarwinSignature };
  for (const [name, value] of Object.entries(WORKSTATION_FUSES)) {
    const index = FuseV1Options[name];
    if (typeof index !== 'number') throw new Error(`fuses: @electron/fuses does not know the fuse ${name}`);
    config[index] = value;
  }
  return config;
}

/** Reads the fuse wire back and lists every fuse that is not as required. */
export async function checkFuses(executable) {
  const wire = await getCurrentFuseWire(executable);
  const problems = [];
  for (const [name, wanted] of Object.entries(WORKSTATION_FUSES)) {
    const state = wire[FuseV1Options[name]];
    if (state === undefined || state === FUSE_REMOVED) continue; // not in this Electron's wire
    const expected = wanted ? FUSE_ENABLE : FUSE_DISABLE;
    if (state !== expected) problems.push(`${name} is ${state === FUSE_ENABLE ? 'on' : 'off'}, must be ${wanted ? 'on' : 'off'}`);
  }
  return problems;
}

export async function applyWorkstationFuses(executable, { resetAdHocDarwinSignature = false } = {}) {
  await flipFuses(executable, fuseConfig(resetAdHocDarwinSignature));
  const problems = await checkFuses(executable);
  if (problems.length) throw new Error(`fuses not set on ${executable}: ${problems.join('; ')}`);
}
