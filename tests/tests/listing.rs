//! Listing hygiene on the built .so: real Token-2022 mints, created by the Token-2022 program,
//! each with one extension. Those that break the vault's accounting or let a third party move or
//! lock vault funds are refused with their own error and nothing is created; a plain Token-2022
//! mint and one with only a metadata pointer are listed.
use solvent::errors::LendingError;
use solvent_tests::*;

async fn try_list(h: &mut Harness, market: &TestMarket, owner: &Keypair, extension: Option<MintExtension>) -> (Pubkey, TxOutcome) {
    let mint = h.create_mint_2022(6, extension).await;
    let oracle = Keypair::new().pubkey();
    h.set_price(&oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let ix = init_reserve_with_token_program_ix(market, &owner.pubkey(), &mint, &oracle, usdc_config(), &TOKEN_2022_PROGRAM_ID);
    let reserve = reserve_address(&market.market, &mint);
    let outcome = h.send(&[ix], &[owner]).await;
    (reserve, outcome)
}

#[tokio::test]
async fn token_2022_mints_with_dangerous_extensions_are_refused() {
    let mut h = Harness::start().await;
    let owner = Keypair::new();
    h.fund(&owner.pubkey(), 100_000_000_000).await;
    let (market, _) = h.init_market(&owner).await;
    let refused = [
        (MintExtension::TransferFee, LendingError::MintTransferFee),
        (MintExtension::TransferHook, LendingError::MintTransferHook),
        (MintExtension::PermanentDelegate, LendingError::MintPermanentDelegate),
        (MintExtension::NonTransferable, LendingError::MintNonTransferable),
        (MintExtension::ConfidentialTransfer, LendingError::MintConfidentialTransfer),
        (MintExtension::DefaultFrozen, LendingError::MintDefaultFrozen),
        (MintExtension::CloseAuthority, LendingError::MintCloseAuthority),
        (MintExtension::InterestBearing, LendingError::MintExtensionNotAllowed),
    ];
    for (extension, error) in refused {
        let (reserve, outcome) = try_list(&mut h, &market, &owner, Some(extension)).await;
        assert_eq!(outcome.custom_error(), Some(error_code(error)), "{extension:?}: {:?}\n{}", outcome.error, outcome.logs.join("\n"));
        assert!(h.account(&reserve).await.is_none(), "{extension:?}: nothing is created");
    }
    for extension in [None, Some(MintExtension::MetadataPointer)] {
        let (reserve, outcome) = try_list(&mut h, &market, &owner, extension).await;
        assert!(outcome.error.is_none(), "{extension:?}: {:?}\n{}", outcome.error, outcome.logs.join("\n"));
        let state = h.reserve(&reserve).await;
        assert_eq!(from_anchor(&state.token_program), TOKEN_2022_PROGRAM_ID);
    }
}
