// `@solvent/client/anchor`: the same IDL in @anchor-lang/core's `Program` (accounts decode,
// instructions build, events parse), over @solana/web3.js v1, for clients on that stack; and
// `fromWeb3Instruction` to hand what it builds to the @solana/kit side (`@solvent/client`,
// which this entry does not re-export). No Node built-ins.
import { AnchorProvider, BorshCoder, EventParser, Program, type Idl } from '@anchor-lang/core';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { AccountRole, address, type Instruction } from '@solana/kit';
import { IDL, PROGRAM_ID } from './index.ts';

const ANCHOR_IDL = IDL as unknown as Idl;

/** The IDL in @anchor-lang/core's Program. Building instructions and decoding need no network; the
 *  connection is only used if you call `.rpc()` or fetch through it. */
export function anchorProgram(connection = new Connection('http://127.0.0.1:8899')): Program {
  const wallet = Keypair.generate();
  const provider = new AnchorProvider(
    connection,
    {
      publicKey: wallet.publicKey,
      signTransaction: async (tx) => tx,
      signAllTransactions: async (txs) => txs,
    },
    {},
  );
  return new Program(ANCHOR_IDL, provider);
}

/** Events in a transaction's log lines, decoded with the IDL. */
export function parseEvents(logs: string[]): { name: string; data: Record<string, unknown> }[] {
  const parser = new EventParser(new PublicKey(PROGRAM_ID), new BorshCoder(ANCHOR_IDL));
  return [...parser.parseLogs(logs)];
}

/** A web3.js v1 instruction (what Anchor's Program builds) as a @solana/kit instruction. */
export function fromWeb3Instruction(ix: {
  programId: PublicKey;
  keys: { pubkey: PublicKey; isSigner: boolean; isWritable: boolean }[];
  data: Uint8Array;
}): Instruction {
  return {
    programAddress: address(ix.programId.toBase58()),
    accounts: ix.keys.map((key) => ({
      address: address(key.pubkey.toBase58()),
      role: key.isSigner
        ? key.isWritable
          ? AccountRole.WRITABLE_SIGNER
          : AccountRole.READONLY_SIGNER
        : key.isWritable
          ? AccountRole.WRITABLE
          : AccountRole.READONLY,
    })),
    data: new Uint8Array(ix.data),
  };
}

