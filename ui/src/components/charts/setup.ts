// Chart.js with only the parts the insight charts use (bars, a doughnut, the matrix heatmap),
// themed from the page's CSS tokens. Chart.js draws on a canvas and sizes it through the CSSOM,
// which the CSP allows; nothing here adds a <style> element or a style attribute.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, DoughnutController, ArcElement, Tooltip, Legend);
Chart.register(MatrixController, MatrixElement);

let themed = false;

/** The page's colours and font for every chart (read once, from app.css's custom properties). */
export function themeCharts(): void {
  if (themed) return;
  themed = true;
  const css = getComputedStyle(document.documentElement);
  const token = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  Chart.defaults.color = token('--text-dim', '#9ba3af');
  Chart.defaults.borderColor = token('--border', '#272b33');
  Chart.defaults.font.family = token('--font-ui', 'sans-serif');
  Chart.defaults.font.size = 11;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.tooltip.backgroundColor = token('--raised', '#22262e');
  Chart.defaults.plugins.tooltip.borderColor = token('--border-strong', '#363c47');
  Chart.defaults.plugins.tooltip.borderWidth = 1;
  Chart.defaults.plugins.tooltip.titleColor = token('--text', '#d6dae1');
  Chart.defaults.plugins.tooltip.bodyColor = token('--text', '#d6dae1');
}

export { Chart };
