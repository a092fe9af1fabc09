import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PacsNodes } from '../../../src-main/pacs/pacs-nodes';
import { machinePolicySchema } from '../../../src-shared/contracts/policy';
import { DomainError } from '../../../src-shared/ipc/envelope';

const dirs: string[] = [];
function settings(content: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-pacs-nodes-'));
  dirs.push(dir);
  const file = path.join(dir, 'pacs-nodes.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('PACS nodes: settings file and machine policy', () => {
  it('a policy node pins its name (the settings entry of that name is ignored); forbidden names and hosts are refused and not listed', () => {
    const file = settings({
      nodes: [
        { name: 'main', url: 'https://user-choice.example/dicom-web', auth: { type: 'bearer', token: 'user-token' } },
        { name: 'research', url: 'https://research.example/dicom-web' },
        { name: 'old', url: 'http://old-pacs.example:8042/dicom-web' },
      ],
    });
    const nodes = new PacsNodes(file, { nodes: [{ name: 'main', url: 'https://pacs.hospital.example/dicom-web', auth: { type: 'basic', username: 'ws', password: 'it-secret' } }], forbidden: ['research', 'OLD-PACS.example'] });
    expect(nodes.get('main')).toMatchObject({ protocol: 'dicomweb', url: 'https://pacs.hospital.example/dicom-web' });
    expect(nodes.summaries()).toEqual([{ name: 'main', kind: 'dicomweb', url: 'https://pacs.hospital.example/dicom-web', auth: 'basic', source: 'policy' }]);
    expect(codeOf(() => nodes.get('research'))).toBe('PACS_NODE_FORBIDDEN');
    expect(codeOf(() => nodes.get('old'))).toBe('PACS_NODE_FORBIDDEN');
    expect(codeOf(() => nodes.get('absent'))).toBe('PACS_UNKNOWN_NODE');
    expect(JSON.stringify(nodes.summaries())).not.toMatch(/it-secret|user-token/);
  });

  it('a settings file with errors names the field, never the secret; a URL holding credentials is refused', () => {
    const bad = new PacsNodes(settings({ nodes: [{ name: 'x', url: 'https://ws:hunter2@pacs.example/dicom-web' }] }));
    expect(bad.summaries()).toEqual([]);
    expect(bad.problems.join(' ')).toMatch(/nodes\.0\.url: credentials go in "auth"/);
    let message = '';
    try {
      bad.get('x');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/No PACS node named "x".*credentials go in "auth"/);
    expect(message + bad.problems.join(' ')).not.toContain('hunter2');
    expect(new PacsNodes(settings('{ not json')).problems).toEqual(['pacs-nodes.json is not valid JSON (syntax error)']);
  });

  it('the machine policy schema accepts a pacs section and refuses unknown keys in it; a locked policy forbids every node', () => {
    expect(machinePolicySchema.safeParse({ pacs: { nodes: [{ name: 'main', url: 'https://pacs.example/dicom-web' }], forbidden: ['10.0.0.9'] } }).success).toBe(true);
    expect(machinePolicySchema.safeParse({ pacs: { nodez: [] } }).success).toBe(false);
    const locked = new PacsNodes(settings({ nodes: [{ name: 'a', url: 'http://127.0.0.1:1/dicom-web' }] }), { forbidden: ['*'] });
    expect(codeOf(() => locked.get('a'))).toBe('PACS_NODE_FORBIDDEN');
    expect(locked.summaries()).toEqual([]);
  });
});
