// Deploys (or upgrades) the program and creates a market and its reserves from a config file,
// idempotently: a second run with the same config changes nothing, and a changed risk config
// is applied with update_reserve_config.
//
//   cd app && npm run deploy -- ../migrations/localnet.json [--rpc http://127.0.0.1:8899] [--upgrade]
//   (migrations/deploy.ts runs this; `anchor migrate` runs that)
//
// The chain is behind `DeployChain`: `RpcDeployChain` below (JSON-RPC; the program itself is
// deployed with the Solana CLI), and a LiteSVM chain in app/ts/test/deploy.test.ts, which runs
// the same steps against the built .so.
import {
  address,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  type Address,
  type Instruction,
  type KeyPairSigner,
  type TransactionSigner,
} from '@solana/kit';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  PROGRAM_ID,
  collateralMintAddress,
  feeVaultAddress,
  getInitLendingMarketInstruction,
  getInitReserveInstruction,
  getLendingMarketDecoder,
  getReserveConfigEncoder,
  getReserveDecoder,
  getSetLiquidationLimitsInstruction,
  getUpdateReserveConfigInstruction,
  liquidityVaultAddress,
  marketAuthorityAddress,
  reserveAddress,
  type ReserveConfigArgs,
} from './index.ts';
import { sendOverRpc } from './rpc-chain.ts';

export type ReserveSpec = {
  symbol: string;
  mint: string;
  oracle: string;
  /** 0: Pyth legacy price account; 1: Pyth pull-oracle PriceUpdateV2. */
  oracleSource: number;
  /** 64 hex characters (PriceUpdateV2 only). */
  priceFeedId?: string;
  config: ReserveConfigArgs;
};

export type DeployConfig = {
  /** Keypair file of the market account: its address is the market's, so reruns find it. */
  marketKeypair: string;
  quoteCurrency: string;
  /** Program that must own the market's legacy Pyth accounts. */
  oracleProgram: string;
  liquidationLimits?: { capValue: number; dustValue: number; protocolShareBps: number };
  reserves: ReserveSpec[];
};

export interface DeployChain {
  payer: KeyPairSigner;
  /** Account data, or null when the account does not exist. */
  account(address: Address): Promise<Uint8Array | null>;
  isExecutable(address: Address): Promise<boolean>;
  deployProgram(soPath: string, programKeypairPath: string): Promise<void>;
  send(instructions: Instruction[], signers?: TransactionSigner[]): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function signerFromFile(path: string): Promise<KeyPairSigner> {
  const bytes = new Uint8Array(JSON.parse(readFileSync(path.replace(/^~/, homedir()), 'utf8')));
  return createKeyPairSignerFromBytes(bytes);
}

const hex = (text: string | undefined) => {
  const bytes = new Uint8Array(32);
  if (text) for (let i = 0; i < 32; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
};
const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** JSON holds the u64 limits as strings; the margin-tier fields (risk flags, borrow weight,
 *  e-mode groups, value caps) default to none. */
function normalized(config: ReserveConfigArgs): ReserveConfigArgs {
  return {
    ...config,
    riskFlags: config.riskFlags ?? 0,
    borrowWeightBps: config.borrowWeightBps ?? 0,
    depositLimit: BigInt(config.depositLimit),
    borrowLimit: BigInt(config.borrowLimit),
    depositLimitValue: BigInt(config.depositLimitValue ?? 0),
    borrowLimitValue: BigInt(config.borrowLimitValue ?? 0),
    isolationDebtCeilingValue: BigInt(config.isolationDebtCeilingValue ?? 0),
    insuranceShareBps: config.insuranceShareBps ?? 0,
    insurancePadding: config.insurancePadding ?? new Uint8Array(6),
    emodeGroups: config.emodeGroups ?? 0,
    configPadding: config.configPadding ?? 0,
  };
}

/** Runs every step; returns what it did (empty when everything already matched). */
export async function deploy(chain: DeployChain, config: DeployConfig, options: { upgrade?: boolean; configDir?: string } = {}): Promise<string[]> {
  const done: string[] = [];
  config = { ...config, reserves: config.reserves.map((spec) => ({ ...spec, config: normalized(spec.config) })) };
  const resolve = (path: string) => (path.startsWith('/') || path.startsWith('~') ? path : `${options.configDir ?? ROOT}/${path}`);

  // 1. The program.
  if (!(await chain.isExecutable(PROGRAM_ID)) || options.upgrade) {
    await chain.deployProgram(`${ROOT}/target/deploy/solvent.so`, `${ROOT}/keys/solvent-keypair.json`);
    done.push(`deployed the program ${PROGRAM_ID}`);
  }

  // 2. The market, at the address of its keypair.
  const market = await signerFromFile(resolve(config.marketKeypair));
  const authority = await marketAuthorityAddress(market.address);
  const existing = await chain.account(market.address);
  if (existing === null) {
    const quote = new Uint8Array(32);
    quote.set(new TextEncoder().encode(config.quoteCurrency));
    await chain.send(
      [getInitLendingMarketInstruction({ owner: chain.payer, lendingMarket: market, marketAuthority: authority, quoteCurrency: quote, oracleProgram: address(config.oracleProgram) })],
      [market],
    );
    done.push(`created market ${market.address}`);
  } else {
    const state = getLendingMarketDecoder().decode(existing);
    if (state.owner !== chain.payer.address) throw new Error(`market ${market.address} is owned by ${state.owner}, not by this wallet`);
  }
  if (config.liquidationLimits) {
    const state = getLendingMarketDecoder().decode((await chain.account(market.address))!);
    const { capValue, dustValue, protocolShareBps } = config.liquidationLimits;
    if (state.liquidationCapValue !== BigInt(capValue) || state.dustValue !== BigInt(dustValue) || state.liquidationProtocolShareBps !== protocolShareBps) {
      await chain.send([
        getSetLiquidationLimitsInstruction({ lendingMarket: market.address, owner: chain.payer, liquidationCapValue: capValue, dustValue, protocolShareBps }),
      ]);
      done.push('set the liquidation limits');
    }
  }

  // 3. The reserves: listed once (the oracle is pinned), their risk config kept in line.
  for (const spec of config.reserves) {
    const mint = address(spec.mint);
    const reserve = await reserveAddress(market.address, mint);
    const data = await chain.account(reserve);
    if (data === null) {
      await chain.send([
        getInitReserveInstruction({
          lendingMarket: market.address,
          owner: chain.payer,
          reserve,
          liquidityMint: mint,
          liquidityVault: await liquidityVaultAddress(reserve),
          feeVault: await feeVaultAddress(reserve),
          collateralMint: await collateralMintAddress(reserve),
          marketAuthority: authority,
          oracle: address(spec.oracle),
          config: spec.config,
          oracleSource: spec.oracleSource,
          priceFeedId: hex(spec.priceFeedId),
        }),
      ]);
      done.push(`listed ${spec.symbol} (reserve ${reserve})`);
      continue;
    }
    const state = getReserveDecoder().decode(data);
    if (state.oracle !== spec.oracle || state.oracleSource !== spec.oracleSource || !equalBytes(new Uint8Array(state.priceFeedId), hex(spec.priceFeedId))) {
      throw new Error(`${spec.symbol}: the reserve's oracle is pinned to ${state.oracle}; list the asset in a new market to change it`);
    }
    const wanted = getReserveConfigEncoder().encode(spec.config);
    const onChain = getReserveConfigEncoder().encode(state.config);
    if (!equalBytes(new Uint8Array(wanted), new Uint8Array(onChain))) {
      await chain.send([
        getUpdateReserveConfigInstruction({ lendingMarket: market.address, owner: chain.payer, reserve, config: spec.config }),
      ]);
      done.push(`updated ${spec.symbol}'s config`);
    }
  }
  return done;
}

/** A JSON-RPC cluster. The program is deployed with the Solana CLI (`solana program deploy`). */
export class RpcDeployChain implements DeployChain {
  constructor(
    readonly url: string,
    readonly payer: KeyPairSigner,
    readonly payerPath: string,
    private rpc = createSolanaRpc(url),
  ) {}

  async account(address: Address) {
    const { value } = await this.rpc.getAccountInfo(address, { encoding: 'base64' }).send();
    return value ? new Uint8Array(Buffer.from(value.data[0], 'base64')) : null;
  }

  async isExecutable(address: Address) {
    const { value } = await this.rpc.getAccountInfo(address, { encoding: 'base64' }).send();
    return value?.executable ?? false;
  }

  async deployProgram(soPath: string, programKeypairPath: string) {
    try {
      execFileSync('solana', ['program', 'deploy', soPath, '--program-id', programKeypairPath, '--keypair', this.payerPath, '--url', this.url], { stdio: 'inherit' });
    } catch (error) {
      throw new Error(`solana program deploy failed (is the Solana CLI on PATH?): ${error}`);
    }
  }

  async send(instructions: Instruction[], signers: TransactionSigner[] = []) {
    const sent = await sendOverRpc(this.rpc, this.payer, instructions, signers);
    if (!sent.ok) throw new Error(`transaction failed: ${sent.error} ${sent.name ?? ''}\n${sent.logs.join('\n')}`);
  }
}

export async function main() {
  const args = process.argv.slice(2);
  const configPath = args.find((a) => !a.startsWith('--'));
  if (!configPath) {
    console.error('usage: deploy.ts <config.json> [--rpc URL] [--wallet PATH] [--upgrade]');
    process.exit(2);
  }
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const url = flag('--rpc') ?? 'http://127.0.0.1:8899';
  const walletPath = (flag('--wallet') ?? process.env.SOLANA_WALLET ?? '~/.config/solana/id.json').replace(/^~/, homedir());
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as DeployConfig;
  const chain = new RpcDeployChain(url, await signerFromFile(walletPath), walletPath);
  const done = await deploy(chain, config, { upgrade: args.includes('--upgrade'), configDir: fileURLToPath(new URL('.', `file://${configPath.startsWith('/') ? configPath : `${process.cwd()}/${configPath}`}`)) });
  console.log(done.length === 0 ? 'everything already matches the config' : done.map((line) => `- ${line}`).join('\n'));
}
