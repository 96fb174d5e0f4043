// Medians and percentiles for the IDE benches' tables (as bench/stats.py does for the Python ones).

export function percentile(values: readonly number[], fraction: number): number {
  const ordered = [...values].sort((a, b) => a - b)
  const index = Math.min(ordered.length - 1, Math.max(0, Math.round(fraction * (ordered.length - 1))))
  return ordered[index] ?? NaN
}

export const median = (values: readonly number[]) => percentile(values, 0.5)

export function table(title: string, headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows].map((row) => row.map(String))
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)))
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [title, line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

/** One row: name, count, median, p95, p99, worst (ms or per second, one decimal). */
export function summary(name: string, values: readonly number[]): (string | number)[] {
  const f = (v: number) => v.toFixed(1)
  return [name, values.length, f(median(values)), f(percentile(values, 0.95)), f(percentile(values, 0.99)), f(Math.max(...values))]
}
