//! The `authensor scan` and `authensor eval` commands: the Aegis scanner on files, stdin and the
//! labelled corpora.

pub mod eval;
pub mod scan;

use authensor_filter::aegis::{AegisConfig, Finding, Scanner};
use authensor_filter::config::{parse_strict, ConfigError};
use serde::Deserialize;
use serde_json::{json, Value};

/// A filter configuration file, of which only the `aegis` section matters here.
#[derive(Deserialize)]
struct OnlyAegis {
    #[serde(default)]
    aegis: Option<serde_json::Value>,
}

/// The scanner from `--config FILE` (its `aegis` section), or the defaults.
pub fn scanner(config: Option<&str>) -> Result<Scanner, String> {
    let aegis = match config {
        None => AegisConfig::default(),
        Some(file) => {
            let bytes = std::fs::read(file).map_err(|e| format!("{file}: cannot read: {e}"))?;
            let outer: OnlyAegis =
                serde_json::from_slice(&bytes).map_err(|e| format!("{file}: {e}"))?;
            match outer.aegis {
                None => AegisConfig::default(),
                Some(section) => {
                    let text = section.to_string();
                    parse_strict::<AegisConfig>(text.as_bytes())
                        .map_err(|e: ConfigError| format!("{file}: aegis.{e}"))?
                }
            }
        }
    };
    Scanner::compile(&aegis).map_err(|e| format!("{e}"))
}

/// One finding as the CLI prints it (the shared detection plus its action).
pub fn finding_json(f: &Finding) -> Value {
    let mut v = serde_json::to_value(&f.detection).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("action".into(), json!(f.action.as_str()));
    }
    v
}
