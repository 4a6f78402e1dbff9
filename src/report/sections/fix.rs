//! "Fix Implementation": the proposed fix for the code at hand, the template's strategy boxes,
//! the regression test (calling the function found at the location), and the load-test
//! figures of a capture.

use super::{NA, root_cause::finding_code_block};
use crate::report::facts::{Facts, PatternKind};
use crate::report::model::{Check, CodeBlock, Field, FixImplementation};
use crate::report::patterns;
use crate::report::words;

fn load_test_lines(f: &Facts) -> Vec<String> {
    if let Some(l) = &f.ev.load_test
        && !l.lines.is_empty()
    {
        return l.lines.clone();
    }
    let Some(load) = &f.load else {
        return vec![
            "Before fix: not run (no load test results were given; `memsleuth capture` makes them)"
                .into(),
            "After fix: not run (no load test results were given)".into(),
        ];
    };
    let pts: Vec<(u64, f64)> = load
        .checkpoints
        .iter()
        .filter_map(|(r, _, b)| Some((*r, (*b)?)))
        .collect();
    let mut out = vec!["Before fix (the capture):".to_string()];
    let pick: Vec<usize> = if pts.len() <= 5 {
        (0..pts.len()).collect()
    } else {
        let n = pts.len();
        vec![0, n / 4, n / 2, 3 * n / 4, n - 1]
    };
    for i in pick {
        let (r, b) = pts[i];
        out.push(format!(
            "- Memory after {} requests: {} (heap used after a forced full GC)",
            words::count(r),
            words::bytes(b)
        ));
    }
    if let Some(p) = &f.per_request {
        out.push(format!("- Growth: {}", words::per_request(p.bytes)));
    }
    out.push(String::new());
    out.push(
        "After fix: not run (capture the same load after the fix: memory should stay flat)".into(),
    );
    out
}

pub fn fix(f: &Facts) -> FixImplementation {
    let mut found: Vec<PatternKind> = f.leaks.iter().map(|g| g.pattern).collect();
    found.sort();
    found.dedup();
    let py =
        f.ev.python
            .iter()
            .flat_map(|p| p.view.findings.iter())
            .next();
    let mut strategy: Vec<Check> = patterns::STRATEGIES
        .iter()
        .map(|(text, pats)| Check {
            checked: pats.iter().any(|p| found.contains(p)),
            text: (*text).to_string(),
        })
        .collect();
    let other: Vec<&str> = found
        .iter()
        .filter(|p| {
            !patterns::STRATEGIES
                .iter()
                .any(|(_, pats)| pats.contains(p))
        })
        .map(|p| patterns::strategy(*p))
        .collect();
    strategy.push(Check {
        checked: !other.is_empty() || (f.leaks.is_empty() && py.is_some()),
        text: if !other.is_empty() {
            format!("Other: {}", other.join("; "))
        } else if f.leaks.is_empty() && py.is_some() {
            "Other: bound or release what the Python line keeps".into()
        } else {
            "Other: none needed for the patterns found".into()
        },
    });
    if let Some(g) = f.top_leak() {
        let block = finding_code_block(g);
        let sketch = patterns::fixed_code(g);
        let mut files: Vec<Field> = Vec::new();
        for x in &f.leaks {
            if let Some(l) = &x.finding.location
                && !files.iter().any(|fl| fl.label == l.file)
            {
                files.push(Field {
                    label: l.file.clone(),
                    value: format!(
                        "line {}: {} (proposed)",
                        l.line,
                        patterns::strategy(x.pattern)
                    ),
                });
            }
        }
        if files.is_empty() {
            files.push(Field {
                label: "location unknown".into(),
                value: format!("{NA}the snapshot has no script position; follow the retainer path"),
            });
        }
        let test = patterns::regression_test(g, &block.location);
        return FixImplementation {
            pull_request: format!(
                "{NA}no fix has been made yet; the fix below is proposed by memsleuth"
            ),
            files_modified: files,
            fixed_code: CodeBlock {
                language: block.language.clone(),
                location: block.location.clone(),
                explanation: format!("proposed fix: {}", patterns::strategy(g.pattern)),
                lines: sketch.lines,
            },
            strategy,
            notes: sketch.notes,
            test: CodeBlock {
                language: block.language,
                location: block.location,
                explanation: test.explanation,
                lines: test.lines,
            },
            load_test: load_test_lines(f),
        };
    }
    if let Some(p) = py {
        return FixImplementation {
            pull_request: format!(
                "{NA}no fix has been made yet; the fix below is proposed by memsleuth"
            ),
            files_modified: vec![Field {
                label: p.file.clone(),
                value: format!(
                    "line {}: bound or release what this line keeps (proposed)",
                    p.line
                ),
            }],
            fixed_code: CodeBlock {
                language: "python".into(),
                location: format!("{}:{}", p.file, p.line),
                explanation:
                    "proposed fix: keep a bounded number of entries, or drop them when done".into(),
                lines: patterns::python_fix(&p.code),
            },
            strategy,
            notes: Vec::new(),
            test: CodeBlock {
                language: "python".into(),
                location: format!("{}:{}", p.file, p.line),
                explanation: "proposed regression test: memory after many calls stays flat".into(),
                lines: patterns::python_test(&p.code),
            },
            load_test: load_test_lines(f),
        };
    }
    FixImplementation {
        pull_request: format!("{NA}no leak identified, so no fix"),
        files_modified: vec![Field {
            label: "none".into(),
            value: format!("{NA}no leaking code identified in the evidence"),
        }],
        fixed_code: CodeBlock {
            language: "text".into(),
            location: format!("{NA}no leaking code identified"),
            explanation: "heap snapshots locate the code to fix".into(),
            lines: vec!["(no fix to show)".into()],
        },
        strategy,
        notes: Vec::new(),
        test: CodeBlock {
            language: "text".into(),
            location: format!("{NA}no leaking code identified"),
            explanation: "a regression test needs the function that leaks".into(),
            lines: vec!["(no test to show: no leaking function identified)".into()],
        },
        load_test: load_test_lines(f),
    }
}
