//! Request-path normalisation, so that rules match what the upstream will serve:
//! percent-decoding, backslashes, duplicate slashes, path parameters (`;x=1`, which servlet
//! containers ignore, so `..;` is `..` there), NUL truncation and dot-segments are resolved and
//! the query dropped.

/// Normalise the path part of a `:path` header. `/a/./b//../%61dmin?x=1` becomes `/a/admin`,
/// `/a/..;/admin;v=1/x` becomes `/admin/x`, `/admin%00.txt` becomes `/admin`.
pub fn normalize(raw: &str) -> String {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let mut decoded = percent_decode(path).replace('\\', "/");
    // Upstreams written in C read a path up to its first NUL.
    decoded.truncate(decoded.find('\0').unwrap_or(decoded.len()));
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment.split(';').next().unwrap_or("") {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || (decoded.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
    out
}

/// Prefix match on whole segments: `/admin` matches `/admin` and `/admin/x`, not `/administrator`.
pub fn has_segment_prefix(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Decode `%XX` escapes (repeatedly, so double encoding cannot hide a segment); invalid escapes stay.
fn percent_decode(input: &str) -> String {
    let mut current = input.to_owned();
    for _ in 0..3 {
        if !current.contains('%') {
            break;
        }
        let bytes = current.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn resolves_dot_segments_and_slashes() {
        assert_eq!(normalize("/a/../admin"), "/admin");
        assert_eq!(normalize("//admin//users/"), "/admin/users/");
        assert_eq!(normalize("/a/./b/../../admin?x=1"), "/admin");
        assert_eq!(normalize("/../../admin"), "/admin");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("/"), "/");
    }

    #[test]
    fn decodes_escapes_including_double_encoding() {
        assert_eq!(normalize("/%61dmin"), "/admin");
        assert_eq!(normalize("/a/..%2Fadmin"), "/admin");
        assert_eq!(normalize("/a/%252e%252e/admin"), "/admin");
        assert_eq!(normalize("/a\\..\\admin"), "/admin");
        assert_eq!(normalize("/bad%zzescape%"), "/bad%zzescape%");
    }

    #[test]
    fn drops_path_parameters_and_what_follows_a_nul() {
        assert_eq!(normalize("/admin;jsessionid=1/users"), "/admin/users");
        assert_eq!(normalize("/a/..;/admin"), "/admin");
        assert_eq!(normalize("/a/..%3B/admin"), "/admin");
        assert_eq!(normalize("/;x/admin;"), "/admin");
        assert_eq!(normalize("/admin%00.json"), "/admin");
        assert_eq!(normalize("/%00/x"), "/");
    }
}
