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

/** Typechecks one planted file under a layer's own tsconfig (in a scratch folder) and returns tsc's output. */
function typecheckPlanted(layer: 'src-shared' | 'src-main', code: string): string {
  mkdirSync(path.resolve('test-output'), { recursive: true });
  const dir = mkdtempSync(path.resolve(`test-output/planted-${layer}-`));
  try {
    writeFileSync(path.join(dir, 'planted.ts'), code);
    const compilerOptions = { composite: false, noEmit: true, emitDeclarationOnly: false, declaration: true, tsBuildInfoFile: null, rootDir: dir };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: path.resolve(`${layer}/tsconfig.json`), compilerOptions, include: ['./*.ts'], references: [] }));
    try {
      execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', dir], { encoding: 'utf8' });
      return '';
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? e);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
    const output = typecheckPlanted('src-shared', 'export const a = document.title;\nexport const b = process.env.HOME;\n');
    expect(output).toMatch(/Cannot find name 'document'/);
    expect(output).toMatch(/Cannot find name 'process'/);
  });

  it('the src-main tsconfig has no DOM: a planted use of document fails the typecheck', () => {
    expect(typecheckPlanted('src-main', 'export const a = document.title;\n')).toMatch(/Cannot find name 'document'/);
  });
});
