// A market's accounts by `getProgramAccounts`: its obligations, one owner's obligations, its
// reserves. The RPC does the filtering (memcmp on the discriminator and the market / owner
// fields, dataSize on the fixed account sizes); the byte offsets are exported so other clients
// can build the same filters. Part of the default entry: @solana/kit only, no Node built-in.
//
// The accounts are zero-copy (`repr(C)`, bytemuck), so every field sits at a fixed offset:
//   Obligation: discriminator [u8; 8] @0, version u8 @8, obligation_id u8 @9, stale u8 @10,
//     bump u8 @11, padding0 [u8; 4] @12, lending_market Pubkey @16, owner Pubkey @48, …
//   Reserve: discriminator [u8; 8] @0, version u8 @8, liquidity_decimals u8 @9,
//     liquidity_vault_bump u8 @10, bump u8 @11, padding0 [u8; 4] @12, lending_market Pubkey @16,
//     liquidity_mint Pubkey @48, …
// ts/test/scan.test.ts derives each offset from the generated codecs and checks it against
// real accounts on the built program.
import {
  getBase58Decoder,
  parseBase64RpcAccount,
  type Account,
  type Address,
  type Base58EncodedBytes,
  type Commitment,
  type EncodedAccount,
  type GetProgramAccountsApi,
  type GetProgramAccountsDatasizeFilter,
  type GetProgramAccountsMemcmpFilter,
  type Rpc,
} from '@solana/kit';
import * as generated from '../generated/index.ts';
import { PROGRAM_ID } from './index.ts';

/** Every Anchor account starts with its 8-byte discriminator. */
export const ACCOUNT_DISCRIMINATOR_OFFSET = 0;
/** `Obligation::lending_market`: after the discriminator (8), four u8 fields and 4 bytes of padding. */
export const OBLIGATION_LENDING_MARKET_OFFSET = 16;
/** `Obligation::owner`: right after the 32-byte `lending_market`. */
export const OBLIGATION_OWNER_OFFSET = 48;
/** `Reserve::lending_market`: after the discriminator (8), four u8 fields and 4 bytes of padding. */
export const RESERVE_LENDING_MARKET_OFFSET = 16;
/** `Reserve::liquidity_mint`: right after the 32-byte `lending_market`. */
export const RESERVE_LIQUIDITY_MINT_OFFSET = 48;

export type ScanFilter = GetProgramAccountsDatasizeFilter | GetProgramAccountsMemcmpFilter;
export type ScanOptions = { commitment?: Commitment };

const base58 = (bytes: ArrayLike<number>) => getBase58Decoder().decode(Uint8Array.from(bytes)) as Base58EncodedBytes;
const memcmp = (offset: number, bytes: Base58EncodedBytes): GetProgramAccountsMemcmpFilter => ({ memcmp: { offset: BigInt(offset), bytes, encoding: 'base58' } });

/** The filters for `market`'s obligations (of `owner` only, when given): the account size, the
 *  obligation discriminator, the market field and the owner field. Four filters at most, as
 *  RPC nodes allow. */
export function obligationFilters(market: Address, owner?: Address): ScanFilter[] {
  const filters: ScanFilter[] = [
    { dataSize: BigInt(generated.getObligationSize()) },
    memcmp(ACCOUNT_DISCRIMINATOR_OFFSET, base58(generated.OBLIGATION_DISCRIMINATOR)),
    memcmp(OBLIGATION_LENDING_MARKET_OFFSET, market as string as Base58EncodedBytes),
  ];
  if (owner) filters.push(memcmp(OBLIGATION_OWNER_OFFSET, owner as string as Base58EncodedBytes));
  return filters;
}

/** The filters for `market`'s reserves: the account size, the reserve discriminator and the
 *  market field. */
export function reserveFilters(market: Address): ScanFilter[] {
  return [
    { dataSize: BigInt(generated.getReserveSize()) },
    memcmp(ACCOUNT_DISCRIMINATOR_OFFSET, base58(generated.RESERVE_DISCRIMINATOR)),
    memcmp(RESERVE_LENDING_MARKET_OFFSET, market as string as Base58EncodedBytes),
  ];
}

type Kind<T extends object> = { size: () => number; discriminator: ArrayLike<number>; decode: (account: EncodedAccount) => Account<T> };
const OBLIGATION: Kind<generated.Obligation> = { size: generated.getObligationSize, discriminator: generated.OBLIGATION_DISCRIMINATOR, decode: (a) => generated.decodeObligation(a) };
const RESERVE: Kind<generated.Reserve> = { size: generated.getReserveSize, discriminator: generated.RESERVE_DISCRIMINATOR, decode: (a) => generated.decodeReserve(a) };

async function scan<T extends object>(
  rpc: Rpc<GetProgramAccountsApi>,
  filters: ScanFilter[],
  kind: Kind<T>,
  matches: (data: T) => boolean,
  options: ScanOptions,
): Promise<Account<T>[]> {
  const found = await rpc.getProgramAccounts(PROGRAM_ID, { encoding: 'base64', filters, commitment: options.commitment ?? 'confirmed' }).send();
  return found.map(({ pubkey, account }) => {
    // An RPC that ignored a filter would hand back other accounts: report it, do not pass them on.
    const encoded = parseBase64RpcAccount(pubkey, account);
    const fits =
      encoded.programAddress === PROGRAM_ID &&
      encoded.data.length === kind.size() &&
      Array.from(kind.discriminator).every((byte, i) => encoded.data[ACCOUNT_DISCRIMINATOR_OFFSET + i] === byte);
    const decoded = fits ? kind.decode(encoded) : undefined;
    if (!decoded || !matches(decoded.data)) throw new Error(`the RPC returned ${pubkey}, which does not match the filters`);
    return decoded;
  });
}

const byAddress = <T extends { address: Address }>(a: T, b: T) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/** Every obligation of `market` (one `getProgramAccounts` call, filtered by the RPC), decoded,
 *  ordered by address. */
export async function fetchMarketObligations(rpc: Rpc<GetProgramAccountsApi>, market: Address, options: ScanOptions = {}): Promise<Account<generated.Obligation>[]> {
  const found = await scan(rpc, obligationFilters(market), OBLIGATION, (o) => o.lendingMarket === market, options);
  return found.sort(byAddress);
}

/** The obligations `owner` holds in `market`, decoded, ordered by obligation id (so the first is
 *  the one at id 0 when it exists). */
export async function fetchObligationsOf(rpc: Rpc<GetProgramAccountsApi>, market: Address, owner: Address, options: ScanOptions = {}): Promise<Account<generated.Obligation>[]> {
  const found = await scan(rpc, obligationFilters(market, owner), OBLIGATION, (o) => o.lendingMarket === market && o.owner === owner, options);
  return found.sort((a, b) => a.data.obligationId - b.data.obligationId);
}

/** Every reserve of `market`, decoded, ordered by address. */
export async function fetchMarketReserves(rpc: Rpc<GetProgramAccountsApi>, market: Address, options: ScanOptions = {}): Promise<Account<generated.Reserve>[]> {
  const found = await scan(rpc, reserveFilters(market), RESERVE, (r) => r.lendingMarket === market, options);
  return found.sort(byAddress);
}
