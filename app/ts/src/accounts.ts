// Account data as the SPL Token program and the Pyth receiver lay it out, for writing accounts
// directly: into LiteSVM in the tests, and as solana-test-validator --account files for localnet.
import { getAddressEncoder, type Address } from '@solana/kit';

const enc = getAddressEncoder();

/** An initialized SPL Token mint (82 bytes) with `authority` as its mint authority. */
export function mintData(decimals: number, authority: Address): Uint8Array {
  const data = new Uint8Array(82);
  data.set([1, 0, 0, 0], 0);
  data.set(enc.encode(authority), 4);
  data[44] = decimals;
  data[45] = 1;
  return data;
}

/** An initialized SPL Token account (165 bytes) holding `amount`. */
export function tokenAccountData(mint: Address, owner: Address, amount: bigint): Uint8Array {
  const data = new Uint8Array(165);
  data.set(enc.encode(mint), 0);
  data.set(enc.encode(owner), 32);
  new DataView(data.buffer).setBigUint64(64, amount, true);
  data[108] = 1;
  return data;
}

/** A fully verified Pyth `PriceUpdateV2` account (134 bytes) for `feedId`. */
export function priceUpdateV2Data(feedId: Uint8Array, price: bigint, emaPrice: bigint, exponent: number, publishTime: bigint, confidence = 0n): Uint8Array {
  const data = new Uint8Array(134);
  const view = new DataView(data.buffer);
  data.set([34, 241, 35, 99, 157, 126, 244, 205], 0);
  data[40] = 1; // VerificationLevel::Full
  data.set(feedId, 41);
  view.setBigInt64(73, price, true);
  view.setBigUint64(81, confidence, true);
  view.setInt32(89, exponent, true);
  view.setBigInt64(93, publishTime, true);
  view.setBigInt64(101, publishTime - 1n, true);
  view.setBigInt64(109, emaPrice, true);
  view.setBigUint64(117, confidence, true);
  return data;
}
