// After `tsc` (npm run build's postbuild): copies the dashboard's browser files, which tsc does not
// emit, next to the built server, so dist/server/dashboardRoutes.js finds them as src/ does.
// Usage: node scripts/copyDashboard.ts [OUT_DIR]   (default: dist)

import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outDir = resolve(root, process.argv[2] ?? 'dist');
const target = join(outDir, 'server', 'dashboard');
rmSync(target, { recursive: true, force: true });
cpSync(join(root, 'src', 'server', 'dashboard'), target, { recursive: true });
