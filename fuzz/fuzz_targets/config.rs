//! Configuration parsing and compilation (`Engine::from_json`) on arbitrary bytes: never a panic,
//! and every rejection names a JSON path and says what is wrong.
#![no_main]

use authensor_filter::config::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = Engine::from_json(data) {
        // The path may end in the user's own (unknown) key, so only its presence is checked.
        assert!(!e.path.is_empty(), "error without a path: {}", e.message);
        assert!(
            !e.message.is_empty(),
            "error at {} without a message",
            e.path
        );
        assert!(!e.to_string().is_empty());
    }
});
