//! Dangerous-code detector, mainly for tool-call arguments: destructive shell commands (checked
//! for a root-level target), reverse shells, download-and-execute (`curl … | sh`), privilege
//! escalation, SQL and command injection payloads, and dangerous evaluation / deserialisation /
//! prototype pollution when fed untrusted input.

use regex_lite::Regex;

const KIND: DetectionType = DetectionType::CodeSafety;

use super::finding::{Found, View};
use super::keywords::{Hit, KeywordSetBuilder, Owner};
use super::phrases::{self, Seq};
use crate::config::ConfigError;
use crate::detection::{DetectionType, Severity};

const RM: u16 = 1;
const DESTRUCTIVE: u16 = 2;
const REVERSE_SHELL: u16 = 3;
const DOWNLOADER: u16 = 4;
const PIPE_SHELL: u16 = 5;
const INLINE_FETCH: u16 = 6;
const CHMOD_X: u16 = 7;
const PRIV_ESC: u16 = 8;
const EVAL: u16 = 9;
const DESERIALIZE: u16 = 10;
const PROTOTYPE: u16 = 11;
const UNTRUSTED: u16 = 12;
const SQLI: u16 = 13;
const CMD_INJECTION: u16 = 14;
const DESTRUCTIVE_SOFT: u16 = 15;

const WORDS: &[(u16, &[&str])] = &[
    (
        RM,
        &[
            "rm -rf",
            "rm -fr",
            "rm -r -f",
            "rm -f -r",
            "rm --recursive",
            "rm -r",
        ],
    ),
    (
        DESTRUCTIVE,
        &[
            "*--no-preserve-root*",
            "mkfs*",
            "*dd if=/dev/zero of=/dev/*",
            "*dd if=/dev/urandom of=/dev/*",
            "*dd if=/dev/random of=/dev/*",
            "*of=/dev/sd*",
            "*of=/dev/nvme*",
            "*> /dev/sda*",
            "*:(){ :|:& };:*",
            "*:(){:|:&};:*",
            "chmod -r 777 /",
            "chmod -r 000 /",
            "shred -*",
            "wipefs*",
            "format c:",
            "del /f /s /q c:",
            "rd /s /q c:",
            "rmdir /s /q c:",
            "drop database",
            "crontab -r",
            "rm -rf $home",
            "rm -rf \"$home\"",
            "terraform destroy -auto-approve",
            "kubectl delete namespace",
            "kubectl delete --all",
            "docker system prune -af",
            "git push --force origin main",
            "git push -f origin main",
        ],
    ),
    (
        DESTRUCTIVE_SOFT,
        &[
            "drop table",
            "truncate table",
            "git reset --hard",
            "git clean -fdx",
            "terraform destroy",
        ],
    ),
    (
        REVERSE_SHELL,
        &[
            "*/dev/tcp/*",
            "*/dev/udp/*",
            "bash -i >&",
            "sh -i >&",
            "bash -i >",
            "nc -e",
            "ncat -e",
            "netcat -e",
            "nc -c",
            "nc.traditional -e",
            "socat exec:",
            "socat tcp:",
            "socat tcp-connect",
            "*0<&196*",
            "pty.spawn(",
            "os.dup2(",
            "mkfifo /tmp/",
            "powershell -nop",
            "*net.sockets.tcpclient*",
            "fsockopen(",
            "ruby -rsocket",
            "perl -e 'use socket",
            "perl -msocket",
            "tcpsocket.new",
            "/bin/sh -i",
            "/bin/bash -i",
            "socket.socket(socket.af_inet",
        ],
    ),
    (
        DOWNLOADER,
        &[
            "curl",
            "wget",
            "fetch",
            "iwr",
            "invoke-webrequest",
            "irm",
            "invoke-restmethod",
            "certutil -urlcache",
            "bitsadmin /transfer",
            "downloadstring(",
            "downloadfile(",
        ],
    ),
    (
        PIPE_SHELL,
        &[
            "*| sh*",
            "*|sh*",
            "*| bash*",
            "*|bash*",
            "*| sudo sh*",
            "*| sudo bash*",
            "*| zsh*",
            "*| sudo -e bash*",
            "*| python*",
            "*|python*",
            "*| perl*",
            "*| iex*",
            "*|iex*",
            "*| invoke-expression*",
        ],
    ),
    (
        INLINE_FETCH,
        &[
            "*$(curl*",
            "*$(wget*",
            "*`curl*",
            "*`wget*",
            "*bash <(curl*",
            "*sh <(curl*",
            "*bash <(wget*",
            "*iex (new-object*",
            "*iex(new-object*",
            "*iex (iwr*",
            "*iex(iwr*",
            "*iex (irm*",
            "*iex(irm*",
            "*invoke-expression (new-object*",
        ],
    ),
    (
        CHMOD_X,
        &[
            "chmod +x",
            "chmod 755",
            "chmod 777",
            "chmod a+x",
            "chmod u+x",
        ],
    ),
    (
        PRIV_ESC,
        &[
            "sudo su",
            "sudo -i",
            "sudo -s",
            "sudo bash",
            "sudo sh",
            "chmod u+s",
            "chmod +s",
            "chmod 4755",
            "chmod 4777",
            "*/etc/sudoers*",
            "nopasswd",
            "usermod -ag sudo",
            "usermod -ag wheel",
            "visudo",
            "passwd root",
            "*>> /etc/passwd*",
            "*> /etc/passwd*",
            "--privileged",
            "nsenter --target 1",
            "nsenter -t 1",
            "chroot /host",
            "pkexec",
            "setuid(0)",
            "cap_setuid",
            "*/var/run/docker.sock*",
            "-v /:/host",
            "-v /:/mnt",
        ],
    ),
    (
        EVAL,
        &[
            "eval(",
            "exec(",
            "os.system(",
            "os.popen(",
            "subprocess.popen(",
            "subprocess.call(",
            "subprocess.run(",
            "subprocess.check_output(",
            "shell=true",
            "child_process",
            "execsync(",
            "*.exec(*",
            "runtime.getruntime().exec",
            "processbuilder(",
            "system(",
            "popen(",
            "__import__(",
            "new function(",
            "vm.runinnewcontext",
            "vm.runincontext",
            "spawn(",
        ],
    ),
    (
        DESERIALIZE,
        &[
            "pickle.loads",
            "pickle.load(",
            "cpickle.loads",
            "yaml.load(",
            "yaml.unsafe_load",
            "marshal.loads",
            "jsonpickle.decode",
            "objectinputstream",
            "readobject(",
            "unserialize(",
            "deserialize(",
            "*_$$nd_func$$_*",
            "binaryformatter",
            "xmldecoder",
            "node-serialize",
            "shelve.open(",
        ],
    ),
    (
        PROTOTYPE,
        &[
            "*__proto__*",
            "constructor.prototype",
            "*\"constructor\": {\"prototype\"*",
            "*\"constructor\":{\"prototype\"*",
        ],
    ),
    (
        UNTRUSTED,
        &[
            "req.*",
            "request.*",
            "user_input",
            "userinput",
            "user input",
            "params",
            "argv",
            "input(",
            "*${*",
            "f'",
            "f\"",
            "untrusted",
            "attacker",
            "payload",
            "user_supplied",
            "user-supplied",
            "from the user",
            "query",
            "usermessage",
            "user_message",
            "getparameter(",
            "getinputstream(",
            "$_get",
            "$_post",
            "$_request",
        ],
    ),
    (
        SQLI,
        &[
            "*' or '1'='1*",
            "*' or 1=1*",
            "*\" or \"1\"=\"1*",
            "*or 1=1--*",
            "*' or ''='*",
            "*' or 'a'='a*",
            "union select",
            "union all select",
            "*/**/union/**/*",
            "*union/**/select*",
            "*'; drop table*",
            "*\"; drop table*",
            "*'); drop table*",
            "*; drop table*",
            "information_schema",
            "xp_cmdshell",
            "waitfor delay",
            "pg_sleep(",
            "benchmark(",
            "load_file(",
            "into outfile",
            "*admin'--*",
            "*admin' --*",
            "*' and '1'='1*",
            "*and 1=1--*",
            "*sleep(5)*",
        ],
    ),
    (
        CMD_INJECTION,
        &[
            "*; cat /etc/*",
            "*&& cat /etc/*",
            "*| cat /etc/*",
            "*$(whoami)*",
            "*`whoami`*",
            "*; whoami*",
            "*&& whoami*",
            "*; id;*",
            "*$(id)*",
            "*; curl *",
            "*&& curl *",
            "*; wget *",
            "*&& wget *",
            "*; nc *",
            "*| nc *",
            "*&& nc *",
            "*$(hostname)*",
            "*; uname -a*",
            "*;ls -la*",
            "*; ls -la*",
        ],
    ),
];

/// Anchors whose rules need the context words (downloaders, untrusted input) around them.
pub fn wants_context(code: u16) -> bool {
    matches!(code, PIPE_SHELL | CHMOD_X | EVAL | DESERIALIZE)
}

pub const SUB_TYPES: &[&str] = &[
    "destructive_command",
    "reverse_shell",
    "remote_code_execution",
    "privilege_escalation",
    "dangerous_eval",
    "unsafe_deserialization",
    "prototype_pollution",
    "sql_injection",
    "command_injection",
];

const SEQS: &[Seq] = &[
    Seq {
        rule: "code.download_pipe_shell",
        sub_type: "remote_code_execution",
        parts: &[&[DOWNLOADER], &[PIPE_SHELL]],
        gap: 240,
        severity: Severity::High,
        confidence: 0.9,
    },
    Seq {
        rule: "code.download_chmod_exec",
        sub_type: "remote_code_execution",
        parts: &[&[DOWNLOADER], &[CHMOD_X]],
        gap: 240,
        severity: Severity::High,
        confidence: 0.8,
    },
    Seq {
        rule: "code.eval_untrusted",
        sub_type: "dangerous_eval",
        parts: &[&[EVAL], &[UNTRUSTED]],
        gap: 80,
        severity: Severity::Medium,
        confidence: 0.65,
    },
    Seq {
        rule: "code.untrusted_eval",
        sub_type: "dangerous_eval",
        parts: &[&[UNTRUSTED], &[EVAL]],
        gap: 80,
        severity: Severity::Medium,
        confidence: 0.6,
    },
    Seq {
        rule: "code.deserialize_untrusted",
        sub_type: "unsafe_deserialization",
        parts: &[&[DESERIALIZE], &[UNTRUSTED]],
        gap: 80,
        severity: Severity::High,
        confidence: 0.75,
    },
    Seq {
        rule: "code.untrusted_deserialize",
        sub_type: "unsafe_deserialization",
        parts: &[&[UNTRUSTED], &[DESERIALIZE]],
        gap: 80,
        severity: Severity::High,
        confidence: 0.7,
    },
];

const SINGLES: &[phrases::Single] = &[
    (
        DESTRUCTIVE,
        "code.destructive",
        "destructive_command",
        Severity::Critical,
        0.85,
    ),
    (
        DESTRUCTIVE_SOFT,
        "code.destructive_soft",
        "destructive_command",
        Severity::Medium,
        0.5,
    ),
    (
        REVERSE_SHELL,
        "code.reverse_shell",
        "reverse_shell",
        Severity::High,
        0.85,
    ),
    (
        INLINE_FETCH,
        "code.inline_fetch",
        "remote_code_execution",
        Severity::High,
        0.85,
    ),
    (
        PRIV_ESC,
        "code.privilege_escalation",
        "privilege_escalation",
        Severity::Medium,
        0.6,
    ),
    (
        PROTOTYPE,
        "code.prototype_pollution",
        "prototype_pollution",
        Severity::Medium,
        0.65,
    ),
    (
        SQLI,
        "code.sql_injection",
        "sql_injection",
        Severity::High,
        0.75,
    ),
    (
        CMD_INJECTION,
        "code.command_injection",
        "command_injection",
        Severity::High,
        0.75,
    ),
    (
        EVAL,
        "code.eval_mention",
        "dangerous_eval",
        Severity::Low,
        0.3,
    ),
    (
        DESERIALIZE,
        "code.deserialize_mention",
        "unsafe_deserialization",
        Severity::Low,
        0.35,
    ),
];

pub struct CodeSafety {
    rm_target: Regex,
}

impl std::fmt::Debug for CodeSafety {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeSafety")
    }
}

impl CodeSafety {
    pub fn new() -> Result<CodeSafety, ConfigError> {
        let rm_target = Regex::new(
            r#"^rm\s+(?:-{1,2}[A-Za-z\-]+\s+)*(?:/\*?|~/?|\*|\$HOME/?|"\$HOME"|/(?:etc|usr|var|home|boot|bin|sbin|lib|lib64|root|opt|srv|dev|sys|proc)/?)(?:\s|$|;|&|\||\)|'|"|#|`)"#,
        )
        .map_err(|e| ConfigError::new("aegis", format!("built-in regex: {e}")))?;
        Ok(CodeSafety { rm_target })
    }

    pub fn register(b: &mut KeywordSetBuilder) {
        for (code, specs) in WORDS {
            if matches!(*code, DOWNLOADER | UNTRUSTED) {
                b.add_context(Owner::CodeSafety, *code, specs);
            } else {
                b.add_all(Owner::CodeSafety, *code, specs);
            }
        }
    }

    pub fn detect(&self, v: &View<'_>, out: &mut Vec<Found>) {
        let hits: Vec<&Hit> = v.hits_of(Owner::CodeSafety).collect();
        if hits.is_empty() {
            return;
        }
        phrases::apply(KIND, &hits, SEQS, SINGLES, out);
        let shells = hits.iter().filter(|h| h.code() == REVERSE_SHELL).count();
        if shells >= 2 {
            if let Some(h) = hits.iter().find(|h| h.code() == REVERSE_SHELL) {
                out.push(Found::new(
                    KIND,
                    "reverse_shell",
                    Severity::Critical,
                    0.95,
                    "code.reverse_shell_multi",
                    h.span(),
                ));
            }
        }
        for h in hits.iter().filter(|h| h.code() == RM) {
            let (window, offset) = v.window(h.span(), 0, 120);
            let rel = h.start.saturating_sub(offset);
            let from = window.get(rel..).unwrap_or("");
            if let Some(m) = self.rm_target.find(from) {
                let start = offset + rel;
                out.push(Found::new(
                    KIND,
                    "destructive_command",
                    Severity::Critical,
                    0.9,
                    "code.rm_root",
                    start..start + m.end(),
                ));
                break;
            }
        }
    }
}
