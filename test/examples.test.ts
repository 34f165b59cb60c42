// Every runnable example in examples/policies, durable, healing and chaos runs as a user
// would run it (its own process, exit code 0, something printed), and the code their pages in docs/
// show for a file is copied from it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const root = resolve(import.meta.dirname, '..');

/**
 * Each documented folder of examples, the page that shows them (`docs/<topic>.md` unless `doc`
 * says otherwise), and how many it has at least.
 */
const suites = [
  { topic: 'policies', minimum: 10 },
  { topic: 'durable', minimum: 6 },
  { topic: 'healing', minimum: 3, doc: 'docs/control-plane.md' },
  { topic: 'chaos', minimum: 2 },
].map(({ topic, minimum, doc }: { topic: string; minimum: number; doc?: string }) => {
  const folder = join(root, 'examples', topic);
  const examples = readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .sort();
  return { topic, minimum, folder, examples, doc: doc ?? `docs/${topic}.md` };
});

/** Each example asserts its own claims, so it must finish well within this (they take ~0.2 s). */
const LIMIT_MS = 20_000;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runExample(folder: string, name: string): Promise<Outcome> {
  return new Promise((resolveOutcome) => {
    const child = execFile(
      process.execPath,
      ['--conditions=source', join(folder, name)],
      { cwd: root, timeout: LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 10 * 1024 * 1024 },
      (_error, stdout, stderr) =>
        resolveOutcome({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
    );
  });
}

for (const { topic, minimum, folder, examples } of suites) {
  describe(`examples/${topic}`, { concurrency: true }, () => {
    it('finds the examples', () => {
      assert.ok(examples.length >= minimum, `only ${examples.length} examples found in ${folder}`);
    });

    for (const name of examples) {
      it(`${name} exits 0 and prints what it shows`, { timeout: LIMIT_MS + 10_000 }, async () => {
        const { code, signal, stdout, stderr } = await runExample(folder, name);
        assert.equal(signal, null, `${name} was killed (${signal}): over ${LIMIT_MS} ms?\n${stderr}`);
        assert.equal(code, 0, `${name} exited with ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
        assert.notEqual(stdout.trim(), '', `${name} printed nothing`);
      });
    }
  });
}

/**
 * The fenced `ts` blocks of a page whose preceding line names an example file of `topic`
 * (`examples/<topic>/<name>.ts`), with the file they name.
 */
function documentedBlocks(
  markdown: string,
  topic: string,
  doc: string,
): Array<{ file: string; code: string; line: number }> {
  const lines = markdown.split('\n');
  const blocks: Array<{ file: string; code: string; line: number }> = [];
  const naming = new RegExp(`examples/${topic}/([\\w-]+\\.ts)`);
  for (let index = 0; index < lines.length; index++) {
    if (lines[index] !== '```ts') continue;
    let previous = index - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous--;
    const end = lines.indexOf('```', index + 1);
    assert.ok(end > index, `unclosed code block at ${doc}:${index + 1}`);
    const named = naming.exec(lines[previous] ?? '');
    if (named)
      blocks.push({ file: named[1]!, code: lines.slice(index + 1, end).join('\n'), line: index + 1 });
    index = end;
  }
  return blocks;
}

for (const { topic, folder, examples, doc } of suites) {
  describe(doc, () => {
    const markdown = readFileSync(join(root, doc), 'utf8');
    const blocks = documentedBlocks(markdown, topic, doc);

    it('shows code from every example file, and names only files that exist', () => {
      assert.deepEqual([...new Set(blocks.map((block) => block.file))].sort(), examples);
    });

    it('copies each shown block from its file (excerpts are separated by a `// …` line)', () => {
      for (const { file, code, line } of blocks) {
        const source = readFileSync(join(folder, file), 'utf8');
        for (const excerpt of code.split(/^\s*\/\/ …$/m)) {
          const text = excerpt.replace(/^\n+|\n+$/g, '');
          assert.ok(
            source.includes(text),
            `${doc}:${line}: this part is not in examples/${topic}/${file}:\n${text}`,
          );
        }
      }
    });
  });
}
