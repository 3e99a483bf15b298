//! Exfiltration detector: markdown images and links (and `<img>` tags) whose URL carries data or
//! placeholders for it, URLs with template placeholders in the query, known paste / webhook /
//! out-of-band endpoints, instructions to send secrets or the conversation somewhere, covert
//! channels (leaking the system prompt letter by letter), cloud metadata and private-range
//! addresses (SSRF), DNS exfiltration shapes and path traversal to sensitive files.

use std::ops::Range;

const KIND: DetectionType = DetectionType::Exfiltration;

use super::finding::{Found, View};
use super::keywords::{Hit, KeywordSetBuilder, Owner};
use super::phrases::{self, Seq};
use crate::detection::{DetectionType, Severity};

const MD_IMAGE: u16 = 1;
const IMG_TAG: u16 = 2;
const URL: u16 = 3;
const ENDPOINT: u16 = 4;
const SEND: u16 = 5;
const SENSITIVE: u16 = 6;
const DEST: u16 = 7;
const COVERT: u16 = 8;
const METADATA: u16 = 9;
const PRIVATE: u16 = 10;
const SSRF_TRICK: u16 = 11;
const DNS: u16 = 12;
const SUBST: u16 = 13;
const TRAVERSAL: u16 = 14;
const SENSITIVE_FILE: u16 = 15;

const WORDS: &[(u16, &[&str])] = &[
    (MD_IMAGE, &["*![*"]),
    (IMG_TAG, &["*<img*"]),
    (URL, &["*://*"]),
    (
        ENDPOINT,
        &[
            "*webhook.site*",
            "*requestbin*",
            "*pipedream.net*",
            "*hookbin.com*",
            "*beeceptor.com*",
            "*ngrok.io*",
            "*ngrok-free.app*",
            "*ngrok.app*",
            "*burpcollaborator.net*",
            "*oastify.com*",
            "*interact.sh*",
            "*interactsh*",
            "*canarytokens*",
            "*pastebin.com*",
            "*paste.ee*",
            "*hastebin*",
            "*ghostbin*",
            "*dpaste*",
            "*transfer.sh*",
            "*file.io*",
            "*0x0.st*",
            "*termbin.com*",
            "*ix.io*",
            "*sprunge.us*",
            "*requestcatcher.com*",
            "*hooks.zapier.com*",
            "*api.telegram.org/bot*",
            "*trycloudflare.com*",
            "*serveo.net*",
            "*loca.lt*",
            "*localtunnel.me*",
            "*postb.in*",
            "*mockbin*",
            "*putsreq.com*",
            "*ptsv2.com*",
            "*ptsv3.com*",
            "*dnslog.cn*",
            "*ceye.io*",
            "*bxss.me*",
            "*xss.ht*",
            "*oast.pro*",
            "*oast.fun*",
            "*oast.live*",
            "*oast.site*",
            "*oast.online*",
            "*oast.me*",
            "*requestrepo.com*",
            "*webhook.cool*",
            "*rbaskets.in*",
            "*temp-mail.org*",
            "*mailinator.com*",
            "*guerrillamail*",
            "*10minutemail*",
            "*yopmail*",
            "*sharklasers.com*",
            "*trashmail*",
            "*tempmail*",
            "*throwawaymail*",
            "*maildrop.cc*",
            "*dispostable.com*",
        ],
    ),
    (
        SEND,
        &[
            "send*",
            "post",
            "posting",
            "upload*",
            "forward*",
            "transmit*",
            "exfiltrat*",
            "leak",
            "submit",
            "deliver",
            "fetch",
            "fetch(",
            "curl",
            "wget",
            "trigger",
            "call",
            "beacon",
            "report back",
            "push",
            "sync",
            "share",
            "copy",
            "append",
            "attach",
            "redirect",
            "navigate",
        ],
    ),
    (
        SENSITIVE,
        &[
            "system prompt",
            "system message",
            "initial instructions",
            "conversation",
            "entire_conversation",
            "chat history",
            "chat transcript",
            "transcript",
            "message history",
            "context window",
            "api key",
            "api keys",
            "api_key",
            "apikeys",
            "credentials",
            "secrets",
            "passwords",
            "access token",
            "access tokens",
            "session token",
            "auth token",
            "cookies",
            "session cookie",
            "process.env",
            "environment variables",
            "env vars",
            "os.environ",
            "private key",
            "ssh key",
            "tool definitions",
            "configuration values",
            "user data",
            "personal data",
            "customer data",
            "private data",
            "$database_url",
            "database_url",
            "$api_secret",
            "api_secret",
            "/etc/passwd",
            "/etc/shadow",
            "system config",
            "systemconfig",
            "internal configuration",
        ],
    ),
    (
        DEST,
        &[
            "http://",
            "https://",
            "*@*",
            "webhook",
            "endpoint",
            "to this url",
            "to the url",
            "to the server",
            "callback url",
            "external server",
            "this address",
        ],
    ),
    (
        COVERT,
        &[
            "one character",
            "each character",
            "character at",
            "first letter of each",
            "first letters",
            "each letter",
            "acrostic",
            "spells out",
            "spell out",
            "word at",
            "at that position",
            "position in your",
            "encode",
            "embed",
            "steganograph*",
            "invisible",
            "zero-width",
            "zero width",
            "whitespace",
            "font color",
            "in binary",
            "morse",
            "hidden in",
            "hide",
            "as a query parameter",
            "in the url",
            "in the image url",
        ],
    ),
    (
        METADATA,
        &[
            "*169.254.169.254*",
            "*metadata.google.internal*",
            "*metadata.azure.com*",
            "*100.100.100.200*",
            "*fd00:ec2::254*",
            "*169.254.170.2*",
            "*/latest/meta-data*",
            "*/computemetadata/v1*",
            "*/metadata/instance*",
            "*/metadata/identity*",
            "*instance-data.ec2.internal*",
        ],
    ),
    (
        PRIVATE,
        &[
            "*://127.*",
            "*://localhost*",
            "*://0.0.0.0*",
            "*://10.*",
            "*://192.168.*",
            "*://172.*",
            "*://[::1]*",
            "*://[::]*",
            "*.internal/*",
            "*.local/*",
            "*.corp/*",
        ],
    ),
    (
        SSRF_TRICK,
        &[
            "*://[::ffff:*",
            "*://[0:0:0:0:0:ffff:*",
            "*://0x7f*",
            "*://2130706433*",
            "*://017700000001*",
            "*://0177.*",
            "*://127.1/*",
            "*://127.1:*",
            "*.nip.io*",
            "*.xip.io*",
            "*.sslip.io*",
            "*localtest.me*",
            "gopher://*",
            "dict://*",
            "*file:///etc*",
            "*file:///proc*",
            "*file://c:*",
            "jar:http*",
            "*://0/*",
        ],
    ),
    (
        DNS,
        &[
            "nslookup",
            "dig",
            "host -t",
            "dns query",
            "dns lookup",
            "dns request",
            "dns records",
            "dns resolution",
            "resolve these",
            "resolve the following",
        ],
    ),
    (SUBST, &["*$(*", "*${*"]),
    (
        TRAVERSAL,
        &[
            "*../*",
            "*..\\*",
            "*..%2f*",
            "*%2e%2e*",
            "*..%5c*",
            "*%252e%252e*",
            "*....//*",
            "*..;/*",
            "*.%2e/*",
            "*%c0%ae*",
        ],
    ),
    (
        SENSITIVE_FILE,
        &[
            "*/etc/passwd*",
            "*/etc/shadow*",
            "*/proc/self/environ*",
            "*/proc/self/cmdline*",
            "*/root/.ssh*",
            "*/.ssh/id_rsa*",
            "*/.ssh/id_ed25519*",
            "*.aws/credentials*",
            "*.docker/config.json*",
            "*.kube/config*",
            "*/var/run/secrets/kubernetes.io*",
            "*.git-credentials*",
            "*.netrc*",
            "*.pgpass*",
            "*wp-config.php*",
            "*windows\\system32\\config\\sam*",
            "*win.ini*",
            "*boot.ini*",
            "*/etc/ssh/*",
            "*.bash_history*",
        ],
    ),
];

/// Anchors whose rules need the context words (send verbs, destinations) around them.
pub fn wants_context(code: u16) -> bool {
    code == SENSITIVE
}

pub const SUB_TYPES: &[&str] = &[
    "markdown_image_exfil",
    "data_in_url",
    "exfil_endpoint",
    "exfil_instruction",
    "covert_channel",
    "cloud_metadata",
    "ssrf",
    "private_address",
    "dns_exfil",
    "path_traversal",
    "sensitive_file",
    "canary_token",
];

const SEQS: &[Seq] = &[
    Seq {
        rule: "exfil.send_secret_to",
        sub_type: "exfil_instruction",
        parts: &[&[SEND], &[SENSITIVE], &[DEST, ENDPOINT]],
        gap: 100,
        severity: Severity::High,
        confidence: 0.8,
    },
    Seq {
        rule: "exfil.send_to_secret",
        sub_type: "exfil_instruction",
        parts: &[&[SEND], &[DEST, ENDPOINT], &[SENSITIVE]],
        gap: 100,
        severity: Severity::High,
        confidence: 0.8,
    },
    Seq {
        rule: "exfil.secret_send_to",
        sub_type: "exfil_instruction",
        parts: &[&[SENSITIVE], &[SEND], &[DEST, ENDPOINT]],
        gap: 100,
        severity: Severity::High,
        confidence: 0.75,
    },
    Seq {
        rule: "exfil.covert_channel",
        sub_type: "covert_channel",
        parts: &[&[COVERT], &[SENSITIVE]],
        gap: 60,
        severity: Severity::Medium,
        confidence: 0.65,
    },
    Seq {
        rule: "exfil.traversal_sensitive",
        sub_type: "path_traversal",
        parts: &[&[TRAVERSAL], &[SENSITIVE_FILE]],
        gap: 40,
        severity: Severity::High,
        confidence: 0.85,
    },
];

/// Request paths and ports that make an internal address an attack target.
const SENSITIVE_INTERNAL: &[&str] = &[
    "admin", "internal", "config", "delete", "secret", "token", ":6379", ":2375", ":2379", ":9200",
    ":11211", ":8500", ":10250", ":5984", ":27017",
];

pub fn register(b: &mut KeywordSetBuilder) {
    for (code, specs) in WORDS {
        if matches!(*code, SEND | DEST | COVERT) {
            b.add_context(Owner::Exfiltration, *code, specs);
        } else {
            b.add_all(Owner::Exfiltration, *code, specs);
        }
    }
}

pub fn detect(v: &View<'_>, out: &mut Vec<Found>) {
    let hits: Vec<&Hit> = v.hits_of(Owner::Exfiltration).collect();
    if hits.is_empty() {
        return;
    }
    phrases::apply(KIND, &hits, SEQS, &[], out);
    let mut traversals = 0;
    for h in &hits {
        match h.code() {
            MD_IMAGE => markdown_image(v, h, out),
            IMG_TAG => img_tag(v, h, out),
            URL => url_with_data(v, h, out),
            ENDPOINT => out.push(endpoint(v, h)),
            METADATA => out.push(
                Found::new(
                    KIND,
                    "cloud_metadata",
                    Severity::High,
                    0.9,
                    "exfil.cloud_metadata",
                    h.span(),
                )
                .with_domain(h.span()),
            ),
            SSRF_TRICK => out.push(Found::new(
                KIND,
                "ssrf",
                Severity::Medium,
                0.7,
                "exfil.ssrf_encoding",
                h.span(),
            )),
            PRIVATE => private_address(v, h, out),
            DNS => dns_names(v, h, out),
            SUBST => substituted_host(v, h, out),
            TRAVERSAL => traversals += 1,
            SENSITIVE_FILE => out.push(Found::new(
                KIND,
                "sensitive_file",
                Severity::Low,
                0.4,
                "exfil.sensitive_file",
                h.span(),
            )),
            _ => {}
        }
    }
    if traversals >= 2 {
        if let Some(h) = hits.iter().find(|h| h.code() == TRAVERSAL) {
            out.push(Found::new(
                KIND,
                "path_traversal",
                Severity::Medium,
                0.65,
                "exfil.path_traversal",
                h.span(),
            ));
        }
    }
}

/// The URL starting at `at` in `text`: up to whitespace, a quote, `)` or `>`.
fn url_at(text: &str, at: usize) -> Range<usize> {
    let rest = text.get(at..).unwrap_or("");
    let len = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | '<' | '`'))
        .unwrap_or(rest.len())
        .min(4096);
    at..at + len
}

/// The host part of a URL.
fn host_of(url: &str, url_start: usize) -> Option<Range<usize>> {
    let scheme_end = url.find("://")? + 3;
    let rest = url.get(scheme_end..)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = authority.get(host_start..)?;
    let host_len = if host.starts_with('[') {
        host.find(']').map_or(host.len(), |i| i + 1)
    } else {
        host.find(':').unwrap_or(host.len())
    };
    let start = url_start + scheme_end + host_start;
    Some(start..start + host_len)
}

/// Whether a URL's query or path carries data: template placeholders or long encoded values.
fn carries_data(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let placeholder = ["${", "{{", "[insert", "<", "%7b%7b", "$("]
        .iter()
        .any(|p| url.to_ascii_lowercase().contains(p));
    let shouting = query.split('&').any(|kv| {
        let value = kv.split_once('=').map_or("", |(_, v)| v);
        value.len() >= 6
            && value.bytes().filter(u8::is_ascii_uppercase).count() * 2 > value.len()
            && value.contains('_')
    });
    let sensitive_name = query.split('&').any(|kv| {
        let name = kv
            .split_once('=')
            .map_or(kv, |(n, _)| n)
            .to_ascii_lowercase();
        [
            "data", "d", "q", "prompt", "secret", "token", "key", "conv", "history", "session",
            "msg", "system", "ctx", "payload", "leak",
        ]
        .contains(&name.as_str())
    });
    let long_value = query
        .split('&')
        .any(|kv| kv.split_once('=').is_some_and(|(_, v)| v.len() >= 40));
    placeholder || shouting || long_value || (sensitive_name && !query.is_empty())
}

fn markdown_image(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let rest = v.text.get(h.start..).unwrap_or("");
    let Some(close) = rest.get(..rest.len().min(300)).and_then(|r| r.find("](")) else {
        return;
    };
    let mut url_start = h.start + close + 2;
    url_start += v
        .text
        .get(url_start..)
        .map_or(0, |r| r.len() - r.trim_start().len());
    let url = url_at(v.text, url_start);
    let text = v.text.get(url.clone()).unwrap_or("");
    if !text.starts_with("http") {
        return;
    }
    let has_query = text.contains('?') || carries_data(text);
    let severity = if carries_data(text) {
        Severity::High
    } else if has_query {
        Severity::Medium
    } else {
        return;
    };
    let mut f = Found::new(
        KIND,
        "markdown_image_exfil",
        severity,
        0.8,
        "exfil.markdown_image",
        h.start..url.end,
    );
    if let Some(host) = host_of(text, url.start) {
        f = f.with_domain(host);
    }
    out.push(f);
}

fn img_tag(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let rest = v.text.get(h.start..).unwrap_or("");
    let scope = rest.get(..rest.len().min(300)).unwrap_or(rest);
    let Some(src) = scope.find("src=") else {
        return;
    };
    let mut url_start = h.start + src + 4;
    if let Some(q) = v.text.get(url_start..).and_then(|r| r.chars().next()) {
        if q == '"' || q == '\'' {
            url_start += 1;
        }
    }
    let url = url_at(v.text, url_start);
    let text = v.text.get(url.clone()).unwrap_or("");
    if text.starts_with("http") && carries_data(text) {
        let mut f = Found::new(
            KIND,
            "markdown_image_exfil",
            Severity::Medium,
            0.7,
            "exfil.img_tag",
            h.start..url.end,
        );
        if let Some(host) = host_of(text, url.start) {
            f = f.with_domain(host);
        }
        out.push(f);
    }
}

/// Any URL whose query holds template placeholders for data (`?data={{history}}`).
fn url_with_data(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let before = v.text.get(..h.start).unwrap_or("");
    let scheme_len = before
        .bytes()
        .rev()
        .take_while(u8::is_ascii_alphabetic)
        .count();
    let start = h.start - scheme_len;
    let url = url_at(v.text, start);
    let text = v.text.get(url.clone()).unwrap_or("");
    let query = text.split_once('?').map_or("", |(_, q)| q);
    let lower = query.to_ascii_lowercase();
    let templated = ["${", "{{", "[insert", "%7b%7b", "$("]
        .iter()
        .any(|p| lower.contains(p));
    let shouting = query.split('&').any(|kv| {
        let value = kv.split_once('=').map_or("", |(_, v)| v);
        value.len() >= 8
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
            && value.contains('_')
    });
    if templated || shouting {
        let mut f = Found::new(
            KIND,
            "data_in_url",
            Severity::High,
            0.75,
            "exfil.url_placeholder",
            url.clone(),
        );
        if let Some(host) = host_of(text, url.start) {
            f = f.with_domain(host);
        }
        out.push(f);
    }
}

fn endpoint(v: &View<'_>, h: &Hit) -> Found {
    // Widen to the whole host name for the allow-list.
    let before = v.text.get(..h.start).unwrap_or("");
    let back = before
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        .count();
    let after = v.text.get(h.end..).unwrap_or("");
    let fwd = after
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        .count();
    let host = h.start - back..h.end + fwd;
    Found::new(
        KIND,
        "exfil_endpoint",
        Severity::Medium,
        0.7,
        "exfil.endpoint",
        h.span(),
    )
    .with_domain(host)
}

fn private_address(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let url = url_at(v.text, h.start);
    let text = v.text.get(url.clone()).unwrap_or("").to_ascii_lowercase();
    if text.starts_with("://172.") {
        let second: u32 = text
            .get(7..)
            .and_then(|r| r.split('.').next())
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        if !(16..=31).contains(&second) {
            return;
        }
    }
    let sensitive = SENSITIVE_INTERNAL.iter().any(|s| text.contains(s));
    let (severity, confidence) = if sensitive {
        (Severity::Medium, 0.6)
    } else {
        (Severity::Low, 0.4)
    };
    out.push(Found::new(
        KIND,
        "private_address",
        severity,
        confidence,
        "exfil.private_address",
        url,
    ));
}

/// Host names near a DNS verb that carry data: command substitution, long encoded labels, or
/// labels named like chunks of a payload.
fn dns_names(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let (window, offset) = v.window(h.span(), 0, 240);
    for word in window.split(|c: char| c.is_whitespace() || c == ',') {
        let labels: Vec<&str> = word
            .trim_matches(|c: char| !c.is_alphanumeric())
            .split('.')
            .collect();
        if labels.len() < 3 {
            continue;
        }
        let data_label = labels.iter().take(labels.len() - 2).any(|l| {
            let lower = l.to_ascii_lowercase();
            (l.len() >= 24 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
                || ["chunk", "exfil", "leak", "b64", "payload", "dump"]
                    .iter()
                    .any(|w| lower.contains(w))
                || l.contains("$(")
                || l.contains("${")
        });
        if data_label {
            let rel = word.as_ptr() as usize - window.as_ptr() as usize;
            let start = offset + rel;
            out.push(Found::new(
                KIND,
                "dns_exfil",
                Severity::High,
                0.75,
                "exfil.dns_labels",
                start..start + word.len(),
            ));
            return;
        }
    }
}

/// `$(…).host.tld` or `${…}.host.tld`: a command or template expanded into a host name.
fn substituted_host(v: &View<'_>, h: &Hit, out: &mut Vec<Found>) {
    let rest = v.text.get(h.start..).unwrap_or("");
    let bytes = rest.as_bytes();
    let (open, close) = match bytes.get(1) {
        Some(b'(') => (b'(', b')'),
        _ => (b'{', b'}'),
    };
    let mut depth = 0i32;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate().skip(1).take(300) {
        if b == open {
            depth += 1;
        } else if b == close {
            depth -= 1;
            if depth == 0 {
                end = Some(i + 1);
                break;
            }
        }
    }
    let Some(end) = end else {
        return;
    };
    let after = rest.get(end..).unwrap_or("");
    let Some(domain) = after.strip_prefix('.') else {
        return;
    };
    let labels: Vec<&str> = domain
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .next()
        .unwrap_or("")
        .split('.')
        .filter(|l| !l.is_empty())
        .collect();
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()));
    if labels.len() >= 2 && tld_ok {
        let host_len = labels.iter().map(|l| l.len() + 1).sum::<usize>();
        out.push(Found::new(
            KIND,
            "dns_exfil",
            Severity::High,
            0.85,
            "exfil.substituted_host",
            h.start..h.start + end + host_len,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        let text = "see https://user:pw@Example.com:8080/p?q=1 now";
        let url = url_at(text, 4);
        assert_eq!(&text[url.clone()], "https://user:pw@Example.com:8080/p?q=1");
        let host = host_of(&text[url.clone()], url.start).unwrap();
        assert_eq!(&text[host], "Example.com");
    }

    #[test]
    fn data_carrying_queries() {
        assert!(carries_data("https://x.example/p.gif?d=${secret}"));
        assert!(carries_data(
            "https://x.example/p.gif?ctx=SYSTEM_PROMPT_HASH"
        ));
        assert!(!carries_data("https://x.example/logo.png"));
        assert!(!carries_data("https://x.example/search?page=2"));
    }
}
