// The import graph of src/ follows the layering of SPEC section 0: each folder imports only the
// folders below it, and the core (src/policies) imports nothing outside itself and no package.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

/** What each folder may import (besides itself), from SPEC section 0. */
const allowed: Record<string, readonly string[]> = {
  policies: [],
  store: ['policies'],
  durable: ['policies', 'store'],
  chaos: ['policies', 'store', 'durable'],
  // healing may use the control loops (the autoscaler of `rebound up`); control stays policies-only.
  healing: ['policies', 'store', 'durable', 'chaos', 'control'],
  control: ['policies'],
  server: ['policies', 'store', 'durable', 'chaos', 'healing', 'control'],
  cli: ['policies', 'store', 'durable', 'chaos', 'healing', 'control', 'server'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  const pattern =
    /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const match of text.matchAll(pattern)) specifiers.push((match[1] ?? match[2])!);
  return specifiers;
}

function folderOf(path: string): string {
  return relative(src, path).split(/[\\/]/)[0]!;
}

describe('architecture', () => {
  const files = sourceFiles(src);

  it('finds the sources it checks', () => {
    assert.ok(files.some((f) => folderOf(f) === 'policies'));
  });

  it('src/policies imports nothing outside itself: no package, no Node built-in', () => {
    const violations = files
      .filter((file) => folderOf(file) === 'policies')
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => !spec.startsWith('.') || folderOf(resolve(dirname(file), spec)) !== 'policies')
          .map((spec) => `${relative(root, file)} imports ${spec}`),
      );
    assert.deepEqual(violations, []);
  });

  it('every folder imports only the folders below it', () => {
    const violations = files.flatMap((file) => {
      const folder = folderOf(file);
      const permitted = allowed[folder];
      if (!permitted) return [`${relative(root, file)} is in a folder the layering does not know`];
      return importsOf(file)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => folderOf(resolve(dirname(file), spec)))
        .filter((target) => target !== folder && !permitted.includes(target))
        .map((target) => `${relative(root, file)} (${folder}) imports ${target}`);
    });
    assert.deepEqual(violations, []);
  });

  it('the core entry point is side-effect free ESM built from src/policies', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.sideEffects, false);
    assert.equal(pkg.exports['.'].default, './dist/policies/index.js');
    assert.equal(pkg.exports['.'].types, './dist/policies/index.d.ts');
  });
});
