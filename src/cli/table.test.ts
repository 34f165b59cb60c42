// formatTable: aligned columns, numbers to the right, no trailing spaces.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTable } from './table.ts';

describe('formatTable', () => {
  it('pads every column to its widest cell, two spaces apart, right-aligning where asked', () => {
    const text = formatTable(
      [{ header: 'NAME' }, { header: 'COUNT', align: 'right' }, { header: 'NOTE' }],
      [
        ['a', '1', 'first'],
        ['longer-name', '1234', ''],
      ],
    );
    assert.equal(
      text,
      ['NAME         COUNT  NOTE', 'a                1  first', 'longer-name   1234', ''].join('\n'),
    );
  });

  it('prints only the header when there is no row, and treats missing cells as empty', () => {
    assert.equal(formatTable([{ header: 'A' }, { header: 'B' }], []), 'A  B\n');
    assert.equal(formatTable([{ header: 'A' }, { header: 'B' }], [['x']]), 'A  B\nx\n');
  });
});
