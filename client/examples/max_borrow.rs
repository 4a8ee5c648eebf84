//! Borrow as much USDC as the obligation allows, with the program's own limit.
//!   cargo run -p solvent-client --example max_borrow -- URL MARKET USDC_RESERVE OWNER_KEYPAIR DESTINATION
use solvent_client::{borrow_ix, max_borrow, obligation_address, Chain, MarketView, Pubkey, RpcChain, Signer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (market, usdc, destination): (Pubkey, Pubkey, Pubkey) = (args[2].parse()?, args[3].parse()?, args[5].parse()?);
    let owner = solana_keypair::read_keypair_file(&args[4])?;
    let mut chain = RpcChain::new(&args[1]);
    let view = MarketView::load(&mut chain, &market).await?; // reserves refreshed as the next slot will
    let key = obligation_address(&market, &owner.pubkey(), 0);
    let obligation = chain.obligation(&key).await?;
    let limit = max_borrow(&view, &obligation, &usdc).map_err(|e| format!("{e:?}"))?; // the program's rule, on copies
    println!("can borrow {} (one unit more: {:?})", view.amount(&usdc, limit.amount), limit.refused_above);
    let reserve = view.reserve_keys(&usdc).map_err(|e| format!("{e:?}"))?;
    let borrow = borrow_ix(&view.keys, reserve, &key, &owner.pubkey(), &destination, limit.amount);
    let sent = chain.send(&view.refresh_then(&key, &obligation, borrow), &[&owner]).await?; // one instruction: the borrow revalues inline
    match sent.lending_error() {
        Some(error) => println!("refused: {error:?} ({:?})", error.class()),
        None => println!("borrowed"),
    }
    Ok(())
}
