import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { splitCommand } from './commandLine.ts';

describe('splitCommand', () => {
  it('splits words and honours quotes and escapes', () => {
    assert.deepEqual(splitCommand('node   server.js'), ['node', 'server.js']);
    assert.deepEqual(splitCommand(`node "my server.js" --name='a b' x\\ y`), [
      'node',
      'my server.js',
      '--name=a b',
      'x y',
    ]);
    assert.deepEqual(splitCommand(`echo "say \\"hi\\" \\n" '\\n'`), ['echo', 'say "hi" \\n', '\\n']);
    assert.deepEqual(splitCommand(`a "" ''`), ['a', '', '']);
    assert.deepEqual(splitCommand(`echo $HOME | rm -rf ; x`), ['echo', '$HOME', '|', 'rm', '-rf', ';', 'x']);
    assert.deepEqual(splitCommand('  '), []);
  });

  it('rejects unterminated quotes and a trailing backslash', () => {
    assert.throws(() => splitCommand('node "a'), /unterminated double quote/);
    assert.throws(() => splitCommand("node 'a"), /unterminated single quote/);
    assert.throws(() => splitCommand('node a\\'), /lone backslash/);
  });

  it('round-trips any argument list quoted the POSIX way', () => {
    const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 6 }), (words) => {
        assert.deepEqual(splitCommand(words.map(quote).join(' ')), words);
      }),
    );
  });
});
