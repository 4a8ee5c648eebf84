//! `solvent-localnet`: an offline Surfnet (Surfpool's validator embedded in this process: a full
//! JSON-RPC and WebSocket endpoint on LiteSVM, with Surfpool's `surfnet_*` cheatcodes) with the
//! Solvent program deployed from its built `.so` (`surfnet_writeProgram`) and every account file
//! of `--accounts` written (`surfnet_setAccount`; the `solana-test-validator --account` JSON
//! format that `app/ts/src/localnet-accounts.ts` writes), the `--airdrop` addresses funded.
//!
//!   solvent-localnet --program-id <ID> --so target/deploy/solvent.so [--accounts DIR] [--airdrop ADDRESS]...
//!
//! Prints one JSON line once the network serves requests:
//! `{"rpc":"http://127.0.0.1:PORT","ws":"ws://127.0.0.1:PORT","payer":"<funded address>"}`, then
//! runs until killed, or with `--stdin` until its standard input closes (the tests own it that
//! way: a test run that dies takes its network with it). The tests and `scripts/localnet.sh`
//! start it in the background and read that line.
use base64::Engine;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::str::FromStr;
use surfpool_sdk::cheatcodes::builders::DeployProgram;
use surfpool_sdk::{Pubkey, Signer, Surfnet};

struct Args {
    program_id: Pubkey,
    so: PathBuf,
    accounts: Option<PathBuf>,
    airdrop: Vec<Pubkey>,
    lamports: u64,
    /// Exit when standard input closes (for a parent that owns the process); otherwise run
    /// until killed.
    stdin: bool,
}

fn usage(problem: &str) -> ! {
    eprintln!("solvent-localnet: {problem}");
    eprintln!("usage: solvent-localnet --program-id <ID> --so <PATH> [--accounts <DIR>] [--airdrop <ADDRESS>]... [--lamports <N>] [--stdin]");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let (mut program_id, mut so, mut accounts, mut airdrop, mut lamports, mut stdin) = (None, None, None, Vec::new(), 100_000_000_000u64, false);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        if flag == "--stdin" {
            stdin = true;
            continue;
        }
        match flag.as_str() {
            "--program-id" => program_id = Some(Pubkey::from_str(&value()).unwrap_or_else(|e| usage(&format!("--program-id: {e}")))),
            "--so" => so = Some(PathBuf::from(value())),
            "--accounts" => accounts = Some(PathBuf::from(value())),
            "--airdrop" => airdrop.push(Pubkey::from_str(&value()).unwrap_or_else(|e| usage(&format!("--airdrop: {e}")))),
            "--lamports" => lamports = value().parse().unwrap_or_else(|e| usage(&format!("--lamports: {e}"))),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    Args {
        program_id: program_id.unwrap_or_else(|| usage("--program-id is required")),
        so: so.unwrap_or_else(|| usage("--so is required")),
        accounts,
        airdrop,
        lamports,
        stdin,
    }
}

/// One account file: `{"pubkey": ..., "account": {"lamports", "data": [base64, "base64"], "owner", ...}}`.
struct AccountFile {
    address: Pubkey,
    lamports: u64,
    data: Vec<u8>,
    owner: Pubkey,
}

fn read_account_file(path: &std::path::Path) -> Result<AccountFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let field = |value: &serde_json::Value, name: &str| value.get(name).cloned().ok_or_else(|| format!("{}: no {name}", path.display()));
    let account = field(&json, "account")?;
    let pubkey = |value: serde_json::Value, name: &str| {
        value.as_str().and_then(|s| Pubkey::from_str(s).ok()).ok_or_else(|| format!("{}: {name} is not an address", path.display()))
    };
    let data = field(&account, "data")?;
    let encoded = data.get(0).and_then(|d| d.as_str()).ok_or_else(|| format!("{}: data is not [base64, \"base64\"]", path.display()))?;
    Ok(AccountFile {
        address: pubkey(field(&json, "pubkey")?, "pubkey")?,
        lamports: field(&account, "lamports")?.as_u64().ok_or_else(|| format!("{}: lamports is not a number", path.display()))?,
        data: base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| format!("{}: data: {e}", path.display()))?,
        owner: pubkey(field(&account, "owner")?, "owner")?,
    })
}

// Multi-threaded: the SDK's cheatcodes use the blocking RPC client, which needs it.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let files = match &args.accounts {
        Some(dir) => {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| usage(&format!("--accounts {}: {e}", dir.display())))
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            paths.sort();
            // Only account files (a pubkey and an account): the directory may hold keypairs and
            // the deploy config too.
            paths.iter().filter_map(|p| read_account_file(p).ok()).collect()
        }
        None => Vec::new(),
    };
    let program = std::fs::read(&args.so).unwrap_or_else(|e| usage(&format!("--so {}: {e}", args.so.display())));
    let surfnet = Surfnet::builder()
        .offline(true)
        .airdrop_addresses(args.airdrop.clone())
        .airdrop_sol(args.lamports)
        .start()
        .await
        .unwrap_or_else(|e| {
            eprintln!("solvent-localnet: {e}");
            std::process::exit(1);
        });
    let cheats = surfnet.cheatcodes();
    if let Err(e) = cheats.deploy(DeployProgram::new(args.program_id).so_bytes(program)) {
        eprintln!("solvent-localnet: deploying {}: {e}", args.program_id);
        std::process::exit(1);
    }
    for file in &files {
        if let Err(e) = cheats.set_account(&file.address, file.lamports, &file.data, &file.owner) {
            eprintln!("solvent-localnet: writing {}: {e}", file.address);
            std::process::exit(1);
        }
    }
    println!("{}", serde_json::json!({ "rpc": surfnet.rpc_url(), "ws": surfnet.ws_url(), "payer": surfnet.payer().pubkey().to_string(), "accounts": files.len() }));
    let until = if args.stdin { "its standard input closes" } else { "killed" };
    eprintln!("solvent-localnet: program {} deployed, {} accounts written; serving until {until}", args.program_id, files.len());
    if !args.stdin {
        std::future::pending::<()>().await;
    }
    // Serve until stdin closes (the parent exited or closed the pipe) or a signal ends us.
    let _ = tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        let mut sink = Vec::new();
        while lock.fill_buf().map(|b| !b.is_empty()).unwrap_or(false) {
            let _ = lock.read_to_end(&mut sink);
        }
    })
    .await;
    drop(surfnet);
}
