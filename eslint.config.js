import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const NODE_BUILTINS = ['node:*', 'fs', 'fs/*', 'path', 'os', 'crypto', 'child_process', 'worker_threads', 'http', 'https', 'net', 'url', 'util', 'stream', 'zlib', 'module', 'buffer', 'events'];

/**
 * The process boundary, checked by machine (see test/shared/layer-rule.test.ts, which plants violations):
 * - src-shared: pure TypeScript, no electron, no Node built-ins, no DOM globals, no main/renderer code;
 * - src-renderer: never imports main code, Node or electron;
 * - src-main: never imports renderer code; only src-main/electron/ imports electron.
 */
export const layerRules = {
  shared: {
    patterns: [
      { group: ['electron', 'electron/*'], message: 'src-shared must not import electron.' },
      { group: NODE_BUILTINS, message: 'src-shared must not import Node built-ins.' },
      { group: ['**/src-main/**', '**/src-renderer/**'], message: 'src-shared must not import main or renderer code.' },
      { group: ['react', 'react-dom', 'react-dom/*', 'cornerstone-*', 'ws', 'better-sqlite3', 'onnxruntime-*'], message: 'src-shared is pure: no runtime-specific packages.' },
    ],
  },
  renderer: {
    patterns: [
      { group: ['**/src-main/**'], message: 'src-renderer must not import main-process code; use the api client.' },
      { group: ['electron', 'electron/*'], message: 'src-renderer must not import electron; use the api client.' },
      { group: NODE_BUILTINS, message: 'src-renderer must not import Node built-ins.' },
    ],
  },
  main: {
    patterns: [
      { group: ['**/src-renderer/**'], message: 'src-main must not import renderer code.' },
      { group: ['electron', 'electron/*'], message: 'Only src-main/electron/ may import electron: keep Electron at the edges.' },
    ],
  },
  mainElectron: {
    patterns: [{ group: ['**/src-renderer/**'], message: 'src-main must not import renderer code.' }],
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'model/**', 'test-output/**', 'resources/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name='ipcMain'][property.name='handle']", message: 'Register handlers through src-main/ipc (the one registry), never ipcMain.handle directly.' }],
    },
  },
  {
    files: ['src-shared/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': ['error', layerRules.shared],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage', 'HTMLElement', 'process', 'Buffer', 'require', '__dirname'],
    },
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', layerRules.renderer] },
  },
  {
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/electron/**'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-restricted-imports': ['error', layerRules.main] },
  },
  {
    files: ['src-main/electron/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-restricted-imports': ['error', layerRules.mainElectron] },
  },
  {
    files: ['src-main/ipc/registry.ts', 'src-main/electron/ipc-wiring.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**/*.{ts,tsx}', 'bench/**/*.ts', 'scripts/**/*.{js,mjs,ts}', '*.config.{js,ts}'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
