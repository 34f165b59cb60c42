// Splits a command line into arguments the way a POSIX shell would quote them, without ever running a shell.

/** Thrown for a command line that cannot be split (an unterminated quote or a trailing backslash). */
export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

/**
 * `node "my server.js" --name='a b'` → `['node', 'my server.js', '--name=a b']`.
 * Whitespace separates words; single quotes keep everything literally; double quotes keep
 * everything but `\"`, `\\`, `\$` and `` \` ``; a backslash outside quotes escapes the next character.
 * Nothing else is special: no variables, globs, pipes or redirections (they are plain text), because
 * the words are passed to the program directly.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && index + 1 < line.length && '"\\$`'.includes(line[index + 1]!)) {
        word += line[++index];
      } else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\') {
      if (index + 1 >= line.length) throw new CommandLineError('ends with a lone backslash');
      word += line[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new CommandLineError(`has an unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(word);
  return words;
}
