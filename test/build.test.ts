// `npm run build` emits ESM with type declarations, and the built core loads and works.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
// Inside the project (under node_modules/.cache, ignored everywhere) so that the built code resolves
// its packages (uplot) as dist/ does.
const cache = join(root, 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const outDir = mkdtempSync(join(cache, 'rebound-build-'));
after(() => rmSync(outDir, { recursive: true, force: true }));

describe('build', () => {
  it('emits ESM and .d.ts for the core, with no test files', { timeout: 120_000 }, async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
      cwd: root,
      stdio: 'pipe',
    });
    const entry = join(outDir, 'policies', 'index.js');
    assert.ok(existsSync(join(outDir, 'policies', 'index.d.ts')));
    assert.ok(!existsSync(join(outDir, 'policies', 'timeout.test.js')));
    assert.doesNotMatch(readFileSync(entry, 'utf8'), /\.ts['"]/, 'relative imports are rewritten to .js');

    const built = await import(pathToFileURL(entry).href);
    const policy = built.pipeline(built.timeout(1_000));
    assert.equal(await policy.execute(async () => 'built'), 'built');
    assert.equal(typeof built.circuitBreaker, 'function');
    assert.match(
      readFileSync(join(outDir, 'policies', 'timeout.d.ts'), 'utf8'),
      /export declare function timeout/,
    );

    // rebound/control is an entry point of its own (package.json "exports").
    const control = await import(pathToFileURL(join(outDir, 'control', 'index.js')).href);
    const scaler = control.autoscaler({ target: 0.5, min: 1, max: 10 });
    assert.equal(scaler.recommend({ replicas: 2, value: 0.75, atMs: 0 }), 3);
    assert.ok(existsSync(join(outDir, 'control', 'pidController.d.ts')));
  });

  it(
    'ships the dashboard next to the built server, where its routes find it',
    { timeout: 120_000 },
    async () => {
      execFileSync(process.execPath, [join(root, 'scripts', 'copyDashboard.ts'), outDir], {
        cwd: root,
        stdio: 'pipe',
      });
      assert.ok(existsSync(join(outDir, 'server', 'dashboard', 'index.html')));
      assert.ok(existsSync(join(outDir, 'server', 'dashboard', 'pages', 'service.js')));
      const built = await import(pathToFileURL(join(outDir, 'server', 'dashboardRoutes.js')).href);
      assert.equal(built.DASHBOARD_DIRECTORY, join(outDir, 'server', 'dashboard'));
      const routes = built.dashboardRoutes();
      const app = routes.find((route: { path: string }) => route.path === '/assets/:file');
      const answer = await app.handle({ params: { file: 'app.js' } });
      assert.equal(answer.status, 200);
      assert.match(answer.body, /openStream/);
    },
  );
});
