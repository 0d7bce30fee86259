local lib = import 'lib/alerts.libsonnet';
{
  service: 'api',
  owner: 'web-oncall',
  metrics: {
    api_request_duration_seconds: { type: 'histogram', help: 'API latency.', unit: 'seconds' },
  },
  alerts: {
    ApiLatencyHigh: lib.latency('api_request_duration_seconds', 1),
  },
  procedures: { latency: { title: 'API latency', mitigation: ['Scale out the API.'] } },
}
