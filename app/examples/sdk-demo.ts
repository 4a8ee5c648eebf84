// The TypeScript SDK on a real local network, as `./scripts/demo.sh` shows it: a Surfnet
// (solvent-localnet) with the built program, a SOL/USDC market, then what a borrower, a
// liquidator and a trader do with `@solvent/client`:
//   npx tsx examples/sdk-demo.ts            (solvent-localnet built: scripts/demo.sh builds it)
import { createSolanaRpc, generateKeyPairSigner } from '@solana/kit';
import {
  bestDeleverage,
  borrow,
  getObligationDecoder,
  healthFactorWad,
  LeverageContext,
  liquidate,
  liquidationPrice,
  maxBorrow,
  planClose,
  planLeverage,
  simulatePosition,
  deposit,
  TOKEN_PROGRAM_ID,
  type OraclePrice,
} from '../ts/src/index.ts';
import { newObligation, SOL_FEED } from '../ts/src/scenario.ts';
import { solHolder, solUsdcMarketOn, standInSwap, startLocalnet, surfnetChain } from '../ts/src/surfnet.ts';
import { tokenAccountData } from '../ts/src/accounts.ts';
import { findAssociatedTokenPda } from '@solana-program/token';

const SOL = 1_000_000_000n;
const usd = (wad: bigint) => `$${(Number(wad / 10n ** 12n) / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const tokens = (amount: bigint, decimals: number) => (Number(amount) / 10 ** decimals).toLocaleString('en-US', { maximumFractionDigits: Math.min(decimals, 4) });
const price = (p: OraclePrice | undefined) => (p ? `$${(Number(p.mantissa) * 10 ** p.exponent).toFixed(2)}` : 'none');
const say = (line: string) => console.log(`sdk: ${line}`);

const payer = await generateKeyPairSigner();
const network = await startLocalnet([payer.address]);
try {
  const rpc = createSolanaRpc(network.rpc);
  const { chain } = await surfnetChain(network.rpc, payer);
  const setup = await solUsdcMarketOn(chain);
  const { market, sol, usdc } = setup;
  say(`a Surfnet at ${network.rpc} with the program, a SOL ($150) / USDC ($1) market and 100,000 USDC supplied`);
  const send = async (instructions: Parameters<typeof chain.send>[0], signers: Parameters<typeof chain.send>[1]) => {
    const sent = await chain.send(instructions, signers);
    if (!sent.ok) throw new Error(`${sent.error}\n${sent.logs.join('\n')}`);
  };

  // A borrower: 10 SOL in, as much USDC as the program lends, from resolved builders.
  const borrower = await newObligation(chain, market);
  const ata = async (owner: typeof borrower.signer, mint: typeof sol.mint) => (await findAssociatedTokenPda({ owner: owner.address, mint, tokenProgram: TOKEN_PROGRAM_ID }))[0];
  await chain.writeOnSurfnet(await ata(borrower.signer, sol.mint), TOKEN_PROGRAM_ID, tokenAccountData(sol.mint, borrower.signer.address, 10n * SOL));
  await chain.writeOnSurfnet(await ata(borrower.signer, usdc.mint), TOKEN_PROGRAM_ID, tokenAccountData(usdc.mint, borrower.signer.address, 0n));
  await send(await deposit({ market: market.address, reserve: sol.reserve, obligation: borrower.obligation, owner: borrower.signer, amount: 10n * SOL }, { rpc }), [borrower.signer]);
  let position = await simulatePosition(rpc, { obligation: borrower.obligation, reserves: [usdc.reserve] });
  const limit = maxBorrow(position.view, position.obligation.data, usdc.reserve);
  say(`10 SOL deposited; simulatePosition + maxBorrow: ${tokens(limit.amount, 6)} USDC now (one base unit more: ${limit.refusedAbove})`);
  await send(await borrow({ market: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, amount: 1_000_000_000n }, { rpc }), [borrower.signer]);
  position = await simulatePosition(rpc, { obligation: borrower.obligation });
  const factor = Number(healthFactorWad(position.values)) / 1e18;
  say(`borrowed 1,000 USDC: health factor ${factor.toFixed(4)}, liquidatable at SOL ${price(liquidationPrice(position.view, position.obligation.data, sol.reserve))} (liquidationPrice, exact to the oracle tick)`);

  // SOL falls to $120: the liquidator's best call, quoted by the program's own sizing, sent.
  await chain.publishOnSurfnet(sol.oracle, SOL_FEED, 12_000_000_000n, -8);
  position = await simulatePosition(rpc, { obligation: borrower.obligation });
  const best = bestDeleverage(position.view, position.obligation.data)!;
  const liquidator = await generateKeyPairSigner();
  await chain.fund(liquidator.address);
  const liquidatorUsdc = await chain.createTokenAccount(usdc.mint, liquidator.address, 2_000_000_000n);
  const liquidatorSol = await chain.createTokenAccount(sol.mint, liquidator.address, 0n);
  say(
    `SOL at $120: bestDeleverage quotes a ${best.mode.kind} repaying ${tokens(best.quote.plan.repayAmount, 6)} USDC for ${tokens(best.quote.payout.tokens, 9)} SOL ` +
      `(bonus ${(best.quote.bonusBps / 100).toFixed(2)}%, profit ${usd(best.profitWad)})`,
  );
  await send(
    await liquidate({ market: market.address, obligation: borrower.obligation, liquidator, repayReserve: best.repayReserve, withdrawReserve: best.withdrawReserve, amount: best.quote.plan.repayAmount, source: liquidatorUsdc, destination: liquidatorSol }, { rpc }),
    [liquidator],
  );
  const received = await chain.tokenBalance(liquidatorSol);
  if (received !== best.quote.payout.tokens) throw new Error(`the liquidator received ${received}, not the quoted ${best.quote.payout.tokens}`);
  say(`liquidate sent: the liquidator received ${tokens(received, 9)} SOL, exactly as quoted`);
  await chain.publishOnSurfnet(sol.oracle, SOL_FEED, 15_000_000_000n, -8);

  // A trader: 3x on 10 SOL in one transaction around a flash loan, then closed.
  const { owner, obligation, solAccount: traderSol, usdcAccount: traderUsdc } = await solHolder(chain, setup, 10n * SOL, false);
  const trader = { signer: owner, obligation };
  const swap = await standInSwap(chain, setup);
  const maker = swap.maker;
  const sides = { owner: trader.signer, collateral: { reserve: sol.reserve, userAccount: traderSol }, debt: { reserve: usdc.reserve, userAccount: traderUsdc } };
  let context = await LeverageContext.fromSimulation(await simulatePosition(rpc, { obligation: trader.obligation, reserves: [sol.reserve, usdc.reserve] }), sides);
  const open = await planLeverage(context, 10n * SOL, 30_000n, swap);
  await send(open.instructions, [trader.signer, maker]);
  say(
    `planLeverage 3x on 10 SOL: flash loan ${tokens(open.flashAmount, 6)} USDC swapped for ${tokens(open.swapOut, 9)} SOL, ` +
      `${(Number(open.after.leverageBps) / 10_000).toFixed(2)}x, liquidated at SOL ${price(open.after.liquidationPrice)}: one transaction`,
  );
  const opened = getObligationDecoder().decode(await chain.data(trader.obligation));
  if (opened.deposits[0].depositedShares !== open.after.collateralShares) throw new Error('the program booked another position than planned');
  context = await LeverageContext.fromSimulation(await simulatePosition(rpc, { obligation: trader.obligation }), sides);
  const close = await planClose(context, swap);
  await send(close.instructions, [trader.signer, maker]);
  say(`planClose: debt repaid and collateral withdrawn in one transaction; the trader holds ${tokens(await chain.tokenBalance(traderSol), 9)} SOL`);
} finally {
  network.stop();
}
