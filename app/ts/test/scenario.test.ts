// The core scenario (ts/src/scenario.ts) on the built .so in LiteSVM with the real SPL Token
// program. scripts/localnet.sh runs the same code over JSON-RPC.
import { test } from 'node:test';
import { runScenario } from '../src/scenario.ts';
import { Chain, liteSvmScenarioChain } from './helpers.ts';

test('the core scenario through the TypeScript client', async () => {
  await runScenario(liteSvmScenarioChain(await Chain.start()), (line) => console.log(line));
});
