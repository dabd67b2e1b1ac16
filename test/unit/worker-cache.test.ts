import { ConfigurationError } from '../../common/config/config';
import { parseServiceConfig } from '../../providers/service-configuration';
import { workflowCacheOptions } from '../../worker/worker-cache';

describe("the worker's workflow cache (worker.maxCachedWorkflows)", () => {
  const worker = (settings: Record<string, unknown>) =>
    parseServiceConfig(JSON.stringify({ activeChannels: ['sms'], worker: settings }), 'test').worker;

  it('leaves the size to the Temporal SDK when unset', () => {
    expect(workflowCacheOptions(worker({}))).toEqual({});
  });

  it('gives the worker the configured size, 0 included', () => {
    expect(workflowCacheOptions(worker({ maxCachedWorkflows: 1500 }))).toEqual({ maxCachedWorkflows: 1500 });
    expect(workflowCacheOptions(worker({ maxCachedWorkflows: 0 }))).toEqual({ maxCachedWorkflows: 0 });
  });

  it('refuses a negative or fractional size', () => {
    expect(() => worker({ maxCachedWorkflows: -1 })).toThrow(ConfigurationError);
    expect(() => worker({ maxCachedWorkflows: 2.5 })).toThrow(ConfigurationError);
  });
});
