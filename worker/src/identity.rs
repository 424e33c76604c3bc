//! Worker names, unique per process start (apalis refuses a quick restart under a reused name).

use rand::Rng;

/// `{host}-{pid}-{random}`: unique for every process start.
pub fn process_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "host".into());
    let suffix: u32 = rand::rng().random();
    format!("{host}-{}-{suffix:08x}", std::process::id())
}
