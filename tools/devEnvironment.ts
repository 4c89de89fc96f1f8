import { S3RVER_CREDENTIALS } from '../testkit/s3Server.js';

/**
 * What `npm run dev` (tools/dev.ts) runs with out of the box. These secrets are printed in the README: src/config.ts
 * refuses each of them against real PixelByte (test/config/publishedSecrets.test.ts).
 */
export const DEV_API_KEY = 'dev-key-0123456789abcdef';
/** So the admin API, the CLI's admin commands and the queue dashboard (/admin/queues) work on a dev machine. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token-0123456789abcdef0123';
export const DEV_CALLBACK_SECRET = 'whsec_cGl4ZWxyZWxheS1kZXYtY2FsbGJhY2stc2VjcmV0ISE=';
/** The simulator's own defaults (simulator/config.ts), which the dev relay uses to talk to it. */
export const SIMULATOR_API_KEY = 'pb_sim_key';
export const SIMULATOR_WEBHOOK_SECRET = 'whsec_sim_secret';

/** The local S3 server's bucket, and its port unless LOCAL_S3_PORT says otherwise. */
export const DEV_BUCKET = 'pixelrelay-dev';
const DEV_S3_PORT = 4569;

export interface DevEnvironment {
  env: Record<string, string | undefined>;
  /** Unset when PIXELBYTE_API_URL points elsewhere: then no simulator is started. */
  simulatorPort: number | undefined;
  /** Unset when STORAGE_S3_BUCKET is set or PIXELBYTE_API_URL points elsewhere: then no local S3 server is started. */
  localS3Port: number | undefined;
}

/** The relay's environment for `npm run dev`; anything set in `processEnv` wins. */
export function devEnvironment(processEnv: NodeJS.ProcessEnv): DevEnvironment {
  const simulatorPort = processEnv.PIXELBYTE_API_URL ? undefined : Number(processEnv.SIMULATOR_PORT ?? 4010);
  const port = processEnv.PORT ?? '3000';
  // Outputs mirrored into a local S3 server beside the simulator; its published key is refused against real PixelByte.
  const localS3Port = simulatorPort === undefined || processEnv.STORAGE_S3_BUCKET ? undefined : Number(processEnv.LOCAL_S3_PORT ?? DEV_S3_PORT);
  const env = {
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    // Human-readable lines, even piped (PRETTY_LOGS=false gives JSON).
    PRETTY_LOGS: 'true',
    API_KEYS: DEV_API_KEY,
    ADMIN_TOKEN: DEV_ADMIN_TOKEN,
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    // Callbacks on, to local receivers too: a dev machine's own http://127.0.0.1 receiver is the usual target.
    CALLBACK_SIGNING_SECRET: DEV_CALLBACK_SECRET,
    ALLOW_HTTP_CALLBACKS: 'true',
    CALLBACK_ALLOW_PRIVATE: 'true',
    ...(simulatorPort === undefined
      ? {}
      : { PIXELBYTE_API_URL: `http://127.0.0.1:${simulatorPort}`, PIXELBYTE_API_KEY: SIMULATOR_API_KEY, PIXELBYTE_WEBHOOK_SECRET: SIMULATOR_WEBHOOK_SECRET }),
    ...(localS3Port === undefined
      ? {}
      : {
          STORAGE_S3_BUCKET: DEV_BUCKET,
          STORAGE_S3_ENDPOINT: `http://127.0.0.1:${localS3Port}`,
          STORAGE_S3_FORCE_PATH_STYLE: 'true',
          STORAGE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
          // The simulator's outputs are on 127.0.0.1.
          OUTPUT_FETCH_ALLOW_PRIVATE: 'true',
        }),
    ...processEnv,
  };
  return { env, simulatorPort, localS3Port };
}
