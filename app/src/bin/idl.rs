//! Builds the program's Anchor IDL the way `anchor idl build` does (anchor-lang-idl's
//! `IdlBuilder`: `cargo test __anchor_private_print_idl --features idl-build` in the program's
//! directory), writes it to `target/idl/solvent.json`, and with `--check` fails when the
//! committed copy the TypeScript client is built from (`app/idl/solvent.json`) differs.
//!
//!   cargo run -p solvent-app --bin solvent-idl            # write target/idl and the committed copy
//!   cargo run -p solvent-app --bin solvent-idl -- --check # CI: the committed copy must be current
use std::path::PathBuf;

fn main() {
    let check = std::env::args().any(|arg| arg == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("repository root");
    // The builder would pass a rustup-set RUSTUP_TOOLCHAIN on as a literal "+{toolchain}"
    // argument; the program's rust-toolchain.toml picks the same toolchain anyway.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    // The builder compiles with RUSTFLAGS="-A warnings": in a directory of its own, so it and
    // ordinary builds do not keep invalidating each other's artifacts.
    let target_dir = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
    std::env::set_var("CARGO_TARGET_DIR", target_dir.join("idl-build"));
    let idl = anchor_lang_idl::build::IdlBuilder::new()
        .program_path(root.join("programs/solvent"))
        .build()
        .unwrap_or_else(|error| {
            eprintln!("building the IDL failed: {error}");
            std::process::exit(1)
        });
    let json = serde_json::to_string_pretty(&idl).expect("IDL to JSON") + "\n";
    // Next to target/deploy/solvent.so, wherever CARGO_TARGET_DIR points.
    let built = root.join("target/idl/solvent.json");
    std::fs::create_dir_all(built.parent().unwrap()).expect("target/idl");
    std::fs::write(&built, &json).expect("write target/idl/solvent.json");
    let committed = root.join("app/idl/solvent.json");
    if check {
        let current = std::fs::read_to_string(&committed).unwrap_or_default();
        if current != json {
            eprintln!(
                "{} differs from the IDL built from the program ({}): run `cargo run -p solvent-app --bin solvent-idl` and commit the result",
                committed.display(),
                built.display()
            );
            std::process::exit(1);
        }
        println!("IDL check: {} matches the program", committed.display());
    } else {
        std::fs::create_dir_all(committed.parent().unwrap()).expect("app/idl");
        std::fs::write(&committed, &json).expect("write app/idl/solvent.json");
        println!("wrote {} and {}", built.display(), committed.display());
    }
}
