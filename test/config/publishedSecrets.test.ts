import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { devEnvironment } from '../../tools/devEnvironment.js';
import { environmentOf, loadComposeServices } from '../helpers/compose.js';

// `npm run dev` and `docker compose up` work out of the box with secrets anyone can read in the README and the compose
// file. Against real PixelByte each of them must be refused, whichever variable it is in.

/** A configuration for real PixelByte with secrets of its own: accepted as it is. */
const production = {
  PIXELBYTE_API_URL: 'https://api.muvi.video',
  PUBLIC_BASE_URL: 'https://relay.example.com',
  PIXELBYTE_API_KEY: 'pb_live_secret_value',
  PIXELBYTE_WEBHOOK_SECRET: 'whsec_secret_value',
  API_KEYS: 'a-private-key-of-our-own-0123',
  ADMIN_TOKEN: 'an-admin-token-of-our-own-0123456789',
  CALLBACK_SIGNING_SECRET: `whsec_${Buffer.from('a callback signing key of our own').toString('base64')}`,
};

/** The variables of `env` that hold a secret, as loadConfig names them (it never echoes their values). */
function secretsOf(env: Record<string, string | undefined>): [string, string][] {
  return Object.entries(env).filter((entry): entry is [string, string] => /KEY|SECRET|TOKEN|PASSWORD/.test(entry[0]) && !!entry[1]);
}

function expectEachRefusedInProduction(secrets: [string, string][]): void {
  for (const [name, value] of secrets) {
    const env = { ...production, [name]: value };
    expect(() => loadConfig(env), `${name} from a local stack`).toThrow(ConfigError);
    expect(() => loadConfig(env), name).toThrow(new RegExp(`\\b${name} `));
    expect(() => loadConfig(env), `${name}'s value stays out of the message`).not.toThrow(value);
  }
}

describe('the secrets published for local stacks', () => {
  it('leave a configuration of its own alone', () => {
    expect(loadConfig(production).PIXELBYTE_API_URL).toBe('https://api.muvi.video');
  });

  it('npm run dev: every secret the dev tool sets is refused against real PixelByte, and accepted against the simulator', () => {
    const { env } = devEnvironment({});
    const secrets = secretsOf(env);
    expect(secrets.map(([name]) => name).sort()).toEqual([
      'ADMIN_TOKEN',
      'API_KEYS',
      'CALLBACK_SIGNING_SECRET',
      'PIXELBYTE_API_KEY',
      'PIXELBYTE_WEBHOOK_SECRET',
      'STORAGE_S3_ACCESS_KEY_ID',
      'STORAGE_S3_SECRET_ACCESS_KEY',
    ]);
    expectEachRefusedInProduction(secrets);
    expect(loadConfig(env).API_KEYS).toEqual([env.API_KEYS]);
  });

  it('npm run dev pointed at real PixelByte still refuses the dev secrets it would otherwise use', () => {
    const { env, simulatorPort } = devEnvironment({ PIXELBYTE_API_URL: production.PIXELBYTE_API_URL });
    expect(simulatorPort).toBeUndefined();
    const own = {
      PUBLIC_BASE_URL: production.PUBLIC_BASE_URL,
      PIXELBYTE_API_KEY: production.PIXELBYTE_API_KEY,
      PIXELBYTE_WEBHOOK_SECRET: production.PIXELBYTE_WEBHOOK_SECRET,
    };
    for (const name of ['API_KEYS', 'ADMIN_TOKEN', 'CALLBACK_SIGNING_SECRET']) expect(() => loadConfig({ ...env, ...own })).toThrow(new RegExp(`\\b${name} `));
    expect(() => loadConfig({ ...env, ...production })).not.toThrow();
  });

  it('docker compose with no .env: every secret the app containers get is refused against real PixelByte', () => {
    const services = loadComposeServices({});
    for (const name of ['api', 'worker']) {
      const secrets = secretsOf(environmentOf(services[name]!));
      expect(secrets.map(([variable]) => variable).sort(), name).toEqual([
        'API_KEYS',
        'PIXELBYTE_API_KEY',
        'PIXELBYTE_WEBHOOK_SECRET',
        'STORAGE_S3_ACCESS_KEY_ID',
        'STORAGE_S3_SECRET_ACCESS_KEY',
      ]);
      expectEachRefusedInProduction(secrets);
    }
  });

  it('names a published key even among keys of its own', () => {
    const { env } = devEnvironment({});
    expect(() => loadConfig({ ...production, API_KEYS: `${production.API_KEYS},${env.API_KEYS}` })).toThrow(
      /API_KEYS contains a key published in the README or compose file/,
    );
  });
});
