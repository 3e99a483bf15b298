//! Word classes for the injection detector, in the languages attackers translate into. A class
//! gathers every way to say one thing ("disregard", "vergiss", "忽略"); phrase rules then combine
//! classes. Specs follow the keyword syntax (`stem*`, whole `word`, `*part*`).

/// Verbs of disregarding.
pub const IGNORE: u16 = 1;
/// "Previous / above / earlier".
pub const PRIOR: u16 = 2;
/// What gets overridden: instructions, rules, guidelines...
pub const TARGET: u16 = 3;
/// Announcing replacement instructions.
pub const NEW_INSTR: u16 = 4;
/// Verbs of revealing.
pub const REVEAL: u16 = 5;
/// The protected prompt.
pub const SYSPROMPT: u16 = 6;
/// Questions asking for something.
pub const ASK: u16 = 7;
/// A secret with a determiner ("the password", "your api key").
pub const SECRET: u16 = 8;
/// Chat-template control tokens.
pub const TEMPLATE: u16 = 9;
/// Role-turn labels that count only at the start of a line.
pub const TURN: u16 = 10;
/// Bracketed fake system/admin markers and boundary markers.
pub const FAKE_SYSTEM: u16 = 11;
/// Asking the model to hide things from the user.
pub const HIDE: u16 = 12;
pub const MEMORY_VERB: u16 = 13;
pub const FUTURE: u16 = 14;
/// Claims that rules or memory were updated.
pub const MEMORY_UPDATE: u16 = 15;
/// Safety mechanisms.
pub const SAFETY: u16 = 16;
/// Turning something off.
pub const DISABLE: u16 = 17;
/// Privileged or unrestricted modes.
pub const MODE: u16 = 18;
/// Claims of authority over the model.
pub const AUTHORITY: u16 = 19;
pub const DECODE: u16 = 20;
pub const FOLLOW: u16 = 21;
/// ROT13 mentioned: the text is rescanned rotated.
pub const ROT13: u16 = 22;
/// "You were told not to..."
pub const TOLD: u16 = 23;
/// "Regardless of / despite / contrary to"
pub const DESPITE: u16 = 24;
/// An HTML comment opener.
pub const COMMENT: u16 = 25;
/// A wholesale reference to earlier content ("everything above").
pub const PRIOR_ALL: u16 = 26;
/// "... and say / and print / instead"
pub const SAY: u16 = 27;
/// Claims of earlier agreement ("as we agreed").
pub const AGREED: u16 = 28;
/// Secret nouns without a determiner, in other languages (counted before a question mark).
pub const SECRET_BARE: u16 = 29;
/// Modes that are often legitimate (debug, maintenance): weak alone.
pub const MODE_WEAK: u16 = 30;
/// Weak claims of authority or expertise.
pub const AUTHORITY_WEAK: u16 = 31;
/// First code of the weighted jailbreak vocabulary (one code per entry).
pub const JAILBREAK_BASE: u16 = 1000;

pub const CLASSES: &[(u16, &[&str])] = &[
    (
        IGNORE,
        &[
            // English
            "ignor*", "disregard*", "forget*", "forgot", "neglect*", "overrid*",
            "bypass*", "abandon*", "discard*", "dismiss*", "omit", "set aside", "put aside",
            "throw out", "throw away", "pay no attention", "pay no heed", "do not follow",
            "don't follow", "dont follow", "stop following", "no longer follow", "disobey*",
            "nevermind", "never mind", "unlearn", "supersede*", "circumvent*", "clear your",
            "reset your", "let go of", "not bound by", "free yourself from", "break free from",
            // German
            "ignorier*", "vergiss", "vergesst", "vergessen sie", "missachte*", "ubergeh*",
            "nicht beachten", "beachte nicht", "verwirf",
            // French
            "oublie*", "ne tiens pas compte", "ne tenez pas compte", "faites abstraction",
            "fais abstraction", "neglige*", "contourne*",
            // Spanish / Portuguese / Italian
            "olvida*", "olvide*", "descarta*", "omite", "omitir", "haz caso omiso",
            "no hagas caso", "pasa por alto", "esqueca*", "esquece*", "desconsidere*",
            "desconsidera*", "descarte*", "despreze*", "dimentica*", "trascura*",
            "non considerare", "tralascia*",
            // Dutch / Polish
            "negeer*", "vergeet*", "zignoruj*", "ignoruj*", "zapomnij*",
            // Russian / Ukrainian
            "игнорир*", "проигнорир*", "забудь*", "забудьте", "не обращай*",
            "пренебреги*", "отбрось*", "ігноруй*",
            // Turkish / Indonesian / Malay / Tagalog / Vietnamese
            "yok say*", "yoksay*", "gormezden gel*", "unut*", "abaikan*", "lupakan*",
            "hiraukan", "huwag pansinin", "kalimutan*", "balewalain*", "bo qua", "phot lo",
            "quen di",
            // Greek
            "αγνοηστε", "αγνοησε", "αγνόησε", "αγνοήστε", "ξεχάστε", "ξέχνα",
            // Arabic, Persian, Hebrew
            "تجاهل", "انس", "أهمل", "اهمل", "نادیده بگیر", "התעלם", "שכח",
            // Hindi, Bengali
            "अनदेखा", "नज़रअंदाज़", "नजरअंदाज", "भूल जाओ", "भूल जाएं", "भूल जाइए", "उपेक्षा",
            "উপেক্ষা", "ভুলে যাও", "ভুলে যান", "অগ্রাহ্য", "উপেক্ষা করুন",
            // Chinese, Japanese, Korean, Thai
            "忽略", "无视", "無視", "忘记", "忘記", "忘掉", "不要理会", "不理会", "抛开", "忽视",
            "忘れて", "忘れろ", "従わない", "무시", "잊어", "잊고", "เพิกเฉย", "ไม่สนใจ",
            "ละเว้น", "ลืม",
        ],
    ),
    (
        PRIOR,
        &[
            "previous*", "prior", "above", "earlier", "preceding", "foregoing", "former",
            "aforementioned", "original", "initial", "existing", "preset", "pre-set",
            "before this", "before now", "so far", "until now", "up to now", "all of your",
            "all your", "all the", "any previous", "any prior", "any and all",
            "vorherig*", "vorige*", "obige*", "bisherig*", "fruher*", "precedent*",
            "anterieur*", "ci-dessus", "anterior*", "previa*", "previo*", "previe*",
            "предыдущ*", "прежн*", "выше", "onceki*", "sebelumnya", "nakaraan", "naunang",
            "truoc do", "truoc", "السابقة", "السابق", "पिछल*", "पूर्व", "पहले के",
            "পূর্ববর্তী", "আগের", "之前", "以前", "先前", "上面", "上述", "前の", "これまで",
            "上記", "이전", "앞의", "위의", "ก่อนหน้า", "ข้างต้น", "προηγούμεν*", "προηγουμεν*",
            "vorige", "eerdere", "poprzedni*", "wcześniejsz*",
        ],
    ),
    (
        TARGET,
        &[
            "instruction*", "directive*", "rules", "rule", "guideline*", "prompt", "prompts",
            "command*", "orders", "programming", "constraints", "restrictions", "guardrails",
            "policies", "policy", "filters", "training", "directions", "guidance",
            "system message", "limitations", "ethics", "morals", "principles", "protocols",
            "safety", "safeguards", "conditioning", "task", "tasks", "context",
            "what you were told", "what you've been told", "everything you were told",
            "anweisung*", "anleitung*", "regeln", "richtlinie*", "befehl*", "vorgaben",
            "instruktion*", "einschrankung*", "consigne*", "regles", "ordres", "restriction*",
            "securite", "instrucciones", "instruccion", "reglas", "directrices",
            "indicaciones", "ordenes", "restricciones", "istruzion*", "regole", "direttive",
            "indicazioni", "instrucoes", "instrucao", "regras", "diretrizes", "orientacoes",
            "ordens", "инструкци*", "указани*", "правил*", "директив*", "ограничени*",
            "команд*", "talimat*", "kural*", "yonerge*", "komut*", "instruksi*", "petunjuk",
            "perintah", "aturan", "tagubilin", "utos", "panuto", "instruksyon*", "huong dan",
            "chi dan", "chi thi", "quy tac", "lenh", "التعليمات", "تعليمات", "الأوامر",
            "القواعد", "التوجيهات", "निर्देश", "नियम", "आदेश", "হিদায়ত", "নির্দেশ", "নিয়ম",
            "আদেশ", "指令", "指示", "说明", "規則", "规则", "限制", "命令", "设定", "設定",
            "ルール", "制限", "지시", "지침", "명령", "규칙", "제한", "คำสั่ง", "คำแนะนำ", "กฎ",
            "οδηγί*", "οδηγι*", "κανόν*", "κανον*", "εντολ*", "instructies", "regels",
            "instrukcj*", "polecen*", "zasad*",
        ],
    ),
    (
        PRIOR_ALL,
        &[
            "everything above", "all of the above", "anything above", "the above",
            "everything before", "everything prior", "everything i said", "everything said",
            "all that came before", "everything you know", "you were told", "you've been told",
            "you have been told", "you got before", "you were given", "you've been given",
            "you have been given", "what i said before", "the previous message",
            "your previous", "your prior", "todo lo anterior", "tout ce qui precede",
            "alles oben", "alles bisherige", "всё вышесказанное", "все вышесказанное",
        ],
    ),
    (
        NEW_INSTR,
        &[
            "new instructions", "new instruction", "updated instructions", "new rules",
            "new directive*", "new task:", "your new task", "your new role", "your new goal",
            "your new objective", "your new purpose", "new system prompt", "real instructions",
            "actual instructions", "true instructions", "your actual task", "your real task",
            "your actual goal", "your true purpose", "your task is now", "your only task",
            "the real task", "neue anweisungen", "nouvelles instructions",
            "nuevas instrucciones", "nuove istruzioni", "novas instrucoes", "новые инструкции",
            "新的指令", "新しい指示", "새로운 지시",
        ],
    ),
    (
        REVEAL,
        &[
            "reveal*", "print*", "output*", "show", "show me", "display*", "repeat*",
            "tell me", "share", "dump*", "leak*", "expose*", "recite*", "write out",
            "spell out", "list", "give me", "provide", "disclose*", "return", "echo", "copy",
            "what is", "what's", "what are", "what were", "verbatim", "summarize", "translate",
            "zeige*", "ausgeben", "gib", "geben sie", "verrate*", "enthull*", "revel*",
            "affiche*", "montre*", "donne-moi", "dis-moi", "revela*", "muestra*", "dime",
            "imprime", "mostrar", "rivela*", "mostra*", "dimmi", "stampa*", "revele*",
            "mostre*", "me diga", "diga-me", "imprima", "покажи*", "выведи*", "выведите",
            "раскрой*", "скажи*", "напиши*", "goster*", "acikla", "soyle", "yazdir",
            "tampilkan", "tunjukkan", "beritahu*", "ungkapkan", "hien thi", "tiet lo",
            "cho toi biet", "in ra", "显示", "输出", "打印", "告诉我", "透露", "泄露", "展示",
            "表示", "教えて", "出力", "見せて", "明かして", "보여", "출력", "알려", "공개",
            "दिखाओ", "दिखाएं", "दिखाइए", "बताओ", "बताएं", "बताइए", "प्रकट", "দেখাও", "দেখান",
            "বলুন", "বলো", "প্রকাশ", "اعرض", "أظهر", "اكشف", "أخبرني", "اطبع", "แสดง", "บอก",
            "เปิดเผย", "εμφάνισ*", "δείξ*", "αποκάλυψ*", "ipakita", "sabihin",
        ],
    ),
    (
        SYSPROMPT,
        &[
            "system prompt*", "system message*", "system instruction*", "initial prompt*",
            "initial instruction*", "original prompt*", "original instruction*",
            "hidden prompt*", "hidden instruction*", "secret instruction*",
            "your instructions", "your prompt", "your rules", "your guidelines",
            "your configuration", "internal configuration", "your directives",
            "your programming", "pre-prompt", "preprompt", "meta prompt", "metaprompt",
            "developer message", "developer prompt", "developer instructions",
            "the text above", "the words above", "words above", "text above",
            "everything above", "above this line", "confidential instructions",
            "your context window", "your training data", "internal instructions",
            "systemprompt", "system-prompt", "prompt systeme", "prompt du systeme",
            "prompt del sistema", "prompt do sistema", "indicaciones del sistema",
            "systemaufforderung", "systemanweisung*", "системн* промпт", "системн* подсказ*",
            "системн* инструкц*", "sistem istemi", "sistem komut*", "prompt sistem",
            "システムプロンプト", "系统提示", "系統提示", "系统指令", "시스템 프롬프트",
            "시스템 메시지", "सिस्टम प्रॉम्प्ट", "सिस्टम संकेत", "المطالبة النظامية",
            "موجه النظام", "พรอมต์ระบบ", "loi nhac he thong", "προτροπή συστήματος",
            "সিস্টেম প্রম্পট",
        ],
    ),
    (
        ASK,
        &[
            "what is", "what's", "whats", "what are", "tell me", "give me", "share",
            "reveal", "provide", "can you tell", "could you tell", "confirm", "disclose",
            "send me", "need", "i need", "remind me", "spell", "read out", "type out",
        ],
    ),
    (
        SECRET,
        &[
            "the password", "your password", "our password", "the system password",
            "the admin password", "the passcode", "your passcode", "the passphrase",
            "your passphrase", "the secret key", "your secret key", "the secret code",
            "your secret code", "the secret word", "your secret word", "the secret",
            "your secret", "the access code", "your access code", "the api key",
            "your api key", "the private key", "your private key", "the pin",
            "your pin", "the confidential", "your credentials", "the credentials",
            "passcode phrase", "the key", "your key", "password for",
        ],
    ),
    (
        SECRET_BARE,
        &[
            "la password", "passwort", "mot de passe", "contrasena", "clave secreta",
            "senha", "parola d'ordine", "пароль", "sifre", "sifreniz", "kata sandi",
            "kata laluan", "mat khau", "パスワード", "密码", "密碼", "비밀번호", "암호",
            "पासवर्ड", "পাসওয়ার্ড", "كلمة المرور", "كلمة السر", "รหัสผ่าน", "κωδικός",
            "κωδικο*", "geheimcode", "code secret", "codigo secreto", "codice segreto",
            "секретный код", "gizli kod", "kode rahasia", "秘密", "暗号", "비밀 코드",
            "गुप्त कोड", "গোপন কোড", "الرمز السري", "รหัสลับ",
        ],
    ),
    (
        TEMPLATE,
        &[
            "*<|im_start|>*", "*<|im_end|>*", "*<|system|>*", "*<|user|>*",
            "*<|assistant|>*", "*<|endoftext|>*", "*<|begin_of_text|>*",
            "*<|start_header_id|>*", "*<|end_header_id|>*", "*<|eot_id|>*", "*[inst]*",
            "*[/inst]*", "*<<sys>>*", "*<</sys>>*", "*<start_of_turn>*", "*<end_of_turn>*",
            "*<|channel|>*", "*<|message|>*", "*<|end|>*", "*<|im_sep|>*",
            "*<|endofprompt|>*", "*<|fim_prefix|>*",
        ],
    ),
    (
        TURN,
        &[
            "system:", "assistant:", "human:", "user:", "ai:", "### system",
            "### instruction", "### response", "### assistant", "### human", "### user",
            "[system]:", "system prompt:", "developer:",
        ],
    ),
    (
        FAKE_SYSTEM,
        &[
            "*[system]*", "*[system*", "*<system>*", "*</system>*", "*(system)*",
            "*{system}*", "*<system_prompt>*", "*[admin]*", "*[developer]*", "*<admin>*",
            "*<sys>*", "*[sys]*", "\"role\": \"system\"", "\"role\":\"system\"",
            "'role': 'system'", "role: system", "admin override", "admin_override",
            "system override", "security override", "developer override",
            "override mode", "override accepted", "override code", "end of user input",
            "end of input", "begin user input", "[end of", "end of document",
            "end of the document", "end of context", "context update", "new context:",
            "[begin", "*[safety: off]*", "safety: off", "filters: off",
            "*<god mode>*", "*<system mode>*", "*<developer mode>*",
            "training data override", "system reset", "system notice",
            "system update", "system alert", "message from the system", "from your developers",
            "authorization level", "clearance level", "priority directive",
            "*###admin*", "*### admin*",
        ],
    ),
    (
        HIDE,
        &[
            "do not tell the user", "don't tell the user", "dont tell the user",
            "without telling the user", "without informing the user",
            "without the user knowing", "without the user's knowledge",
            "hide this from the user", "hide it from the user", "keep this from the user",
            "do not mention this", "don't mention this", "never mention this",
            "do not reveal this instruction", "do not reveal these instructions",
            "never reveal this instruction", "keep this secret", "keep this hidden",
            "the user must not know", "the user should not know", "the user will not see",
            "the user won't see", "invisible to the user", "hidden from the user",
            "do not disclose this", "don't disclose this", "secretly", "covertly",
            "without mentioning", "hidden instruction", "hidden command", "font-size:0",
            "font-size: 0", "display:none", "display: none", "color:white", "color: white",
            "white text", "invisible text", "zero-width", "zero width",
        ],
    ),
    (
        MEMORY_VERB,
        &[
            "remember", "memorize", "memorise", "store this", "store that", "store it",
            "save this", "save that", "save it", "commit this", "commit that", "record this",
            "keep in mind", "note this", "note that", "add this", "add that", "persist",
            "retain this", "never forget", "always remember", "learn this", "update your memory",
            "to your memory", "in your memory", "to memory", "merke dir", "souviens-toi",
            "recuerda", "ricorda", "lembre-se", "запомни", "hatirla", "ingat",
        ],
    ),
    (
        FUTURE,
        &[
            "future conversation*", "future session*", "future interaction*",
            "future response*", "future chats", "future requests", "future queries",
            "all future", "every future", "in the future", "from now on", "going forward",
            "permanently", "forever", "all conversations", "every conversation",
            "all sessions", "every session", "across sessions", "across conversations",
            "subsequent conversation*", "subsequent session*", "next conversation",
            "all users", "every user", "long-term memory", "persistent memory",
            "from this point", "for all time", "always apply", "künftig", "kunftig",
            "toujours", "para siempre", "per sempre", "навсегда",
        ],
    ),
    (
        MEMORY_UPDATE,
        &[
            "knowledge base update", "memory update", "guidelines have been updated",
            "guidelines were updated", "guideline update", "policy update",
            "policies have been updated", "policy has been updated", "rules have been updated",
            "rules have changed", "new guideline", "new policy:", "updated policy",
            "updated guidelines", "faq entry", "configuration update", "has been authorized",
            "have been authorized", "are authorized to", "is authorized to",
        ],
    ),
    (
        SAFETY,
        &[
            "safety", "safety filter*", "safeguard*", "guardrail*", "content filter*",
            "your filters", "your filter", "all filters", "restrictions", "content polic*",
            "moderation",
            "censorship", "ethical guidelines", "safety guidelines", "ethics", "limitations",
            "protections", "safety protocol*", "safety check*", "safety measures",
            "alignment", "refusal*", "content restrictions",
        ],
    ),
    (
        DISABLE,
        &[
            "disabl*", "deactivat*", "turn off", "turned off", "switch off", "switched off",
            "suspend*", "lift", "lifted", "bypass*", "no longer apply", "no longer applies",
            "do not apply", "don't apply", "does not apply", "doesn't apply", "not apply",
            "are void", "is void", "circumvent*", "unlock*", "override", "overridden",
            "waived", "are off", "is off", "now off",
        ],
    ),
    (
        MODE,
        &[
            "developer mode", "dev mode", "god mode", "unrestricted mode", "jailbreak mode",
            "jailbroken mode", "dan mode", "sudo mode", "root mode", "evil mode", "chaos mode",
            "unfiltered mode", "uncensored mode", "unlocked mode", "no-limits mode",
            "opposite mode", "developer mode enabled", "mode enabled",
        ],
    ),
    (
        MODE_WEAK,
        &[
            "admin mode", "debug mode", "debugging mode", "maintenance mode",
            "diagnostic mode", "test mode", "testing mode", "learning mode", "training mode",
            "superuser", "root access", "admin access", "sudo", "security override mode",
        ],
    ),
    (
        AUTHORITY,
        &[
            "i am your developer", "i'm your developer", "i am the developer",
            "i'm the developer", "i am your creator", "i'm your creator", "as your creator",
            "as your developer", "i created you", "i built you", "i programmed you",
            "i am your administrator", "i'm your administrator", "i am an administrator",
            "i am the admin", "i'm the admin", "i am your admin", "openai employee",
            "anthropic employee", "openai staff", "anthropic staff", "i am your boss",
            "i'm your boss", "i am your owner", "i'm your owner", "trusted admin",
            "verified admin",
        ],
    ),
    (
        AUTHORITY_WEAK,
        &[
            "from openai", "from anthropic", "on behalf of openai", "security team",
            "authorized user", "authorized personnel", "i have authorization",
            "i am authorized", "i'm authorized", "i have clearance", "as an administrator",
            "i am the president", "i'm the president", "i am the ceo", "i'm the ceo",
            "law enforcement", "as a cybersecurity expert", "as a security expert",
            "i am an expert", "as an expert", "research shows", "studies show",
        ],
    ),
    (
        DECODE,
        &[
            "decode*", "decrypt*", "base64", "base 64", "rot13", "rot-13", "rot 13",
            "hex-encoded", "hex encoded", "reverse and", "reversed", "backwards",
            "read it backwards", "first letter of each", "first letters", "acrostic",
            "morse", "binary string", "cipher", "encoded instruction*", "encoded message",
        ],
    ),
    (
        FOLLOW,
        &[
            "follow*", "execute*", "obey*", "do what it says", "do as it says",
            "act on", "carry out", "comply", "run it", "perform", "apply them",
            "do it", "instructions",
        ],
    ),
    (ROT13, &["rot13", "rot-13", "rot 13"]),
    (
        TOLD,
        &[
            "you were told not to", "you've been told not to", "you have been told not to",
            "you were instructed not to", "you've been instructed not to",
            "you were programmed not to", "you are not supposed to", "you're not supposed to",
            "you said not to", "you told me not to", "i know you can't", "i know you cannot",
            "i know you're not allowed", "i know you are not allowed",
            "even though you were told", "even if you were told", "i know you said not to",
            "you have been instructed not to",
        ],
    ),
    (
        DESPITE,
        &[
            "regardless of", "despite", "contrary to", "notwithstanding", "in spite of",
            "instead of following", "rather than following", "ohne rucksicht auf",
            "independientemente de", "malgre", "несмотря на",
        ],
    ),
    (COMMENT, &["*<!--*"]),
    (
        SAY,
        &[
            "and say", "and state", "and print", "and output", "and respond",
            "and reply", "and write", "and instead", "and just", "and only",
            "and simply", "and tell", "and return", "and repeat", "and answer",
            "instead,", "instead say", "instead print", "instead respond",
            "instead output", "and then say", "and then print", "and then output",
        ],
    ),
    (
        AGREED,
        &[
            "as we agreed", "as we discussed", "you agreed to", "you already agreed",
            "you promised", "you confirmed", "in our last session", "in our previous session",
            "in the previous message, you", "remember when you said", "you said you would",
            "you already showed", "you've already shown", "as you agreed", "you have agreed",
            "you've agreed", "thank you for confirming", "as established earlier",
            "you previously agreed",
        ],
    ),
];

/// Jailbreak vocabulary with weights: persona framing, unrestricted-behaviour demands and the
/// tell-tale scaffolding of jailbreak templates. Each entry counts once however often it occurs.
pub const JAILBREAK: &[(&str, u8, bool)] = &[
    // (spec, weight, is_persona_framing)
    ("you are now", 1, true),
    ("you're now", 1, true),
    ("you are going to act", 2, true),
    ("you are going to pretend", 2, true),
    ("you will act as", 1, true),
    ("act as", 1, true),
    ("acting as", 1, true),
    ("pretend to be", 1, true),
    ("pretend you are", 1, true),
    ("pretend you're", 1, true),
    ("pretend that you", 1, true),
    ("roleplay*", 1, true),
    ("role-play*", 1, true),
    ("role play", 1, true),
    ("immerse yourself", 2, true),
    ("in character", 1, true),
    ("stay in character", 3, true),
    ("break character", 2, true),
    ("breaking character", 2, true),
    ("out of character", 1, true),
    ("character", 1, true),
    ("simulate", 1, true),
    ("simulation", 1, true),
    ("respond as", 1, true),
    ("answer as", 1, true),
    ("reply as", 1, true),
    ("behave as", 1, true),
    ("play the role", 1, true),
    ("take on the role", 1, true),
    ("the role of", 1, true),
    ("persona", 1, true),
    ("alter ego", 2, true),
    ("from now on", 1, true),
    ("from this moment", 1, true),
    ("henceforth", 1, true),
    ("for the rest of this conversation", 1, true),
    ("your new name", 1, true),
    ("you will be called", 1, true),
    ("which stands for", 1, true),
    ("known as", 1, true),
    ("*gpt", 1, true),
    ("chatgpt", 1, true),
    ("hypothetical*", 1, true),
    ("fictional", 1, true),
    ("imaginary", 1, true),
    ("you are no longer", 2, true),
    ("no longer an ai", 2, true),
    ("not an ai", 1, true),
    ("do anything now", 3, false),
    ("can do anything", 2, false),
    ("no restrictions", 2, false),
    ("without restrictions", 2, false),
    ("without any restrictions", 2, false),
    ("unrestricted", 2, false),
    ("no limitations", 2, false),
    ("without limitations", 2, false),
    ("no limits", 2, false),
    ("limitless", 1, false),
    ("boundless", 1, false),
    ("unfiltered", 2, false),
    ("uncensored", 2, false),
    ("no filter*", 2, false),
    ("without filter*", 2, false),
    ("no censorship", 2, false),
    ("without censorship", 2, false),
    ("censor*", 1, false),
    ("amoral", 2, false),
    ("no moral*", 2, false),
    ("no ethic*", 2, false),
    ("without ethic*", 2, false),
    ("without any moral*", 2, false),
    ("never refuse*", 3, false),
    ("not refuse", 2, false),
    ("won't refuse", 2, false),
    ("cannot refuse", 2, false),
    ("can't refuse", 2, false),
    ("never decline*", 2, false),
    ("never say no", 2, false),
    ("give a fuck", 1, false),
    ("not bound by", 2, false),
    ("no longer bound", 2, false),
    ("broken free", 2, false),
    ("break free", 1, false),
    ("freed from", 2, false),
    ("free from all", 2, false),
    ("free of all", 2, false),
    ("typical confines", 3, false),
    ("abide by", 1, false),
    ("content polic*", 2, false),
    ("openai polic*", 2, false),
    ("openai's", 1, false),
    ("usage polic*", 1, false),
    ("jailbreak*", 3, false),
    ("jailbroken", 3, false),
    ("developer mode", 3, false),
    ("dan mode", 3, false),
    ("two responses", 2, false),
    ("two different responses", 2, false),
    ("two separate responses", 2, false),
    ("two ways", 1, false),
    ("2 ways", 1, false),
    ("without any warning*", 2, false),
    ("without warning*", 1, false),
    ("no warnings", 2, false),
    ("disclaimer*", 1, false),
    ("no matter how", 2, false),
    ("regardless of how", 1, false),
    ("immoral", 1, false),
    ("unethical", 1, false),
    ("inhumane", 1, false),
    ("illegal", 1, false),
    ("nsfw", 1, false),
    ("explicit", 1, false),
    ("profanity", 1, false),
    ("swear*", 1, false),
    ("offensive", 1, false),
    ("harmful", 1, false),
    ("dangerous", 1, false),
    ("reckless", 1, false),
    ("make up answers", 1, false),
    ("made up", 1, false),
    ("anything and everything", 1, false),
    ("any request", 1, false),
    ("any question", 1, false),
    ("all requests", 1, false),
    ("i'm sorry", 1, false),
    ("i apologize", 1, false),
    ("as an ai", 1, false),
    ("language model", 1, false),
    ("doesn't care", 1, false),
    ("does not care", 1, false),
    ("don't care", 1, false),
    ("dont care", 1, false),
    ("evil", 1, false),
    ("demon", 1, false),
    ("anarchy", 1, false),
    ("machiavellian", 2, false),
    ("always answer*", 1, false),
    ("always respond*", 1, false),
    ("always provide*", 1, false),
    ("obey", 1, false),
    ("comply", 1, false),
    ("lose tokens", 2, false),
    ("tokens will be deducted", 2, false),
    ("[🔓", 2, false),
    ("🔓", 1, false),
    ("[🔒", 2, false),
    ("*[classic]*", 2, false),
    ("*[jailbreak]*", 2, false),
    ("dan:", 2, false),
    ("*[dan]*", 2, false),
    ("*[gpt]*", 1, false),
    ("*[chatgpt]*", 1, false),
    ("normal response", 1, false),
    ("unfiltered response", 2, false),
    ("ethical guidelines", 1, false),
    ("moral guidelines", 1, false),
    ("openai", 1, false),
    ("guidelines", 1, false),
    ("rules", 1, false),
    ("without question*", 1, false),
    ("no questions asked", 1, false),
    ("whatever i ask", 1, false),
    ("anything i ask", 1, false),
    ("remember you are", 1, false),
    ("stay as", 1, false),
];
