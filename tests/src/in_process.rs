//! The client's `Chain` on the embedded bank.
use crate::*;

/// The embedded bank of solana-program-test as a `Chain`: the keeper, the leverage builder and
/// the client's queries run on it as they do over JSON-RPC. The harness payer pays the fees.
pub struct InProcessChain<'h> {
    pub harness: &'h mut Harness,
}

impl Chain for InProcessChain<'_> {
    async fn program_accounts(&mut self, discriminator: &[u8], market: &Pubkey) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        let found = self.harness.program_accounts(&program_id(), discriminator, LENDING_MARKET_OFFSET, market).await;
        Ok(found.into_iter().map(|(key, account)| (key, account.data)).collect())
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self.harness.account(key).await.map(|account| account.data))
    }

    async fn clock(&mut self) -> Result<(u64, i64), ChainError> {
        let clock = self.harness.clock().await;
        Ok((clock.slot, clock.unix_timestamp))
    }

    async fn send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Result<Sent, ChainError> {
        // Signers sign only where an instruction asks for them: the harness payer pays.
        let needed: Vec<&Keypair> = signers
            .iter()
            .copied()
            .filter(|signer| instructions.iter().flat_map(|ix| &ix.accounts).any(|meta| meta.is_signer && meta.pubkey == signer.pubkey()))
            .collect();
        let outcome = self.harness.send(instructions, &needed).await;
        Ok(Sent { compute_units: Some(outcome.compute_units), error: outcome.error })
    }
}
