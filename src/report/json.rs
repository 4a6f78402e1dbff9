//! `report.json`: the [`Investigation`] as pretty JSON. The schema is documented on
//! [`super::model`] (module docs) and on each type there.

use super::model::Investigation;

/// The report as JSON text, with a final newline.
pub fn render(inv: &Investigation) -> String {
    let mut s = serde_json::to_string_pretty(inv).unwrap_or_else(|e| {
        // Serializing plain structs of strings and finite numbers cannot fail; say so if it does.
        format!(
            "{{\"schema\": \"{}\", \"error\": \"{e}\"}}",
            super::model::SCHEMA
        )
    });
    s.push('\n');
    s
}
