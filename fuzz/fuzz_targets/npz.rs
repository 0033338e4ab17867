//! Fuzz target: the `.npz` readers on arbitrary bytes (spec/io.md §3). Reading must return Ok or a
//! typed error, never panic and never allocate more than the archive can hold; and the header-only
//! reader must accept whatever the reader accepts, with the same trial lengths (a differential
//! check of `npz::peek_bytes` against `npz::from_bytes`). Run: `cargo +nightly fuzz run npz`.
#![no_main]

use dynsim::io::npz;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let read = npz::from_bytes(bytes, "fuzz.npz");
    let peek = npz::peek_bytes(bytes, "fuzz.npz");
    if let Ok(ds) = read {
        let headers = match peek {
            Ok(h) => h,
            Err(e) => panic!("the reader accepted the archive, the header-only reader refused: {e}"),
        };
        assert_eq!(headers.len(), ds.n_trials());
        for (i, h) in headers.iter().enumerate() {
            assert_eq!(Some(h.shape[0]), ds.trial_len(i));
        }
    }
});
