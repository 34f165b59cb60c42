#!/usr/bin/env node
// The `rebound` command: runs the built CLI of an installed package, or the TypeScript sources of a
// checkout (Node >= 22.18 strips the types).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const built = new URL('../dist/cli/main.js', import.meta.url);
const entry = existsSync(built) ? built : new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
