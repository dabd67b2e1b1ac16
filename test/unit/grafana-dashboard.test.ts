import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { ActivityMetrics } from '../../activities/activity-metrics';
import { registerApiMetrics } from '../../api/plugins/metrics-plugin';
import { TEMPORAL_SDK_METRICS } from '../../worker/metrics-server';

// The dashboard in ops/grafana reads metrics by name: one renamed in the code would leave a panel empty, silently.
const dashboardPath = path.resolve(__dirname, '../../ops/grafana/messaging-dashboard.json');

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/** The metric names a PromQL expression selects: identifiers that are neither functions nor labels nor keywords. */
function metricNames(expr: string): string[] {
  const selectors = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...selectors.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b/g)]
    .filter((match) => !/^\s*\(/.test(selectors.slice(match.index + match[0].length)))
    .map((match) => match[0])
    .filter((name) => !PROMQL_KEYWORDS.has(name));
}

/** The names a registry's metrics are scraped under: a histogram's series are `_bucket`, `_sum` and `_count`. */
async function scrapedNames(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap(({ name, type }) =>
    String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  );
}

/** Our metrics: the worker's (`ActivityMetrics`) and the API's (`registerApiMetrics`), process metrics aside. */
async function ourMetrics(): Promise<string[]> {
  const api = new Registry();
  registerApiMetrics(api);
  return [...(await scrapedNames(new ActivityMetrics().registry)), ...(await scrapedNames(api))];
}

describe('ops/grafana/messaging-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''));
  const used = new Set(queries.flatMap(metricNames));

  it('reads metrics from its queries', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket{x="y"}[5m]))) or b_total')).toEqual(
      ['a_seconds_bucket', 'b_total'],
    );
    expect(queries.length).toBeGreaterThan(0);
    expect(used.size).toBeGreaterThan(0);
  });

  it('uses only metrics that the code registers or the Temporal SDK serves (TEMPORAL_SDK_METRICS)', async () => {
    const known = new Set<string>([...(await ourMetrics()), ...TEMPORAL_SDK_METRICS]);
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
  });

  it('has a panel over each metric of ours', async () => {
    const families = (await ourMetrics()).filter((name) => !/_(sum|count)$/.test(name));
    expect(families.filter((name) => !used.has(name))).toEqual([]);
  });
});
