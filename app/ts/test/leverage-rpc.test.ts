// The Rust leverage builder (app/src/leverage.rs) over JSON-RPC: the solvent-leverage binary,
// through solvent-client's RpcChain, against a real local network (a Surfnet with the built .so:
// solvent-localnet). It opens a 2x SOL position against USDC in one flash-loan transaction and
// closes it in another; the in-process counterpart is app/tests/leverage.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, generateKeyPairSigner } from '@solana/kit';
import { getInitObligationInstruction, getObligationDecoder, obligationAddress, storedWad } from '../src/index.ts';
import { cargoBinary, freshSolUsdcPrices, mustSendOn, runBinary, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';

const LEVERAGE = cargoBinary('solvent-leverage');
const LOCALNET = cargoBinary('solvent-localnet');
const missing = [LEVERAGE, LOCALNET].filter((binary) => !existsSync(binary));

test('the leverage builder opens and closes a position over JSON-RPC on a Surfnet', { skip: missing.length ? `${missing.join(', ')} not built (scripts/test.sh builds them)` : false, timeout: 300_000 }, async () => {
  // The trader and the swap's maker are keypair files (the binary signs with them), funded by
  // the Surfnet at its start.
  const dir = mkdtempSync(join(tmpdir(), 'solvent-leverage-'));
  const keypairFile = (name: string) => {
    const secret = Keypair.generate().secretKey;
    writeFileSync(join(dir, `${name}.json`), JSON.stringify([...secret]));
    return { path: join(dir, `${name}.json`), secret };
  };
  const traderFile = keypairFile('trader');
  const trader = await createKeyPairSignerFromBytes(traderFile.secret);
  const makerFile = keypairFile('maker');
  const maker = await createKeyPairSignerFromBytes(makerFile.secret);
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address, trader.address, maker.address]);
  try {
    // SOL and USDC (LTV 85%), a lender's 100,000 USDC, built with real transactions.
    const { chain } = await surfnetChain(network.rpc, payer);
    const { market, sol, usdc } = await solUsdcMarketOn(chain);

    // The trader with 10 SOL and an empty obligation.
    const obligation = await obligationAddress(market.address, trader.address, 0);
    await mustSendOn(chain, [getInitObligationInstruction({ lendingMarket: market.address, owner: trader, obligation, obligationId: 0 })]);
    const traderSol = await chain.createTokenAccount(sol.mint, trader.address, 10_000_000_000n);
    const traderUsdc = await chain.createTokenAccount(usdc.mint, trader.address, 0n);
    // The swap's maker, trading at the oracle price less 0.3%.
    const makerSol = await chain.createTokenAccount(sol.mint, maker.address, 1_000_000_000_000n);
    const makerUsdc = await chain.createTokenAccount(usdc.mint, maker.address, 1_000_000_000_000n);

    const common = [
      '--keypair', traderFile.path, '--obligation', obligation,
      '--collateral-reserve', `${sol.reserve}=${traderSol}`, '--debt-reserve', `${usdc.reserve}=${traderUsdc}`,
      '--maker-keypair', makerFile.path, '--maker-account', `${sol.mint}=${makerSol}`, '--maker-account', `${usdc.mint}=${makerUsdc}`,
    ];
    const url = network.rpc;
    // The prices at the Surfnet's clock now (the reserves take them at most 60 s old).
    await freshSolUsdcPrices(chain, sol.oracle, usdc.oracle);
    const opened = await runBinary(LEVERAGE, ['--url', url, ...common, 'open', '--own-collateral', '5000000000', '--target-bps', '20000']);
    assert.equal(opened.code, 0, opened.output);
    assert.match(opened.output, /leverage 2\.00x/, opened.output);
    let state = getObligationDecoder().decode(await chain.data(obligation));
    assert.equal(state.deposits[0].depositReserve, sol.reserve);
    assert.equal(state.borrows[0].borrowReserve, usdc.reserve);
    const debt = storedWad(state.borrows[0].borrowedAmountWad) / 10n ** 18n;
    // 5 SOL of equity at $150, doubled: about $750 borrowed and swapped into SOL.
    assert.ok(debt > 740_000_000n && debt < 760_000_000n, `debt ${debt}`);
    assert.equal(await chain.tokenBalance(traderSol), 5_000_000_000n, 'the other 5 SOL stay in the wallet');

    // A refused plan is a clear error and sends nothing: 10x is above the maximum for LTV 75%.
    const refused = await runBinary(LEVERAGE, ['--url', url, ...common, 'open', '--own-collateral', '0', '--target-bps', '100000']);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /above the maximum 3\.75x/, refused.output);
    assert.deepEqual(getObligationDecoder().decode(await chain.data(obligation)).deposits[0].depositedShares, state.deposits[0].depositedShares, 'nothing sent');

    // The close runs in a later slot of its own (the Surfnet's slots advance with its clock).
    await freshSolUsdcPrices(chain, sol.oracle, usdc.oracle);
    const closed = await runBinary(LEVERAGE, ['--url', url, ...common, 'close']);
    assert.equal(closed.code, 0, closed.output);
    state = getObligationDecoder().decode(await chain.data(obligation));
    assert.equal(state.borrows[0].borrowReserve, '11111111111111111111111111111111', 'no debt left');
    assert.equal(state.deposits[0].depositReserve, '11111111111111111111111111111111', 'no collateral left');
    const back = await chain.tokenBalance(traderSol);
    // 10 SOL less the swap fees, the flash fee, the borrow fee and the interest accrued while
    // open (together well under 1%).
    assert.ok(back > 9_950_000_000n && back < 10_000_000_000n, `SOL back ${back}`);
  } finally {
    network.stop();
  }
});
