/** Reading a node's `GET /metrics` text (Prometheus's format) in tests. */

/** The value of one sample line (`name{labels} value`), or undefined when the text has none. */
export function sampleOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
