//! Oracle accounts as the real programs write them: Pyth legacy price accounts and Pyth
//! pull-oracle `PriceUpdateV2` accounts, and the harness calls that install them.
use crate::*;
use pyth_sdk_solana::state::{AccountType, PriceStatus, SolanaPriceAccount, MAGIC, VERSION_2};

/// A Pyth legacy price account, built with pyth-sdk-solana's own type (EMA = spot).
pub fn pyth_price_account(price: i64, conf: u64, expo: i32, publish_time: i64, status: PriceStatus) -> Vec<u8> {
    pyth_price_account_with_ema(price, conf, price, conf, expo, publish_time, status)
}

/// A Pyth legacy price account whose EMA may differ from spot.
#[allow(clippy::field_reassign_with_default)] // the Pyth type has no constructor
pub fn pyth_price_account_with_ema(price: i64, conf: u64, ema_price: i64, ema_conf: u64, expo: i32, publish_time: i64, status: PriceStatus) -> Vec<u8> {
    let mut account = SolanaPriceAccount::default();
    account.magic = MAGIC;
    account.ver = VERSION_2;
    account.atype = AccountType::Price as u32;
    account.size = std::mem::size_of::<SolanaPriceAccount>() as u32;
    account.expo = expo;
    account.timestamp = publish_time;
    account.agg.price = price;
    account.agg.conf = conf;
    account.agg.status = status;
    account.ema_price.val = ema_price;
    account.ema_conf.val = ema_conf as i64;
    bytemuck::bytes_of(&account).to_vec()
}

/// One Pyth pull-oracle price message: spot and EMA with their confidence, one exponent.
#[derive(Clone, Copy, Debug)]
pub struct PullPrice {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub ema_price: i64,
    pub ema_conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

/// A `PriceUpdateV2` account as the Pyth receiver writes it, built and serialized with
/// `pyth-solana-receiver-sdk`'s own types (`full`: fully verified, else partially with 5 signatures).
pub fn price_update_v2_account(price: PullPrice, full: bool) -> Vec<u8> {
    use anchor_lang::AccountSerialize;
    use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
    let update = PriceUpdateV2 {
        write_authority: AnchorPubkey::new_from_array([7; 32]),
        verification_level: if full { VerificationLevel::Full } else { VerificationLevel::Partial { num_signatures: 5 } },
        price_message: PriceFeedMessage {
            feed_id: price.feed_id,
            price: price.price,
            conf: price.conf,
            exponent: price.expo,
            publish_time: price.publish_time,
            prev_publish_time: price.publish_time - 1,
            ema_price: price.ema_price,
            ema_conf: price.ema_conf,
        },
        posted_slot: 1,
    };
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    update.try_serialize(&mut data).expect("serialize PriceUpdateV2");
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

impl Harness {
    /// Writes a Pyth price account owned by the Pyth program, published now.
    pub async fn set_price(&mut self, oracle: &Pubkey, price: i64, conf: u64, expo: i32) {
        let now = self.now().await;
        self.set_price_at(oracle, price, conf, expo, now, PriceStatus::Trading);
    }

    pub fn set_price_at(&mut self, oracle: &Pubkey, price: i64, conf: u64, expo: i32, time: i64, status: PriceStatus) {
        self.set_account(oracle, &PYTH_PROGRAM_ID, pyth_price_account(price, conf, expo, time, status));
    }


    /// Writes a PriceUpdateV2 account owned by the Pyth receiver program.
    pub fn set_price_update(&mut self, key: &Pubkey, price: PullPrice, full: bool) {
        self.set_account(key, &PYTH_RECEIVER_PROGRAM_ID, price_update_v2_account(price, full));
    }
}
