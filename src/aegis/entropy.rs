//! Randomness tests for secret-looking values: Shannon entropy, character-class mix and the
//! placeholder shapes (`<your-key>`, `${TOKEN}`, `xxxx`, `changeme`) that are never real secrets.

/// Shannon entropy in bits per byte.
pub fn shannon(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// How many of lower-case, upper-case, digit and symbol classes `s` uses.
pub fn class_count(s: &str) -> u32 {
    let mut classes = [false; 4];
    for b in s.bytes() {
        let i = match b {
            b'a'..=b'z' => 0,
            b'A'..=b'Z' => 1,
            b'0'..=b'9' => 2,
            _ => 3,
        };
        classes[i] = true;
    }
    classes.iter().filter(|&&c| c).count() as u32
}

/// Values that stand in for a secret in docs and templates.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| matches!(c, '"' | '\'' | '`'));
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "xxxx",
        "****",
        "....",
        "<",
        ">",
        "${",
        "{{",
        "%(",
        "$(",
        "your",
        "example",
        "placeholder",
        "changeme",
        "change_me",
        "redacted",
        "dummy",
        "sample",
        "insert",
        "replace",
        "todo",
        "fixme",
        "undefined",
        "null",
        "none",
        "secret_here",
        "key_here",
        "token_here",
        "process.env",
        "os.environ",
        "getenv",
        "env[",
        "env.",
        "password",
        "mytoken",
        "my_token",
        "my-token",
        "mykey",
        "my_key",
        "not-set",
        "notset",
        "enter_",
        "fake",
    ];
    if v.len() < 4 || v.starts_with('$') || v.starts_with('%') || v.starts_with('@') {
        return true;
    }
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // One character repeated (`aaaaaaaa`) or a run of the same character dominating.
    let first = v.as_bytes().first().copied();
    v.bytes().all(|b| Some(b) == first)
}

/// Whether `value` looks like a generated secret rather than a word, a name or a path.
pub fn looks_random(value: &str) -> bool {
    let len = value.len();
    if len < 12 || is_placeholder(value) {
        return false;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = value.bytes().any(|b| b.is_ascii_alphabetic());
    let classes = class_count(value);
    if !has_alpha || classes < 2 {
        return false;
    }
    // Paths, file names, URLs and dotted identifiers.
    let slashes = value.bytes().filter(|&b| b == b'/').count();
    if value.contains("://") || slashes >= 3 || value.ends_with(".json") || value.ends_with(".txt")
    {
        return false;
    }
    let entropy = shannon(value.as_bytes());
    let needed = match len {
        0..=15 => 3.0,
        16..=23 => 3.3,
        24..=39 => 3.6,
        _ => 3.8,
    };
    // Long lower-case-and-underscore identifiers are names, not secrets.
    let identifier = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-' || b == b'.');
    !identifier && (has_digit || classes >= 3) && entropy >= needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_classes() {
        assert_eq!(shannon(b"aaaa"), 0.0);
        assert!((shannon(b"abcd") - 2.0).abs() < 1e-9);
        assert_eq!(class_count("aB3!"), 4);
    }

    #[test]
    fn random_values_versus_words_and_placeholders() {
        assert!(looks_random("q8Zr2LmT0xV9bN4pK7sW"));
        assert!(looks_random("3f9a2c7e1b8d4f6a0c5e9b2d7a1f8c3e"));
        assert!(!looks_random("calculate_triangle_area"));
        assert!(!looks_random("YOUR_API_KEY_HERE"));
        assert!(!looks_random("${API_TOKEN}"));
        assert!(!looks_random("aaaaaaaaaaaaaaaaaaaa"));
        assert!(!looks_random("/usr/local/lib/python3.11"));
        assert!(is_placeholder("<token>"));
        assert!(!is_placeholder("hunter2!x"));
    }
}
