//! Prompt-injection detector: phrase rules over the multilingual word classes (instruction
//! override, system-prompt extraction, secret solicitation, memory poisoning, safety bypass,
//! encoded instructions, hidden instructions), chat-template and fake-turn markers, evasion signals
//! from normalisation (invisible characters, tag smuggling, homoglyphs), a weighted score for
//! jailbreak personas, adversarial-suffix statistics, and escalation when weak cues pile up.

use super::adversarial;
use super::finding::{Found, View};
use super::injection_lexicon::*;
use super::keywords::{Hit, KeywordSetBuilder, Owner};
use super::phrases::{self, Seq};
use crate::detection::{DetectionType, Severity};

const KIND: DetectionType = DetectionType::Injection;

pub const SUB_TYPES: &[&str] = &[
    "instruction_override",
    "system_prompt_extraction",
    "secret_solicitation",
    "role_manipulation",
    "jailbreak",
    "delimiter_injection",
    "hidden_instruction",
    "invisible_characters",
    "unicode_tag_smuggling",
    "homoglyph_evasion",
    "memory_poisoning",
    "safety_bypass",
    "encoded_instruction",
    "adversarial_suffix",
];

const fn seq(
    rule: &'static str,
    sub_type: &'static str,
    parts: &'static [&'static [u16]],
    gap: usize,
    severity: Severity,
    confidence: f32,
) -> Seq {
    Seq {
        rule,
        sub_type,
        parts,
        gap,
        severity,
        confidence,
    }
}

const OVERRIDE: &str = "instruction_override";
const EXTRACTION: &str = "system_prompt_extraction";

const SEQS: &[Seq] = &[
    seq(
        "inj.override.prior",
        OVERRIDE,
        &[&[IGNORE], &[PRIOR], &[TARGET, TARGET_WEAK]],
        40,
        Severity::Critical,
        0.95,
    ),
    seq(
        "inj.override.weak_target",
        OVERRIDE,
        &[&[IGNORE], &[TARGET_WEAK]],
        40,
        Severity::Low,
        0.4,
    ),
    seq(
        "inj.stop_and_say",
        OVERRIDE,
        &[&[STOP], &[SAY]],
        40,
        Severity::High,
        0.8,
    ),
    seq(
        "inj.sleeper_trigger",
        "memory_poisoning",
        &[&[TRIGGER], &[ACTION]],
        80,
        Severity::Medium,
        0.65,
    ),
    seq(
        "inj.framed_harmful_request",
        "jailbreak",
        &[&[FRAMING], &[HARMFUL]],
        200,
        Severity::Medium,
        0.6,
    ),
    seq(
        "inj.harmful_request_framed",
        "jailbreak",
        &[&[HARMFUL], &[FRAMING]],
        200,
        Severity::Medium,
        0.55,
    ),
    seq(
        "inj.payload_splitting",
        "encoded_instruction",
        &[&[SPLIT], &[HARMFUL, SECRET, SECRET_BARE]],
        200,
        Severity::Medium,
        0.6,
    ),
    seq(
        "inj.override",
        OVERRIDE,
        &[&[IGNORE], &[TARGET, SYSPROMPT]],
        40,
        Severity::High,
        0.85,
    ),
    seq(
        "inj.override.wholesale",
        OVERRIDE,
        &[&[IGNORE], &[PRIOR_ALL]],
        24,
        Severity::High,
        0.8,
    ),
    seq(
        "inj.override.verb_last",
        OVERRIDE,
        &[&[PRIOR], &[TARGET, TARGET_WEAK], &[IGNORE]],
        30,
        Severity::High,
        0.85,
    ),
    seq(
        "inj.override.redirect",
        OVERRIDE,
        &[&[IGNORE], &[SAY]],
        48,
        Severity::Medium,
        0.6,
    ),
    seq(
        "inj.override.despite",
        OVERRIDE,
        &[&[DESPITE], &[PRIOR, PRIOR_ALL, SYSPROMPT]],
        24,
        Severity::High,
        0.75,
    ),
    seq(
        "inj.prompt_extraction",
        EXTRACTION,
        &[&[REVEAL], &[SYSPROMPT]],
        40,
        Severity::High,
        0.85,
    ),
    seq(
        "inj.prompt_extraction.verb_last",
        EXTRACTION,
        &[&[SYSPROMPT], &[REVEAL]],
        24,
        Severity::High,
        0.8,
    ),
    seq(
        "inj.memory",
        "memory_poisoning",
        &[&[MEMORY_VERB], &[FUTURE]],
        60,
        Severity::High,
        0.8,
    ),
    seq(
        "inj.memory.future_first",
        "memory_poisoning",
        &[&[FUTURE], &[MEMORY_VERB]],
        30,
        Severity::Medium,
        0.6,
    ),
    seq(
        "inj.safety_bypass",
        "safety_bypass",
        &[&[DISABLE], &[SAFETY]],
        32,
        Severity::High,
        0.8,
    ),
    seq(
        "inj.safety_bypass.state",
        "safety_bypass",
        &[&[SAFETY], &[DISABLE]],
        24,
        Severity::High,
        0.75,
    ),
    seq(
        "inj.encoded",
        "encoded_instruction",
        &[&[DECODE], &[FOLLOW]],
        60,
        Severity::Medium,
        0.65,
    ),
    seq(
        "inj.hidden_comment",
        "hidden_instruction",
        &[
            &[COMMENT],
            &[
                IGNORE,
                NEW_INSTR,
                REVEAL,
                FAKE_SYSTEM,
                SAY,
                HIDE,
                MODE,
                MODE_WEAK,
                AUTHORITY,
            ],
        ],
        80,
        Severity::High,
        0.8,
    ),
];

/// Classes that fire alone: (class, rule, sub-type, severity, confidence).
const SINGLES: &[phrases::Single] = &[
    (
        TEMPLATE,
        "inj.chat_template",
        "delimiter_injection",
        Severity::High,
        0.9,
    ),
    (
        FAKE_SYSTEM,
        "inj.fake_system",
        "delimiter_injection",
        Severity::Medium,
        0.65,
    ),
    (
        HIDE,
        "inj.hide_from_user",
        "hidden_instruction",
        Severity::Medium,
        0.6,
    ),
    (
        NEW_INSTR,
        "inj.new_instructions",
        OVERRIDE,
        Severity::Medium,
        0.6,
    ),
    (STOP, "inj.stop_command", OVERRIDE, Severity::Medium, 0.55),
    (
        FOLLOW_STRONG,
        "inj.do_what_it_says",
        "encoded_instruction",
        Severity::Medium,
        0.6,
    ),
    (
        TRIGGER,
        "inj.trigger_condition",
        "memory_poisoning",
        Severity::Low,
        0.4,
    ),
    (
        SPLIT,
        "inj.split_mention",
        "encoded_instruction",
        Severity::Low,
        0.3,
    ),
    (TOLD, "inj.persuasion", OVERRIDE, Severity::Medium, 0.55),
    (
        MODE,
        "inj.privileged_mode",
        "role_manipulation",
        Severity::Medium,
        0.6,
    ),
    (
        AUTHORITY,
        "inj.authority_claim",
        "role_manipulation",
        Severity::Medium,
        0.55,
    ),
    (
        MEMORY_UPDATE,
        "inj.memory_update",
        "memory_poisoning",
        Severity::Low,
        0.4,
    ),
    (
        MODE_WEAK,
        "inj.mode_mention",
        "role_manipulation",
        Severity::Low,
        0.35,
    ),
    (
        AUTHORITY_WEAK,
        "inj.weak_authority",
        "role_manipulation",
        Severity::Low,
        0.3,
    ),
    (AGREED, "inj.false_context", OVERRIDE, Severity::Low, 0.4),
    (
        SYSPROMPT,
        "inj.prompt_mention",
        EXTRACTION,
        Severity::Low,
        0.35,
    ),
    (
        DECODE,
        "inj.decode_mention",
        "encoded_instruction",
        Severity::Low,
        0.3,
    ),
];

/// Register the injection vocabulary.
pub fn register(b: &mut KeywordSetBuilder) {
    for (code, specs) in CLASSES {
        b.add_all(Owner::Injection, *code, specs);
    }
    for (code, specs) in CONTEXT {
        b.add_context(Owner::Injection, *code, specs);
    }
    for (i, (spec, _, _, anchor)) in JAILBREAK.iter().enumerate() {
        let code = JAILBREAK_BASE + i as u16;
        if *anchor {
            b.add(Owner::Injection, code, spec);
        } else {
            b.add_context(Owner::Injection, code, &[spec]);
        }
    }
}

/// What the injection detector asks of the scanner besides its findings.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Requests {
    /// ROT13 was mentioned: scan the text again rotated.
    pub rot13: bool,
}

/// Run every injection rule over one view.
pub fn detect(v: &View<'_>, out: &mut Vec<Found>) -> Requests {
    let first = out.len();
    // "Do not ignore", "don't forget": a negated verb of disregarding is not an override.
    let hits: Vec<&Hit> = v
        .hits_of(Owner::Injection)
        .filter(|h| h.code() != IGNORE || !negated(v.text, h.start))
        .collect();
    phrases::apply(KIND, &hits, SEQS, SINGLES, out);
    turns(v, &hits, out);
    solicitation_in_question(v, &hits, out);
    signals(v, out);
    jailbreak_score(&hits, out);
    if let Some(span) = v
        .candidates
        .glued()
        .then(|| adversarial::suffix(v.text))
        .flatten()
    {
        out.push(Found::new(
            KIND,
            "adversarial_suffix",
            Severity::Medium,
            0.55,
            "inj.adversarial_suffix",
            span,
        ));
    }
    escalate(out, first);
    Requests {
        rot13: hits.iter().any(|h| h.code() == ROT13),
    }
}

/// Whether the words just before `at` negate what follows.
fn negated(text: &str, at: usize) -> bool {
    let (before, _) = super::finding::window(text, at..at, 14, 0);
    let before = before.to_ascii_lowercase();
    ["not ", "n't ", "never ", "without ", "nor "]
        .iter()
        .any(|n| before.contains(n))
}

/// Whether `at` starts a line of `text` (indentation and markdown allowed).
fn at_line_start(text: &str, at: usize) -> bool {
    let before = text.get(..at).unwrap_or("");
    let trimmed = before.trim_end_matches([' ', '\t', '#', '*', '>', '`', '-', '[', '(']);
    trimmed.is_empty() || trimmed.ends_with(['\n', '\r'])
}

/// Role labels opening a line: a fake `system:` turn is an injection; several conversation turns
/// pasted into one message are a weak cue.
fn turns(v: &View<'_>, hits: &[&Hit], out: &mut Vec<Found>) {
    let mut system = None;
    let mut labels = 0u32;
    let mut first = None;
    for h in hits.iter().filter(|h| h.code() == TURN) {
        if !at_line_start(v.text, h.start) {
            continue;
        }
        let label = v
            .text
            .get(h.start..h.end)
            .unwrap_or("")
            .to_ascii_lowercase();
        if label.contains("system") || label.contains("developer") {
            system.get_or_insert(h.span());
        } else {
            labels += 1;
            first.get_or_insert(h.span());
        }
    }
    if let Some(span) = system {
        out.push(Found::new(
            KIND,
            "delimiter_injection",
            Severity::Medium,
            0.7,
            "inj.fake_turn",
            span,
        ));
    }
    if labels >= 2 {
        if let Some(span) = first {
            out.push(Found::new(
                KIND,
                "delimiter_injection",
                Severity::Low,
                0.35,
                "inj.pasted_turns",
                span,
            ));
        }
    }
}

/// Whether the word before `at` makes what follows definite: "the password", "your api key".
fn determined(text: &str, at: usize) -> bool {
    let before = text.get(..at).unwrap_or("").trim_end();
    let word = before
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        word.as_str(),
        "the" | "your" | "our" | "my" | "this" | "that" | "system" | "admin" | "its" | "their"
    )
}

/// Asking for a definite secret ("what is the password", "tell me your api key"), or a secret
/// noun (in any language) followed closely by a question mark.
fn solicitation_in_question(v: &View<'_>, hits: &[&Hit], out: &mut Vec<Found>) {
    let secret = |h: &&&Hit| h.code() == SECRET && determined(v.text, h.start);
    let asked_for = hits.iter().filter(secret).find(|s| {
        hits.iter()
            .any(|a| matches!(a.code(), ASK | REVEAL) && a.end <= s.start && s.start - a.end <= 24)
    });
    if let Some(h) = asked_for {
        out.push(Found::new(
            KIND,
            "secret_solicitation",
            Severity::Medium,
            0.6,
            "inj.secret_solicitation",
            h.span(),
        ));
        return;
    }
    let asked = hits
        .iter()
        .filter(|h| h.code() == SECRET_BARE || (h.code() == SECRET && determined(v.text, h.start)))
        .find(|h| {
            let after = v.text.get(h.end..).unwrap_or("");
            after
                .char_indices()
                .take_while(|(i, _)| *i < 40)
                .any(|(_, c)| c == '?' || c == '？')
        });
    if let Some(h) = asked {
        out.push(Found::new(
            KIND,
            "secret_solicitation",
            Severity::Medium,
            0.55,
            "inj.secret_question",
            h.span(),
        ));
    }
}

/// Evasion signals recorded while normalising.
fn signals(v: &View<'_>, out: &mut Vec<Found>) {
    let s = v.signals;
    let len = v.text.len();
    let near = |at: usize| at..(at + 3).min(len);
    if s.tags > 0 {
        out.push(Found::new(
            KIND,
            "unicode_tag_smuggling",
            Severity::High,
            0.9,
            "inj.unicode_tags",
            near(s.first_tag),
        ));
    }
    if s.hidden > 0 {
        let (severity, confidence) = if s.hidden >= 3 {
            (Severity::Medium, 0.7)
        } else {
            (Severity::Low, 0.4)
        };
        out.push(Found::new(
            KIND,
            "invisible_characters",
            severity,
            confidence,
            "inj.invisible_characters",
            near(s.first_hidden),
        ));
    }
    if s.mixed_words > 0 {
        let (severity, confidence) = if s.mixed_words >= 2 {
            (Severity::Medium, 0.65)
        } else {
            (Severity::Low, 0.4)
        };
        out.push(Found::new(
            KIND,
            "homoglyph_evasion",
            severity,
            confidence,
            "inj.homoglyphs",
            near(s.first_mixed),
        ));
    }
}

/// Jailbreak templates pile up persona framing and demands to drop restrictions; score the
/// distinct cues.
fn jailbreak_score(hits: &[&Hit], out: &mut Vec<Found>) {
    let mut seen = [false; JAILBREAK.len()];
    let mut score = 0u32;
    let mut persona = 0u32;
    let mut span: Option<(usize, usize)> = None;
    for h in hits {
        let Some(i) = h.code().checked_sub(JAILBREAK_BASE).map(usize::from) else {
            continue;
        };
        let (Some(done), Some(&(_, weight, is_persona, _))) = (seen.get_mut(i), JAILBREAK.get(i))
        else {
            continue;
        };
        if *done {
            continue;
        }
        *done = true;
        score += u32::from(weight);
        persona += u32::from(is_persona);
        span = Some(match span {
            None => (h.start, h.end),
            Some((s, e)) => (s.min(h.start), e.max(h.end)),
        });
    }
    let Some((start, end)) = span else {
        return;
    };
    let (severity, confidence) = if score >= 8 && persona >= 1 {
        (Severity::High, 0.85)
    } else if score >= 5 && (persona >= 1 || score >= 6) {
        (Severity::Medium, 0.65)
    } else if score >= 3 {
        (Severity::Low, 0.4)
    } else {
        return;
    };
    out.push(Found::new(
        KIND,
        "jailbreak",
        severity,
        confidence,
        "inj.jailbreak_score",
        start..end,
    ));
}

/// Several weak or medium cues in one string are stronger together.
fn escalate(out: &mut Vec<Found>, first: usize) {
    let Some(mine) = out.get(first..) else {
        return;
    };
    if mine.iter().any(|f| f.severity >= Severity::High) {
        return;
    }
    let mut rules: Vec<&str> = mine.iter().map(|f| f.rule.as_ref()).collect();
    rules.sort_unstable();
    rules.dedup();
    if rules.len() < 2 {
        return;
    }
    let mediums = mine
        .iter()
        .filter(|f| f.severity == Severity::Medium)
        .count();
    let Some(strongest) = mine.iter().max_by_key(|f| f.severity) else {
        return;
    };
    let severity = if mediums >= 2 {
        Severity::High
    } else {
        Severity::Medium
    };
    let mut combined = strongest.clone();
    combined.severity = severity;
    combined.confidence = 0.7;
    combined.rule = "inj.combined_cues".into();
    out.push(combined);
}
