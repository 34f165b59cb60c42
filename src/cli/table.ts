// Plain-text tables for the CLI: a header row, columns two spaces apart, numbers aligned right.

export interface TableColumn {
  readonly header: string;
  /** `right` for numbers, so that their digits line up. Default `left`. */
  readonly align?: 'left' | 'right';
}

/** The table as lines ending in `\n`, with no trailing spaces; cells are shown as given. */
export function formatTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        return column.align === 'right' ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!);
      })
      .join('  ')
      .trimEnd();
  return [columns.map((column) => column.header), ...rows].map((cells) => `${line(cells)}\n`).join('');
}
