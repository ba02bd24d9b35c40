//! The report in three forms: Markdown and self-contained HTML files (inline CSS, no
//! scripts, every text escaped), and a summary for the console.

use super::model::{Report, Status};
use crate::commands::utc_date;
use std::fmt::Write;

/// Widest status bar, in characters.
const BAR_CHARS_MAX: usize = 40;

/// `█` characters for each status, proportional to its count, at most [`BAR_CHARS_MAX`] in
/// all; a status with at least one row gets at least one.
pub fn bar(report: &Report) -> Vec<(Status, usize, String)> {
    let counts = report.counts();
    let total: usize = counts.iter().map(|(_, count)| count).sum::<usize>().max(1);
    counts
        .into_iter()
        .map(|(status, count)| {
            let width = if count == 0 {
                0
            } else {
                (count * BAR_CHARS_MAX / total).max(1)
            };
            (status, count, "█".repeat(width))
        })
        .collect()
}

/// The console summary: the bar line, the counts, then every row that fails or needs
/// attention.
pub fn console(report: &Report) -> String {
    let mut out = String::new();
    let bar_line: Vec<String> = bar(report)
        .into_iter()
        .map(|(status, count, bar)| format!("{status} {count} {bar}"))
        .collect();
    let _ = writeln!(out, "{}", bar_line.join("  "));
    let _ = writeln!(out, "\n{:<18} {:>5}", "STATUS", "ROWS");
    for (status, count) in report.counts() {
        let _ = writeln!(out, "{:<18} {count:>5}", status.name());
    }
    let flagged: Vec<_> = report
        .findings
        .iter()
        .filter(|finding| matches!(finding.status, Status::Fail | Status::NeedsAttention))
        .collect();
    if !flagged.is_empty() {
        let _ = writeln!(out, "\n{:<16} {:<12} {:<50}", "STATUS", "CLAUSE", "CHECK");
        for finding in flagged {
            let _ = writeln!(
                out,
                "{:<16} {:<12} {}",
                finding.status.name(),
                finding.clause,
                finding.title
            );
            for line in &finding.evidence {
                let _ = writeln!(out, "{:<29} {line}", "");
            }
        }
    }
    out
}

/// Escapes text for a Markdown table cell: no `|`, no line break, and no raw HTML.
fn markdown_cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn heading_facts(report: &Report) -> Vec<(&'static str, String)> {
    vec![
        (
            "Generated",
            format!("{} UTC", utc_date(report.generated_at_ms)),
        ),
        ("Profile", report.profile.clone()),
        (
            "Configuration",
            report
                .config_file
                .clone()
                .unwrap_or_else(|| "built-in defaults and INSPAY__ variables".into()),
        ),
        ("Database", report.database.clone()),
        (
            "Version",
            format!(
                "{} (commit {})",
                env!("CARGO_PKG_VERSION"),
                env!("INSPAY_BUILD_COMMIT")
            ),
        ),
    ]
}

/// The Markdown report.
pub fn markdown(report: &Report) -> String {
    let mut out = String::from("# inspay compliance self-assessment\n\n");
    for (name, value) in heading_facts(report) {
        let _ = writeln!(out, "- {name}: {}", markdown_cell(&value));
    }
    out.push_str(
        "\nEach row names a clause of the requirement catalogue. `fail` rows break the clause on \
         this installation; `needs-attention` rows ask an operator to act; `not-checked-here` \
         clauses are about the code or the process: see their row in docs/compliance.md.\n\n\
         ## Summary\n\n| Status | Rows | |\n|---|---:|---|\n",
    );
    for (status, count, bar) in bar(report) {
        let _ = writeln!(out, "| {status} | {count} | {bar} |");
    }
    out.push_str("\n## Checks\n\n| Clause | Check | Status | Evidence |\n|---|---|---|---|\n");
    for finding in &report.findings {
        let evidence: Vec<String> = finding.evidence.iter().map(|e| markdown_cell(e)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            markdown_cell(&finding.clause),
            markdown_cell(&finding.title),
            finding.status,
            evidence.join("<br>")
        );
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;width:100%}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}\
.bar{display:flex;height:1.2em;width:100%;margin:1em 0}\
.bar div{height:100%}\
.pass{background:#cfe8cf}.fail{background:#f4c2c2}\
.needs-attention{background:#fde9b8}.not-checked-here{background:#e6e6e6}\
ul{margin:0;padding-left:1.2em}";

/// The HTML report: one file, inline CSS, no script, every text escaped.
pub fn html(report: &Report) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>inspay compliance self-assessment</title><style>{STYLE}</style></head><body>\n\
         <h1>inspay compliance self-assessment</h1>\n<ul>\n"
    );
    for (name, value) in heading_facts(report) {
        let _ = writeln!(out, "<li>{name}: {}</li>", html_escape(&value));
    }
    out.push_str("</ul>\n<h2>Summary</h2>\n<div class=\"bar\">");
    let counts = report.counts();
    let total: usize = counts.iter().map(|(_, count)| count).sum::<usize>().max(1);
    for (status, count) in counts {
        if count > 0 {
            let _ = write!(
                out,
                "<div class=\"{status}\" style=\"width:{}%\" title=\"{status}: {count}\"></div>",
                count * 100 / total
            );
        }
    }
    out.push_str("</div>\n<table><tr><th>Status</th><th>Rows</th></tr>\n");
    for (status, count) in counts {
        let _ = writeln!(
            out,
            "<tr><td class=\"{status}\">{status}</td><td>{count}</td></tr>"
        );
    }
    out.push_str(
        "</table>\n<h2>Checks</h2>\n<table><tr><th>Clause</th><th>Check</th><th>Status</th>\
         <th>Evidence</th></tr>\n",
    );
    for finding in &report.findings {
        let evidence: String = finding
            .evidence
            .iter()
            .map(|line| format!("<li>{}</li>", html_escape(line)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{status}\">{status}</td><td><ul>{evidence}</ul></td></tr>",
            html_escape(&finding.clause),
            html_escape(&finding.title),
            status = finding.status,
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::compliance::model::Finding;

    fn report() -> Report {
        Report {
            generated_at_ms: 0,
            profile: "development".into(),
            config_file: None,
            database: "sqlite://x".into(),
            findings: vec![
                Finding::new(
                    "5.5.1.2",
                    "A <check>",
                    Status::Fail,
                    vec!["value <script>alert('x')</script> | pipe".into()],
                ),
                Finding::new("6.1.1", "Design", Status::NotCheckedHere, vec![]),
            ],
        }
    }

    #[test]
    fn html_has_no_script_and_escapes_text() {
        let html = html(&report());
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("A &lt;check&gt;"));
    }

    #[test]
    fn markdown_cells_stay_in_their_column() {
        let markdown = markdown(&report());
        let row = markdown
            .lines()
            .find(|line| line.starts_with("| 5.5.1.2"))
            .unwrap_or_default();
        assert!(row.contains("\\| pipe"), "{row}");
        assert!(!row.contains("<script"), "{row}");
    }

    #[test]
    fn the_bar_shows_every_status_present() {
        let bars = bar(&report());
        assert_eq!(bars[1].1, 1);
        assert_eq!(bars[1].2, "█".repeat(20));
        assert!(bars[0].2.is_empty());
    }
}
