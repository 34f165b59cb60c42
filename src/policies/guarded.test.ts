import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { guarded } from './guarded.ts';
import type { Operation, Policy } from './policy.ts';

function counting(): Policy & { calls: number } {
  return {
    calls: 0,
    execute<T>(fn: Operation<T>) {
      this.calls++;
      return Promise.resolve(fn({ signal: new AbortController().signal, attempt: 0 }));
    },
  };
}

describe('guarded', () => {
  it('runs every call of the wrapped function under the policy, passing arguments and this', async () => {
    const policy = counting();
    const service = {
      base: 10,
      add: guarded(policy, async function (this: { base: number }, n: number) {
        return this.base + n;
      }),
    };
    assert.equal(await service.add(5), 15);
    assert.equal(await service.add(1), 11);
    assert.equal(policy.calls, 2);
  });

  it('rethrows the function error unchanged', async () => {
    const failure = new Error('nope');
    const fn = guarded(counting(), async () => {
      throw failure;
    });
    await assert.rejects(fn(), (e) => e === failure);
  });

  it('works as a standard (TC39) method decorator compiled by TypeScript', async () => {
    const source = `
      import { guarded } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'guarded.ts')).href)};
      export const log = [];
      const policy = { execute(fn) { log.push('policy'); return Promise.resolve(fn({ signal: new AbortController().signal, attempt: 0 })); } };
      export class Worker {
        constructor(id) { this.id = id; }
        @guarded(policy)
        async process(task) { log.push('process ' + task); return this.id + ':' + task; }
      }
    `;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    assert.doesNotMatch(outputText, /@guarded/, 'TypeScript lowered the decorator');
    const dir = await mkdtemp(join(tmpdir(), 'rebound-decorator-'));
    try {
      const file = join(dir, 'worker.mjs');
      await writeFile(file, outputText);
      const module = await import(pathToFileURL(file).href);
      const worker = new module.Worker('worker1');
      assert.equal(await worker.process('t1'), 'worker1:t1');
      assert.deepEqual(module.log, ['policy', 'process t1']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to decorate anything but a method', () => {
    const decorator = guarded(counting());
    assert.throws(
      () => decorator(async () => 1, { kind: 'getter' } as unknown as ClassMethodDecoratorContext),
      /decorates methods, not getters/,
    );
  });
});
