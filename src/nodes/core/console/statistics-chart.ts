/**
 * The browser's part of the statistics page: the weekly provisions (週あたり提供件数) as a bar chart,
 * drawn by Chart.js on the page's canvas from the figures the server wrote into its `data-weeks`
 * attribute (JSON: `[{ key, provisions }]`). Bundled by esbuild when the console is mounted
 * (chart-bundle.ts); no inline script, and Chart.js draws on the canvas, setting only the canvas's
 * size through the CSSOM, which the pages' CSP allows.
 */
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/** The little of the DOM used here (the project's TypeScript has no DOM lib: one browser file). */
interface ChartCanvas {
  dataset: Record<string, string | undefined>;
}
declare const document: { querySelectorAll(selector: string): Iterable<ChartCanvas> };

interface Week {
  key: string;
  label: string;
  provisions: number;
}

function draw(canvas: ChartCanvas): void {
  const weeks = JSON.parse(canvas.dataset.weeks ?? '[]') as Week[];
  new Chart(canvas, {
    type: 'bar',
    data: {
      labels: weeks.map((w) => w.label),
      datasets: [{ label: '提供件数', data: weeks.map((w) => w.provisions), backgroundColor: '#0017c1' }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  canvas.dataset.drawn = 'true';
}

for (const canvas of document.querySelectorAll('canvas[data-weeks]')) draw(canvas);
