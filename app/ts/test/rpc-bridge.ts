// A JSON-RPC server in front of a LiteSVM instance: the few methods the client's RPC chains call
// (and the Rust keeper's, through solana-rpc-client), with Solana's wire formats. It lets the
// RPC code paths run for real in tests on a machine without solana-test-validator.
import { createServer, type Server } from 'node:http';
import { getBase58Decoder, getBase58Encoder, getCompiledTransactionMessageDecoder, getCompiledTransactionMessageEncoder, getTransactionDecoder, type Address, type Signature } from '@solana/kit';
import { FailedTransactionMetadata, type LiteSVM } from 'litesvm';

type Json = unknown;

export class RpcBridge {
  private server: Server;
  private statuses = new Map<string, { err: Json; logs: string[]; slot: bigint }>();
  url = '';

  constructor(private svm: LiteSVM) {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const call = JSON.parse(body) as { id: Json; method: string; params?: Json[] };
        let reply: { result?: Json; error?: Json };
        try {
          reply = { result: this.handle(call.method, call.params ?? []) };
        } catch (error) {
          reply = { error: { code: -32000, message: String(error) } };
        }
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ jsonrpc: '2.0', id: call.id, ...reply }, (_, v) => (typeof v === 'bigint' ? Number(v) : v)));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as { port: number }).port;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  stop() {
    this.server.close();
  }

  private context() {
    return { slot: this.svm.getClock().slot, apiVersion: '2.2.0' };
  }

  private account(address: string) {
    const account = this.svm.getAccount(address as Address);
    if (!account.exists) return null;
    return {
      data: [Buffer.from(account.data).toString('base64'), 'base64'],
      executable: account.executable,
      lamports: account.lamports,
      owner: account.programAddress,
      rentEpoch: 0,
      space: account.data.length,
    };
  }

  private handle(method: string, params: Json[]): Json {
    switch (method) {
      case 'getVersion':
        return { 'solana-core': '2.2.0', 'feature-set': 0 };
      case 'getLatestBlockhash':
        return { context: this.context(), value: { blockhash: this.svm.latestBlockhash(), lastValidBlockHeight: this.svm.getClock().slot + 150n } };
      case 'getMinimumBalanceForRentExemption':
        return this.svm.minimumBalanceForRentExemption(BigInt(params[0] as number));
      case 'getAccountInfo':
        return { context: this.context(), value: this.account(params[0] as string) };
      case 'getMultipleAccounts':
        return { context: this.context(), value: (params[0] as string[]).map((address) => this.account(address)) };
      case 'getProgramAccounts': {
        const config = (params[1] ?? {}) as { filters?: { dataSize?: number; memcmp?: { offset: number; bytes: string | number[]; encoding?: string } }[] };
        const matches = this.svm.getProgramAccounts(params[0] as Address).filter((account) =>
          (config.filters ?? []).every((filter) => {
            if (filter.dataSize !== undefined) return account.data.length === Number(filter.dataSize);
            if (!filter.memcmp) return true;
            const { bytes, encoding } = filter.memcmp;
            const wanted = Array.isArray(bytes)
              ? Buffer.from(bytes)
              : encoding === 'base64'
                ? Buffer.from(bytes, 'base64')
                : Buffer.from(getBase58Encoder().encode(bytes));
            return Buffer.from(account.data).subarray(filter.memcmp.offset, filter.memcmp.offset + wanted.length).equals(wanted);
          }),
        );
        return matches.map((account) => ({ pubkey: account.address, account: this.account(account.address) }));
      }
      case 'sendTransaction': {
        const bytes = Buffer.from(params[0] as string, 'base64');
        const transaction = getTransactionDecoder().decode(bytes);
        const signature = getBase58Decoder().decode(Object.values(transaction.signatures)[0] as Uint8Array);
        const result = this.svm.sendTransaction(transaction);
        this.svm.expireBlockhash();
        if (result instanceof FailedTransactionMetadata) {
          const text = result.toString();
          const custom = /Custom\((\d+)\)/.exec(text);
          const index = /InstructionError\((\d+)/.exec(text);
          const err = custom ? { InstructionError: [Number(index?.[1] ?? 0), { Custom: Number(custom[1]) }] } : { text };
          this.statuses.set(signature, { err, logs: result.meta().logs(), slot: this.svm.getClock().slot });
        } else {
          this.statuses.set(signature, { err: null, logs: result.logs(), slot: this.svm.getClock().slot });
        }
        return signature;
      }
      case 'isBlockhashValid':
        return { context: this.context(), value: true };
      case 'getSignatureStatuses':
        return {
          context: this.context(),
          value: (params[0] as string[]).map((signature) => {
            const status = this.statuses.get(signature);
            return status
              ? { slot: status.slot, confirmations: null, err: status.err, status: status.err ? { Err: status.err } : { Ok: null }, confirmationStatus: 'finalized' }
              : null;
          }),
        };
      case 'getTransaction': {
        const status = this.statuses.get(params[0] as Signature);
        return status ? { slot: status.slot, blockTime: null, meta: { err: status.err, logMessages: status.logs }, transaction: null } : null;
      }
      case 'getEpochInfo': {
        // The block height is the slot (LiteSVM skips none); getLatestBlockhash's blockhashes
        // last 150 blocks from it, as on Solana.
        const slot = this.svm.getClock().slot;
        return { absoluteSlot: slot, blockHeight: slot, epoch: this.svm.getClock().epoch, slotIndex: 0, slotsInEpoch: 432_000, transactionCount: null };
      }
      case 'simulateTransaction': {
        // Solana's simulateTransaction (the client sizes compute-unit limits with it): an
        // unsigned transaction with `sigVerify: false`, its blockhash replaced on request.
        const config = (params[1] ?? {}) as { encoding?: string; sigVerify?: boolean; replaceRecentBlockhash?: boolean };
        const bytes = config.encoding === 'base64' ? Buffer.from(params[0] as string, 'base64') : getBase58Encoder().encode(params[0] as string);
        let transaction = getTransactionDecoder().decode(bytes);
        if (config.replaceRecentBlockhash) {
          const message = getCompiledTransactionMessageDecoder().decode(transaction.messageBytes);
          const messageBytes = getCompiledTransactionMessageEncoder().encode({ ...message, lifetimeToken: this.svm.latestBlockhash() });
          transaction = { ...transaction, messageBytes: messageBytes as typeof transaction.messageBytes };
        }
        if (config.sigVerify === false) this.svm.withSigverify(false);
        let result;
        try {
          result = this.svm.simulateTransaction(transaction);
        } finally {
          if (config.sigVerify === false) this.svm.withSigverify(true);
        }
        const failed = result instanceof FailedTransactionMetadata;
        const meta = result.meta();
        const text = failed ? result.toString() : '';
        const custom = /err: InstructionError\((\d+), Custom\((\d+)\)\)/.exec(text);
        const named = /err: InstructionError\((\d+), (\w+)\)/.exec(text);
        const fieldless = /err: (\w+)[,\s}]/.exec(text);
        const err = !failed
          ? null
          : custom
            ? { InstructionError: [Number(custom[1]), { Custom: Number(custom[2]) }] }
            : named
              ? { InstructionError: [Number(named[1]), named[2]] }
              : (fieldless?.[1] ?? { text });
        return { context: this.context(), value: { err, logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed(), accounts: null, returnData: null } };
      }
      default:
        throw new Error(`the bridge does not serve ${method}`);
    }
  }
}
