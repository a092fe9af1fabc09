import type { Migration } from './types';
import { migration001 } from './001-initial';
import { migration002 } from './002-search';
import { migration003 } from './003-search-sets';
import { migration004 } from './004-audit-chain';
import { migration005 } from './005-pacs-transfers';

export type { Migration } from './types';

/** Every schema step, in order. Append only: a shipped step is never edited, renumbered or removed. */
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005];

export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.length;

MIGRATIONS.forEach((m, i) => {
  if (m.version !== i + 1) throw new Error(`migration registry out of order: position ${i + 1} holds version ${m.version}`);
});
