/**
 * Which module loaders a worker thread registers for the app (tsx's, found among node's
 * options as each way of running tsx passes it), and which module is the app's entry module.
 */
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importPreloads, nodeOptionsArgs, workerModuleHooks } from '../../runtime/threads/module-hooks.js';
import { isEntryModule } from '../../runtime/threads/actor-module.js';

const cwd = '/srv/app';
const tsxEsm = (parentURL: string) => [{ specifier: 'tsx/esm', parentURL, data: {} }];

describe('the module loaders a worker registers for the app', () => {
  it.each([
    ['node --import tsx', ['--import', 'tsx'], tsxEsm('file:///srv/app/')],
    ['node --import=tsx', ['--import=tsx'], tsxEsm('file:///srv/app/')],
    ['node --import tsx/esm', ['--import', 'tsx/esm'], tsxEsm('file:///srv/app/')],
    [
      'the tsx CLI (its loader by file URL)',
      ['--require', '/srv/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///srv/app/node_modules/tsx/dist/loader.mjs'],
      tsxEsm('file:///srv/app/node_modules/tsx/dist/loader.mjs'),
    ],
    ["tsx's loader by relative path", ['--import', './node_modules/tsx/dist/loader.mjs'], tsxEsm('file:///srv/app/node_modules/tsx/dist/loader.mjs')],
    ['a plain JS app', [], []],
    ['other preloads only', ['--import', './otel.mjs', '--enable-source-maps', '--require', 'tsx'], []],
  ])('%s → %j', (_, args, hooks) => {
    expect(workerModuleHooks(args, cwd)).toEqual(hooks);
  });

  it('reads --import values in order, in both spellings, and ignores a trailing --import without a value', () => {
    expect(importPreloads(['--import', 'a', '--inspect', '--import=b', '--import'])).toEqual(['a', 'b']);
  });

  it('splits NODE_OPTIONS on spaces, keeping double-quoted values whole', () => {
    expect(nodeOptionsArgs('--import tsx  --max-old-space-size=64 --import "./my hooks.mjs"')).toEqual([
      '--import',
      'tsx',
      '--max-old-space-size=64',
      '--import',
      './my hooks.mjs',
    ]);
    expect(nodeOptionsArgs(undefined)).toEqual([]);
  });
});

describe('the entry module', () => {
  it('is the file node was started with, and no other', () => {
    expect(isEntryModule(pathToFileURL(process.argv[1]!).href)).toBe(true);
    expect(isEntryModule(import.meta.url)).toBe(false);
    expect(isEntryModule('node:fs')).toBe(false);
  });
});
