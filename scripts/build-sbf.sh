#!/usr/bin/env bash
# Build the program to target/deploy/solvent.so.
#  * With Anza's Solana toolchain installed (`cargo build-sbf` on PATH): `anchor build` if anchor is
#    there, otherwise `cargo build-sbf`.
#  * Otherwise (machines that reach only crates.io and rustup): upstream nightly rustc + a patched
#    std + sbpf-linker from crates.io, producing an SBPF v3 .so. Installs what it needs once per
#    machine under SBF_KIT_HOME (default ~/.cache/sbf-kit; about 5 minutes the first time).
# SOLVENT_SBF_METHOD=upstream forces the second path.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST=$ROOT/programs/solvent/Cargo.toml
OUT=$ROOT/target/deploy
mkdir -p "$OUT"

if [ "${SOLVENT_SBF_METHOD:-auto}" != upstream ] && command -v cargo-build-sbf >/dev/null 2>&1; then
  if command -v anchor >/dev/null 2>&1; then
    cp -n "$ROOT/keys/solvent-keypair.json" "$OUT/solvent-keypair.json" 2>/dev/null || true
    (cd "$ROOT" && anchor build)
  else
    cargo build-sbf --manifest-path "$MANIFEST" --sbf-out-dir "$OUT"
  fi
  exit 0
fi

KIT=$ROOT/scripts/sbf
TC=nightly-2026-10-30                      # rustc 1.101 on LLVM 23, which sbpf-linker 0.2.x needs
LINKER_VERSION=0.2.6
HOME_DIR=${SBF_KIT_HOME:-$HOME/.cache/sbf-kit}
STD_SRC=$HOME_DIR/std-$TC-$(sha256sum "$KIT/patch-std.sh" | cut -c1-12)
mkdir -p "$HOME_DIR"
if ! rustup run $TC rustc --version >/dev/null 2>&1 || [ ! -d "$(rustc +$TC --print sysroot)/lib/rustlib/src/rust/library" ]; then
  echo "build-sbf: installing toolchain $TC with rust-src" >&2
  rustup toolchain install $TC --profile minimal -c rust-src >&2
fi
if [ ! -x "$HOME_DIR/bin/sbpf-linker" ]; then
  echo "build-sbf: installing sbpf-linker $LINKER_VERSION" >&2
  cargo +stable install sbpf-linker --version $LINKER_VERSION --locked --root "$HOME_DIR" >&2 ||
    cargo install sbpf-linker --version $LINKER_VERSION --locked --root "$HOME_DIR" >&2
fi
if [ ! -f "$STD_SRC/.patched" ]; then
  echo "build-sbf: patching a copy of std for target_os=solana" >&2
  TC=$TC "$KIT/patch-std.sh" "$STD_SRC" >&2
  touch "$STD_SRC/.patched"
fi

export PATH=$HOME_DIR/bin:$PATH
export __CARGO_TESTS_ONLY_SRC_ROOT=$STD_SRC/library   # cargo's build-std source override
flags='["-C","linker=sbpf-linker","-C","panic=abort","-C","passes=lower-atomic","-C","relocation-model=static","-C","target-cpu=v4","-C","target-feature=+allows-misaligned-mem-access","-C","link-arg=--arch=v3","-C","link-arg=--llvm-args=-bpf-stack-size=4096","-C","link-arg=--llvm-args=--bpf-max-stores-per-memfunc=5","-C","link-arg=--llvm-args=--disable-gotox","-C","link-arg=--llvm-args=--disable-ldsx","-C","link-arg=--llvm-args=--disable-movsx","-C","link-arg=--llvm-args=--disable-bswap"]'
# Intermediate files live apart from the host build (its own target dir, shareable across clones).
SBF_TARGET=${SOLVENT_SBF_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/sbf-upstream}
(cd "$ROOT/programs/solvent" && CARGO_TARGET_DIR=$SBF_TARGET cargo +$TC build --release \
  --manifest-path "$MANIFEST" \
  -Zbuild-std=std,panic_abort -Zjson-target-spec \
  --target "$KIT/bpfel-solana.json" \
  --config "target.bpfel-solana.rustflags=$flags" \
  --config 'profile.release.lto="fat"' --config 'profile.release.codegen-units=1' --config 'profile.release.panic="abort"' \
  --features upstream-sbf)
cp "$SBF_TARGET/bpfel-solana/release/libsolvent.so" "$OUT/solvent.so"
# The program id's keypair, where `anchor deploy` and `solana program deploy` look for it.
cp -n "$ROOT/keys/solvent-keypair.json" "$OUT/solvent-keypair.json" 2>/dev/null || true
# sbpf-linker drops a copy in ./target/deploy of the directory it ran in; keep only ours.
rm -f "$ROOT/programs/solvent/target/deploy/libsolvent.so" 2>/dev/null || true
echo "build-sbf: wrote $OUT/solvent.so ($(stat -c %s "$OUT/solvent.so") bytes)" >&2
