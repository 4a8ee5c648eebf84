// The Rust leverage builder (app/src/leverage.rs) over JSON-RPC: the solvent-leverage binary,
// through solvent-client's RpcChain, against the JSON-RPC bridge in front of LiteSVM. It opens a
// 2x SOL position against USDC in one flash-loan transaction and closes it in another; the
// in-process counterpart is app/tests/leverage.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes } from '@solana/kit';
import { getDepositInstruction, getInitObligationInstruction, getObligationDecoder, obligationAddress, storedWad } from '../src/index.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { Chain, cargoBinary, liteSvmScenarioChain, runBinary } from './helpers.ts';
import { RpcBridge } from './rpc-bridge.ts';

const LEVERAGE = cargoBinary('solvent-leverage');


test('the leverage builder opens and closes a position over JSON-RPC', { skip: existsSync(LEVERAGE) ? false : `${LEVERAGE} not built (scripts/test.sh builds it)` }, async () => {
  const chain = await Chain.start();
  const svm = liteSvmScenarioChain(chain);
  const market = await createMarket(svm);
  const sol = await listReserve(svm, market, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const usdc = await listReserve(svm, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000 }));
  const lender = await newObligation(svm, market);
  const lenderUsdc = await chain.createTokenAccount(usdc.mint, lender.signer.address, 100_000_000_000n);
  await chain.mustSend([getDepositInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: lender.obligation, owner: lender.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: lenderUsdc, amount: 100_000_000_000n })]);

  // The trader (a keypair file: the binary signs with it) with 10 SOL and an empty obligation.
  const dir = mkdtempSync(join(tmpdir(), 'solvent-leverage-'));
  const keypairFile = (name: string) => {
    const secret = Keypair.generate().secretKey;
    writeFileSync(join(dir, `${name}.json`), JSON.stringify([...secret]));
    return { path: join(dir, `${name}.json`), secret };
  };
  const traderFile = keypairFile('trader');
  const trader = await createKeyPairSignerFromBytes(traderFile.secret);
  chain.svm.airdrop(trader.address, 10_000_000_000n as never);
  const obligation = await obligationAddress(market.address, trader.address, 0);
  await chain.mustSend([getInitObligationInstruction({ lendingMarket: market.address, owner: trader, obligation, obligationId: 0 })]);
  const traderSol = await chain.createTokenAccount(sol.mint, trader.address, 10_000_000_000n);
  const traderUsdc = await chain.createTokenAccount(usdc.mint, trader.address, 0n);
  // The swap's maker, trading at the oracle price less 0.3%.
  const makerFile = keypairFile('maker');
  const maker = await createKeyPairSignerFromBytes(makerFile.secret);
  chain.svm.airdrop(maker.address, 1_000_000_000n as never);
  const makerSol = await chain.createTokenAccount(sol.mint, maker.address, 1_000_000_000_000n);
  const makerUsdc = await chain.createTokenAccount(usdc.mint, maker.address, 1_000_000_000_000n);

  const common = [
    '--keypair', traderFile.path, '--obligation', obligation,
    '--collateral-reserve', `${sol.reserve}=${traderSol}`, '--debt-reserve', `${usdc.reserve}=${traderUsdc}`,
    '--maker-keypair', makerFile.path, '--maker-account', `${sol.mint}=${makerSol}`, '--maker-account', `${usdc.mint}=${makerUsdc}`,
  ];
  const bridge = new RpcBridge(chain.svm);
  const url = await bridge.start();
  try {
    const opened = await runBinary(LEVERAGE, ['--url', url, ...common, 'open', '--own-collateral', '5000000000', '--target-bps', '20000']);
    assert.equal(opened.code, 0, opened.output);
    assert.match(opened.output, /leverage 2\.00x/, opened.output);
    let state = getObligationDecoder().decode(chain.data(obligation));
    assert.equal(state.deposits[0].depositReserve, sol.reserve);
    assert.equal(state.borrows[0].borrowReserve, usdc.reserve);
    const debt = storedWad(state.borrows[0].borrowedAmountWad) / 10n ** 18n;
    // 5 SOL of equity at $150, doubled: about $750 borrowed and swapped into SOL.
    assert.ok(debt > 740_000_000n && debt < 760_000_000n, `debt ${debt}`);
    assert.equal(chain.tokenBalance(traderSol), 5_000_000_000n, 'the other 5 SOL stay in the wallet');

    // A refused plan is a clear error and sends nothing: 10x is above the maximum for LTV 75%.
    const refused = await runBinary(LEVERAGE, ['--url', url, ...common, 'open', '--own-collateral', '0', '--target-bps', '100000']);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /above the maximum 3\.75x/, refused.output);

    chain.advance(1n);
    const closed = await runBinary(LEVERAGE, ['--url', url, ...common, 'close']);
    assert.equal(closed.code, 0, closed.output);
    state = getObligationDecoder().decode(chain.data(obligation));
    assert.equal(state.borrows[0].borrowReserve, '11111111111111111111111111111111', 'no debt left');
    assert.equal(state.deposits[0].depositReserve, '11111111111111111111111111111111', 'no collateral left');
    const back = chain.tokenBalance(traderSol);
    // 10 SOL less the swap fees, the flash fee and the borrow fee (together well under 1%).
    assert.ok(back > 9_950_000_000n && back < 10_000_000_000n, `SOL back ${back}`);
  } finally {
    bridge.stop();
  }
});
