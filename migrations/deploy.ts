// Deploys the program and creates the market and reserves of a config file, idempotently.
// The logic lives in app/ts/src/deploy.ts (with the TypeScript client and its dependencies):
//   cd app && npm run deploy -- ../migrations/localnet.json [--rpc URL] [--wallet PATH] [--upgrade]
//   cd app && npm run deploy -- --help
// No top-level await here: this file is outside app/'s `"type": "module"` package, so tsx runs
// it as CommonJS, where esbuild refuses top-level await (app/ts/test/deploy-entry.test.ts runs
// this entry as a user does).
import { main } from '../app/ts/src/deploy.ts';

main().catch((error: unknown) => {
  console.error(`deploy: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
