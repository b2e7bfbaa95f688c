// Requests per minute over the last hour as an SVG bar chart (no chart library, no inline style:
// geometry is in SVG attributes, colours in styles.css).
export function RateChart({ points }: { points: Array<{ minute: string; count: number }> }) {
  const W = 600;
  const H = 140;
  const max = Math.max(1, ...points.map((p) => p.count));
  const bw = W / Math.max(points.length, 1);
  const total = points.reduce((a, p) => a + p.count, 0);
  const last = points[points.length - 1]?.count ?? 0;
  return (
    <div class="chart" data-testid="rate-chart">
      <div class="chart-head">
        <span>
          <strong>{last}</strong> in the last minute
        </span>
        <span class="muted">{total} in the last hour · peak {max}/min</span>
      </div>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Requests per minute, last hour; peak ${max}`} preserveAspectRatio="none">
        <line class="chart-grid" x1="0" x2={W} y1={H / 2} y2={H / 2} />
        <line class="chart-grid" x1="0" x2={W} y1={H - 0.5} y2={H - 0.5} />
        {points.map((p, i) => {
          const h = (p.count / max) * (H - 6);
          return (
            <rect key={p.minute} class="chart-bar" x={i * bw + 1} y={H - h} width={Math.max(bw - 2, 1)} height={h} rx="1.5">
              <title>{`${new Date(p.minute).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}: ${p.count}`}</title>
            </rect>
          );
        })}
      </svg>
      <div class="chart-axis">
        <span>60 min ago</span>
        <span>now</span>
      </div>
    </div>
  );
}
