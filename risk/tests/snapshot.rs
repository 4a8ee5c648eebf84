//! A market read from another chain through `Chain` (as `--url` reads a live one over JSON-RPC)
//! and loaded into a fresh runtime stresses exactly as the market it copies.
use solvent_risk::scenario::*;
use solvent_risk::sim::Sim;
use solvent_tests::*;
use std::collections::BTreeMap;

#[tokio::test]
async fn a_snapshot_of_a_market_stresses_exactly_as_the_market() {
    let spec = standard_market(30, 9);
    let mut original = Sim::build(&spec, &|_| {}).await.expect("build");
    let names: BTreeMap<Pubkey, String> = original.reserves.iter().zip(&spec.reserves).map(|(k, r)| (k.mint, r.name.clone())).collect();
    let venues: BTreeMap<String, VenueSpec> = spec.reserves.iter().filter_map(|r| r.venue.map(|v| (r.name.clone(), v))).collect();
    let default_venue = VenueSpec { depth_value: 1_000_000.0, recovery_half_life_secs: 120.0 };
    let mut copy = {
        let mut chain = InProcessChain { harness: &mut original.h };
        Sim::from_chain(&mut chain, &original.market.market, &names, &venues, default_venue, &spec).await.expect("snapshot")
    };
    // The lender's obligation is copied too (it holds no debt).
    assert_eq!(copy.obligations.len(), original.obligations.len() + 1);
    assert_eq!(copy.spec.reserves.iter().map(|r| (r.name.clone(), r.stable)).collect::<Vec<_>>(), spec.reserves.iter().map(|r| (r.name.clone(), r.stable)).collect::<Vec<_>>());
    let gap = library().into_iter().find(|s| s.name == "gap-down").expect("gap-down");
    let expected = original.run(&gap, &|_| {}).await.expect("original");
    let got = copy.run(&gap, &|_| {}).await.expect("copy");
    assert!(expected.liquidations > 0);
    assert_eq!(serde_json::to_string(&got).unwrap(), serde_json::to_string(&expected).unwrap());
}
