import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function lintPlanted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.resolve(filePath) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the process boundary is checked by machine', () => {
  const violations: Array<[string, string, RegExp]> = [
    ['src-shared/planted.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", /src-shared must not import Node built-ins/],
    ['src-shared/planted.ts', "import fs from 'fs';\nexport const x = fs;\n", /src-shared must not import Node built-ins/],
    ['src-shared/planted.ts', "import { app } from 'electron';\nexport const x = app;\n", /src-shared must not import electron/],
    ['src-shared/planted.ts', 'export const w = window.innerWidth;\n', /no-restricted-globals/],
    ['src-shared/planted.ts', "import { createServices } from '../src-main/services';\nexport const x = createServices;\n", /src-shared must not import main or renderer code/],
    ['src-renderer/planted.ts', "import { createServices } from '../src-main/services';\nexport const x = createServices;\n", /src-renderer must not import main-process code/],
    ['src-renderer/planted.ts', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n", /src-renderer must not import electron/],
    ['src-main/planted.ts', "import { App } from '../src-renderer/app/App';\nexport const x = App;\n", /src-main must not import renderer code/],
    ['src-main/planted.ts', "import { app } from 'electron';\nexport const x = app;\n", /Only src-main\/electron\/ may import electron/],
  ];

  it.each(violations)('lint fails a planted violation in %s', async (file, code, expected) => {
    const messages = await lintPlanted(file, code);
    expect(messages.join('\n')).toMatch(expected);
  });

  it('lint accepts the allowed direction (renderer and main importing shared; electron inside src-main/electron)', async () => {
    expect(await lintPlanted('src-renderer/planted.ts', "import { contracts } from '../src-shared/contracts';\nexport const x = contracts;\n")).toEqual([]);
    expect(await lintPlanted('src-main/electron/planted.ts', "import { app } from 'electron';\nexport const x = app;\n")).toEqual([]);
  });

  it('the src-shared tsconfig has neither DOM nor Node types: a planted use fails the typecheck', () => {
    mkdirSync(path.resolve('test-output'), { recursive: true });
    const dir = mkdtempSync(path.resolve('test-output/planted-shared-'));
    try {
      writeFileSync(path.join(dir, 'uses-dom-and-node.ts'), 'export const a = document.title;\nexport const b = process.env.HOME;\n');
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: path.resolve('src-shared/tsconfig.json'), compilerOptions: { composite: false, noEmit: true, emitDeclarationOnly: false, declaration: true, tsBuildInfoFile: null, rootDir: dir }, include: ['./*.ts'] }),
      );
      let output = '';
      try {
        execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', dir], { encoding: 'utf8' });
      } catch (e) {
        output = String((e as { stdout?: string }).stdout ?? e);
      }
      expect(output).toMatch(/Cannot find name 'document'/);
      expect(output).toMatch(/Cannot find name 'process'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the src-main tsconfig has no DOM: a planted use of document fails the typecheck', () => {
    mkdirSync(path.resolve('test-output'), { recursive: true });
    const dir = mkdtempSync(path.resolve('test-output/planted-main-'));
    try {
      writeFileSync(path.join(dir, 'uses-dom.ts'), 'export const a = document.title;\n');
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: path.resolve('src-main/tsconfig.json'), compilerOptions: { composite: false, noEmit: true, emitDeclarationOnly: false, declaration: true, tsBuildInfoFile: null, rootDir: dir }, include: ['./*.ts'], references: [] }),
      );
      let output = '';
      try {
        execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', dir], { encoding: 'utf8' });
      } catch (e) {
        output = String((e as { stdout?: string }).stdout ?? e);
      }
      expect(output).toMatch(/Cannot find name 'document'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
