// The demo's TypeScript part (`examples/sdk-demo.ts`, run by ./scripts/demo.sh) runs on a Surfnet
// and says what the SDK did: the borrow limit and its refusal, the liquidation price, the
// liquidation paid exactly as quoted, the 3x position opened and closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cargoBinary, runBinary } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');

test('the SDK demo runs on a Surfnet', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const demo = fileURLToPath(new URL('../../examples/sdk-demo.ts', import.meta.url));
  const { code, output } = await runBinary(process.execPath, ['--import', 'tsx', demo]);
  assert.equal(code, 0, output);
  assert.match(output, /maxBorrow: 1,124\.9999 USDC now \(one base unit more: BorrowTooLarge\)/, output);
  assert.match(output, /health factor 1\.2000, liquidatable at SOL \$125\.00/, output);
  assert.match(output, /quotes a liquidation repaying 500 USDC for 4\.375 SOL \(bonus 5\.00%, profit \$25\.00\)/, output);
  assert.match(output, /received 4\.375 SOL, exactly as quoted/, output);
  assert.match(output, /planLeverage 3x on 10 SOL: .* 3\.00x, .*one transaction/, output);
  assert.match(output, /planClose: debt repaid and collateral withdrawn in one transaction/, output);
});
