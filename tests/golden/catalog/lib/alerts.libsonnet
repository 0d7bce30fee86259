{
  // A latency alert in one line per service: what Jsonnet is for.
  latency(metric, threshold):: {
    expr: 'histogram_quantile(0.99, sum by (le) (rate(%s_bucket[5m]))) > %g' % [metric, threshold],
    'for': '10m',
    severity: 'ticket',
    summary: 'p99 latency above %gs' % threshold,
    procedure: 'latency',
    examples: {
      // Nine in ten requests slower than 0.5s, all under 2s: p99 is reported as 2s.
      fires: { series: { ['%s_bucket{le="0.5"}' % metric]: '0+1x30', ['%s_bucket{le="2"}' % metric]: '0+10x30', ['%s_bucket{le="+Inf"}' % metric]: '0+10x30' } },
      quiet: { series: { ['%s_bucket{le="0.5"}' % metric]: '0+10x30', ['%s_bucket{le="2"}' % metric]: '0+10x30', ['%s_bucket{le="+Inf"}' % metric]: '0+10x30' } },
    },
  },
}
