// `npm run bench -- <name>`: runs bench/<name>.ts, which prints its side-by-side table.

import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(f))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];

if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}`);
  process.exit(name ? 1 : 0);
}
await import(pathToFileURL(`${import.meta.dirname}/${name}.ts`).href);
