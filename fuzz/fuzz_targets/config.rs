//! Configuration parsing and compilation (`Engine::from_json`) on arbitrary bytes: never a panic,
//! and every rejection names a JSON path and says what is wrong.
#![no_main]

use authensor_filter::config::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = Engine::from_json(data) {
        assert!(
            e.path.starts_with('$')
                || e.path
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic()),
            "error path {:?} ({})",
            e.path,
            e.message
        );
        assert!(
            !e.message.is_empty(),
            "error at {} without a message",
            e.path
        );
    }
});
