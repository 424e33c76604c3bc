//! Rebuilds the crate when a migration is added or edited: `embed_migrations!` reads
//! the `migrations/` directory at compile time, which cargo does not track by itself.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
