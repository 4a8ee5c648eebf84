// The core scenario (ts/src/scenario.ts) on the built .so in LiteSVM with the real SPL Token
// program. scripts/localnet.sh runs the same code over JSON-RPC.
import { test } from 'node:test';
import type { Address } from '@solana/kit';
import { runScenario, type ScenarioChain } from '../src/scenario.ts';
import { Chain } from './helpers.ts';

/** The LiteSVM chain of the tests as a ScenarioChain: accounts are written directly. */
export function liteSvmScenarioChain(chain: Chain): ScenarioChain {
  return {
    payer: chain.payer,
    send: (instructions, signers) => chain.send(instructions, signers),
    data: async (address) => chain.data(address),
    fund: async (address) => void chain.svm.airdrop(address, 10_000_000_000n as never),
    createMint: (decimals) => chain.createMint(decimals, chain.payer.address),
    createTokenAccount: (mint, owner, amount) => chain.createTokenAccount(mint, owner, amount),
    tokenBalance: async (account) => chain.tokenBalance(account),
    priceAccount: async (feed, price, exponent) => {
      const { generateKeyPairSigner } = await import('@solana/kit');
      const account = (await generateKeyPairSigner()).address as Address;
      chain.setPriceUpdate(account, feed, price, price, exponent);
      return account;
    },
    publishPrice: async (account, feed, price, exponent) => {
      chain.advance(10n);
      chain.setPriceUpdate(account, feed, price, price, exponent);
    },
  };
}

test('the core scenario through the TypeScript client', async () => {
  await runScenario(liteSvmScenarioChain(await Chain.start()), (line) => console.log(line));
});
