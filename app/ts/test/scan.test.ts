// The market scan (ts/src/scan.ts) over JSON-RPC on a real local network (a Surfnet with the
// built .so: solvent-localnet): the byte offsets of its memcmp filters, derived from the
// generated codecs and read back from real accounts; the RPC's filtering by market and owner,
// which leaves other markets' and other owners' accounts out; and the check that refuses what an
// RPC ignoring the filters would return.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { address, createSolanaRpc, generateKeyPairSigner, getAddressEncoder, type Address, type GetProgramAccountsApi, type Rpc } from '@solana/kit';
import {
  ACCOUNT_DISCRIMINATOR_OFFSET,
  OBLIGATION_DISCRIMINATOR,
  OBLIGATION_LENDING_MARKET_OFFSET,
  OBLIGATION_OWNER_OFFSET,
  PROGRAM_ID,
  RESERVE_DISCRIMINATOR,
  RESERVE_LENDING_MARKET_OFFSET,
  RESERVE_LIQUIDITY_MINT_OFFSET,
  fetchMarketObligations,
  fetchMarketReserves,
  fetchObligationsOf,
  getInitObligationInstruction,
  getObligationDecoder,
  getObligationEncoder,
  getObligationSize,
  getReserveDecoder,
  getReserveEncoder,
  getReserveSize,
  obligationAddress,
  obligationFilters,
  reserveFilters,
} from '../src/index.ts';
import { createMarket, listReserve, reserveConfig, SOL_FEED } from '../src/scenario.ts';
import { cargoBinary, mustSendOn, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');

const enc = getAddressEncoder();
const sentinel = address('So11111111111111111111111111111111111111112');

/** Where `field` of an account sits, from the generated codec alone: an all-zero account with
 *  a sentinel key in that field, encoded, and the sentinel found in the bytes. */
function codecOffset<T extends object>(codec: { decode: (bytes: Uint8Array) => T; encode: (value: T) => ArrayLike<number> }, size: number, field: keyof T): number {
  const bytes = Uint8Array.from(codec.encode({ ...codec.decode(new Uint8Array(size)), [field]: sentinel }));
  const needle = enc.encode(sentinel);
  const found = bytes.findIndex((_, i) => needle.every((b, j) => bytes[i + j] === b));
  assert.notEqual(found, -1, `${String(field)} not found`);
  return found;
}

test('the filter offsets are the fields of the generated layout', () => {
  const obligation = { decode: (b: Uint8Array) => getObligationDecoder().decode(b), encode: (v: ReturnType<ReturnType<typeof getObligationDecoder>['decode']>) => getObligationEncoder().encode(v) };
  const reserve = { decode: (b: Uint8Array) => getReserveDecoder().decode(b), encode: (v: ReturnType<ReturnType<typeof getReserveDecoder>['decode']>) => getReserveEncoder().encode(v) };
  assert.equal(codecOffset(obligation, getObligationSize(), 'lendingMarket'), OBLIGATION_LENDING_MARKET_OFFSET);
  assert.equal(codecOffset(obligation, getObligationSize(), 'owner'), OBLIGATION_OWNER_OFFSET);
  assert.equal(codecOffset(reserve, getReserveSize(), 'lendingMarket'), RESERVE_LENDING_MARKET_OFFSET);
  assert.equal(codecOffset(reserve, getReserveSize(), 'liquidityMint'), RESERVE_LIQUIDITY_MINT_OFFSET);
  // The discriminator is the first field: its bytes open every encoded account.
  assert.deepEqual(
    Array.from(getObligationEncoder().encode(getObligationDecoder().decode(new Uint8Array(getObligationSize()))).slice(ACCOUNT_DISCRIMINATOR_OFFSET, 8)),
    Array.from(OBLIGATION_DISCRIMINATOR),
  );
  assert.equal(obligationFilters(sentinel, sentinel).length, 4, 'at most four filters, as RPC nodes allow');
});

test('fetchMarketObligations, fetchObligationsOf and fetchMarketReserves over JSON-RPC on a Surfnet', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  // Alice and Bob pay for their obligations: funded by the Surfnet at its start.
  const [alice, bob] = [await generateKeyPairSigner(), await generateKeyPairSigner()];
  const network = await startLocalnet([payer.address, alice.address, bob.address]);
  try {
    const { chain } = await surfnetChain(network.rpc, payer);
    const { market, sol, usdc, lender } = await solUsdcMarketOn(chain);
    const other = await createMarket(chain);
    const otherSol = await listReserve(chain, other, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
    const rpc = createSolanaRpc(network.rpc);
    // Alice: obligations 0 and 1 in the market, 0 in the other one; Bob: 0 in the market.
    const open = async (owner: typeof alice, inMarket: Address, id: number) => {
      const key = await obligationAddress(inMarket, owner.address, id);
      await mustSendOn(chain, [getInitObligationInstruction({ lendingMarket: inMarket, owner, obligation: key, obligationId: id })], [owner]);
      return key;
    };
    const alice1 = await open(alice, market.address, 1);
    const alice0 = await open(alice, market.address, 0);
    const aliceOther = await open(alice, other.address, 0);
    const bob0 = await open(bob, market.address, 0);

    const keys = (accounts: { address: Address }[]) => accounts.map((a) => a.address).sort();
    assert.deepEqual(keys(await fetchMarketObligations(rpc, market.address)), [lender.obligation, alice0, alice1, bob0].sort());
    assert.deepEqual(keys(await fetchMarketObligations(rpc, other.address)), [aliceOther]);
    // One owner's, in obligation id order; not the other market's, not Bob's.
    const ofAlice = await fetchObligationsOf(rpc, market.address, alice.address);
    assert.deepEqual(ofAlice.map((a) => [a.address, a.data.obligationId]), [[alice0, 0], [alice1, 1]]);
    assert.deepEqual(keys(await fetchObligationsOf(rpc, other.address, alice.address)), [aliceOther]);
    assert.deepEqual(keys(await fetchObligationsOf(rpc, market.address, bob.address)), [bob0]);
    assert.deepEqual(await fetchObligationsOf(rpc, other.address, bob.address), []);
    assert.deepEqual(keys(await fetchMarketReserves(rpc, market.address)), [sol.reserve, usdc.reserve].sort());
    assert.deepEqual(keys(await fetchMarketReserves(rpc, other.address)), [otherSol.reserve]);

    // Without the market and owner filters the same program holds more: the filters did the work.
    const all = await rpc.getProgramAccounts(PROGRAM_ID, { encoding: 'base64', commitment: 'confirmed' }).send();
    const withDiscriminator = (discriminator: ArrayLike<number>) =>
      all.filter(({ account }) => Buffer.from(account.data[0], 'base64').subarray(0, 8).equals(Buffer.from(Uint8Array.from(discriminator))));
    assert.equal(withDiscriminator(OBLIGATION_DISCRIMINATOR).length, 5);
    assert.equal(withDiscriminator(RESERVE_DISCRIMINATOR).length, 3);
    const filtered = async (filters: ReturnType<typeof obligationFilters>) => (await rpc.getProgramAccounts(PROGRAM_ID, { encoding: 'base64', commitment: 'confirmed', filters }).send()).length;
    assert.equal(await filtered(obligationFilters(market.address)), 4);
    assert.equal(await filtered(obligationFilters(market.address, alice.address)), 2);
    assert.equal(await filtered(reserveFilters(market.address)), 2);

    // The offsets and sizes against every real account: the field at the offset is the decoded one.
    for (const { pubkey, account } of withDiscriminator(OBLIGATION_DISCRIMINATOR)) {
      const data = Buffer.from(account.data[0], 'base64');
      assert.equal(data.length, getObligationSize(), 'an obligation has the fixed size the dataSize filter asks for');
      const decoded = getObligationDecoder().decode(data);
      assert.deepEqual(data.subarray(OBLIGATION_LENDING_MARKET_OFFSET, OBLIGATION_LENDING_MARKET_OFFSET + 32), Buffer.from(enc.encode(decoded.lendingMarket)), pubkey);
      assert.deepEqual(data.subarray(OBLIGATION_OWNER_OFFSET, OBLIGATION_OWNER_OFFSET + 32), Buffer.from(enc.encode(decoded.owner)), pubkey);
    }
    for (const { pubkey, account } of withDiscriminator(RESERVE_DISCRIMINATOR)) {
      const data = Buffer.from(account.data[0], 'base64');
      assert.equal(data.length, getReserveSize());
      const decoded = getReserveDecoder().decode(data);
      assert.deepEqual(data.subarray(RESERVE_LENDING_MARKET_OFFSET, RESERVE_LENDING_MARKET_OFFSET + 32), Buffer.from(enc.encode(decoded.lendingMarket)), pubkey);
      assert.deepEqual(data.subarray(RESERVE_LIQUIDITY_MINT_OFFSET, RESERVE_LIQUIDITY_MINT_OFFSET + 32), Buffer.from(enc.encode(decoded.liquidityMint)), pubkey);
    }

    // An RPC that ignores the filters is reported, not believed.
    const careless = { getProgramAccounts: () => ({ send: async () => all }) } as unknown as Rpc<GetProgramAccountsApi>;
    await assert.rejects(fetchMarketObligations(careless, market.address), /does not match the filters/);
    await assert.rejects(fetchMarketReserves(careless, market.address), /does not match the filters/);
  } finally {
    network.stop();
  }
});
