//! One module per subcommand (spec/cli.md §3).

pub mod align;
pub mod compare;
pub mod fit;
pub mod pairwise;
pub mod verify;
