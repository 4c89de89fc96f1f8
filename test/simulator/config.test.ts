import { describe, expect, it } from 'vitest';
import { loadSimulatorConfig } from '../../simulator/config.js';

describe('loadSimulatorConfig', () => {
  it('has defaults for everything', () => {
    expect(loadSimulatorConfig({})).toMatchObject({
      SIMULATOR_PORT: 4010,
      SIMULATOR_HOST: '127.0.0.1',
      SIMULATOR_API_KEY: 'pb_sim_key',
      SIMULATOR_WEBHOOK_SECRET: 'whsec_sim_secret',
    });
    expect(loadSimulatorConfig({}).SIMULATOR_PENDING_MS).toBeUndefined();
    // An empty variable (as `VAR= npm run simulator` gives) means unset, not 0.
    expect(loadSimulatorConfig({ SIMULATOR_PROCESSING_MS: '' }).SIMULATOR_PROCESSING_MS).toBeUndefined();
  });

  it('parses numbers and names bad variables', () => {
    expect(loadSimulatorConfig({ SIMULATOR_PORT: '0', SIMULATOR_PENDING_MS: '10', SIMULATOR_PROCESSING_MS: '20' })).toMatchObject({
      SIMULATOR_PORT: 0,
      SIMULATOR_PENDING_MS: 10,
      SIMULATOR_PROCESSING_MS: 20,
    });
    expect(() => loadSimulatorConfig({ SIMULATOR_PORT: 'abc', SIMULATOR_PENDING_MS: '-1' })).toThrow(/SIMULATOR_PORT.*SIMULATOR_PENDING_MS/);
  });

  it('reads the public URL and the http-webhook switch a compose stack sets', () => {
    expect(loadSimulatorConfig({}).SIMULATOR_PUBLIC_URL).toBeUndefined();
    expect(loadSimulatorConfig({}).SIMULATOR_HTTP_WEBHOOKS).toBe(false);
    expect(loadSimulatorConfig({ SIMULATOR_PUBLIC_URL: 'http://localhost:4010', SIMULATOR_HTTP_WEBHOOKS: 'true' })).toMatchObject({
      SIMULATOR_PUBLIC_URL: 'http://localhost:4010',
      SIMULATOR_HTTP_WEBHOOKS: true,
    });
    expect(() => loadSimulatorConfig({ SIMULATOR_PUBLIC_URL: 'localhost:4010' })).toThrow(/SIMULATOR_PUBLIC_URL/);
  });
});
