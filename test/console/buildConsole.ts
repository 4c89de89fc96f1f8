import { buildConsoleIfStale } from '../../tools/consoleBuild.js';

/** Vitest global setup: the relays of the tests serve the console from dist/console, and the browser tests open it. */
export default function setup(): void {
  buildConsoleIfStale();
}
