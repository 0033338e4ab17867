//! Fuzz target: the `.npy` reader on arbitrary bytes must return Ok or a typed error, never panic,
//! never allocate more than the input justifies. Run: `cargo +nightly fuzz run npy`.
#![no_main]

use dynsim::io::npy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(a) = npy::from_bytes(bytes, "fuzz.npy") {
        assert_eq!(a.data.len(), a.shape.iter().product::<usize>());
        assert!(a.data.len() * 8 <= bytes.len() * 8 + 64);
    }
});
