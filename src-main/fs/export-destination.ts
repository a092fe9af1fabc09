import path from 'node:path';
import { commonErrorCodes, DomainError } from '../../src-shared/ipc/envelope';

/**
 * Asks the person where an export goes (Electron: a native save dialog opened at `suggested`); resolves to
 * the chosen absolute path, or null when they cancelled. Without one, exports go to the suggested path.
 */
export type SaveDialog = (request: { suggested: string; kind: 'file' | 'folder'; title: string }) => Promise<string | null>;

/** A name main made for an export: one path segment of plain characters, never a path. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$/;

/**
 * Where exports the window asks for are written. The window never names a path (a compromised renderer
 * could otherwise write any file the user can): main makes the name, places it in the export folder,
 * and a save dialog, where there is one, lets the person move it. Writers must still refuse to replace
 * an existing file.
 */
export class ExportDestinations {
  constructor(
    readonly folder: string,
    private readonly dialog: SaveDialog | null = null,
  ) {}

  /** The absolute path for a new export called `name`; throws CANCELLED when the person cancels the dialog. */
  async choose(name: string, kind: 'file' | 'folder', title: string): Promise<string> {
    if (!SAFE_NAME.test(name) || name.includes('..')) throw new Error(`unsafe export name ${JSON.stringify(name)}`);
    const suggested = path.join(this.folder, name);
    if (!this.dialog) return suggested;
    const chosen = await this.dialog({ suggested, kind, title });
    if (!chosen) throw new DomainError(commonErrorCodes.cancelled, 'Export cancelled; nothing was written.');
    return path.resolve(chosen);
  }
}

/** A file-name-safe stamp of now: 20261202-113301. */
export function fileStamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}
