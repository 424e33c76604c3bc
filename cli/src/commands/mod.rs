//! One module per subcommand.

pub mod import;
pub mod jobs;
pub mod migrate;
