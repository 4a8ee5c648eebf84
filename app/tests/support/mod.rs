//! Set-up shared by the app's tests and examples (included by path): a funded stand-in swap.
use solvent_app::leverage::OracleSwapStandIn;
use solvent_tests::{Harness, Keypair, Signer, TestReserve};

/// A funded market maker with a token account and `amount` of inventory in each reserve's mint
/// (minted by the harness payer, the test mints' authority), trading at the oracle price less
/// `fee_bps`.
pub async fn swap_with_inventory(h: &mut Harness, fee_bps: u64, inventory: &[(&TestReserve, u64)]) -> (Keypair, OracleSwapStandIn) {
    let maker = Keypair::new();
    h.fund(&maker.pubkey(), 1_000_000_000).await;
    let mut maker_accounts = Vec::new();
    for (reserve, amount) in inventory {
        let account = h.create_token_account(&reserve.mint, &maker.pubkey()).await;
        h.mint_to(&reserve.mint, &account, *amount).await;
        maker_accounts.push((reserve.mint, account));
    }
    let swap = OracleSwapStandIn { maker: maker.pubkey(), maker_accounts, fee_bps };
    (maker, swap)
}
