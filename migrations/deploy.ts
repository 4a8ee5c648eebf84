// Deploys the program and creates the market and reserves of a config file, idempotently.
// The logic lives in app/ts/src/deploy.ts (with the TypeScript client and its dependencies):
//   cd app && npm run deploy -- ../migrations/localnet.json [--rpc URL] [--wallet PATH] [--upgrade]
import { main } from '../app/ts/src/deploy.ts';

await main();
