//! Traceability: the requirement catalogue, the matrix in `docs/compliance.md` and the tests
//! that prove requirements must agree (clause 6.2.2: development documentation that stays
//! true as the code changes).
//!
//! * The catalogue is `../shared/spec/requirements.md`, beside the repository. Every row of its
//!   tables whose first cell is not the header starts with a requirement ID (`4-a`, `5.2.1.1-d2`,
//!   `6.4.6`).
//! * The matrix is every table in `docs/compliance.md` whose header is
//!   `| ID | Requirement (short) | Status | Where met | Tests |`, plus one `| Status | IDs |`
//!   table that counts the rows per status.
//! * A test names the requirements it proves with a tag line in its doc comment: the word `req`,
//!   a colon, then IDs separated by commas, spaces or slashes. A test may have several tag lines.
//!
//! The check fails when the catalogue and the matrix disagree on the IDs, when a status is not one
//! of the four words, when a tag is malformed, sits on something other than a test function or
//! names an ID the matrix does not know, when an ID is marked `met` but no test names it, when
//! the Tests column names a test function that does not exist (or, for a `met` row, none that
//! carries the row's tag), and when the counts table is wrong. Every failure names the file and
//! line to fix, and all failures are listed at once.

mod checks;
mod error_codes;
mod parsing;
mod repository;
mod tags;

use checks::{findings, report};
use error_codes::{error_codes, is_error_code};
use parsing::{Matrix, Row, catalogue_ids, is_requirement_id, parse_matrix};
use repository::{read, repository_root, scan_repository};
use tags::{Scan, Tag, scan_source, tag_ids};

/// The four statuses a matrix row may have.
const STATUSES: [&str; 4] = ["met", "partial", "planned", "not applicable"];
/// The header of a matrix table.
const MATRIX_HEADER: [&str; 5] = ["ID", "Requirement (short)", "Status", "Where met", "Tests"];
/// The header of the table that counts rows per status.
const COUNTS_HEADER: [&str; 2] = ["Status", "IDs"];
/// The row of the counts table that holds the number of all IDs.
const COUNTS_TOTAL: &str = "total";
/// What starts a tag in a doc comment.
const TAG: &str = "req:";
/// Lines an attribute may span before the scanner stops treating what follows as part of it.
const ATTRIBUTE_LINES_MAX: usize = 12;
/// The catalogue, relative to the repository root.
const CATALOGUE: &str = "../shared/spec/requirements.md";
/// The matrix, relative to the repository root.
const MATRIX: &str = "docs/compliance.md";
/// Where tagged tests live, relative to the repository root.
const SOURCES: &str = "crates";
/// The design document that must name every crate.
const ARCHITECTURE: &str = "docs/architecture.md";
/// The operator guide that must explain every error code.
const OPERATOR_GUIDE: &str = "docs/operator-guide.md";
/// The server's error catalogue.
const ERROR_CATALOGUE: &str = "crates/inspay-server/src/error.rs";
/// Largest source file read; nothing in `crates/` comes near it.
const FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// The matrix in docs/compliance.md lists exactly the catalogue's requirement IDs, each with one
/// of the four statuses; every test tag is well formed, sits on a test and names an ID the
/// matrix knows; every ID marked met is named by a test that the matrix's Tests column lists;
/// every test the matrix lists exists; and the counts table is right. The development
/// documentation therefore cannot drift from the code without this test failing.
/// req: 6.2.2
#[test]
fn matrix_covers_the_catalogue_and_every_tag() {
    let root = repository_root();
    let catalogue_path = root.join(CATALOGUE);
    assert!(
        catalogue_path.is_file(),
        "the requirement catalogue is missing: expected {} (the shared directory sits beside the \
         repository, at <repo>/../shared; CI always has it). Without it the traceability check \
         cannot run.",
        catalogue_path.display()
    );
    let catalogue = catalogue_ids(&read(&catalogue_path)).unwrap_or_else(|errors| {
        panic!(
            "the catalogue could not be read:\n  {}",
            errors.join("\n  ")
        )
    });
    assert!(
        catalogue.len() > 100,
        "only {} IDs found in {CATALOGUE}: the catalogue parser is broken",
        catalogue.len()
    );
    let matrix = parse_matrix(&read(&root.join(MATRIX)));
    let scan = scan_repository(&root);
    assert!(
        scan.tags.len() > 50 && scan.tests.len() > 50,
        "only {} tags on {} tests found under {SOURCES}/: the source scanner is broken",
        scan.tags.len(),
        scan.tests.len()
    );
    let groups = findings(&catalogue, &matrix, &scan);
    assert!(
        groups.is_empty(),
        "the traceability matrix is out of date:{}",
        report(&groups)
    );
}

/// Requirement IDs are recognised in every shape the catalogue uses, and nothing else is.
#[test]
fn requirement_ids_have_the_catalogue_shapes() {
    for id in [
        "4-a",
        "5.1-b",
        "5.2.1.1",
        "5.2.1.1-d2",
        "5.6.5-a1",
        "6.4.6",
        "5.3.4",
    ] {
        assert!(is_requirement_id(id), "{id}");
    }
    for text in [
        "", "ID", "5.", ".5", "5..1", "5.1-", "5.1-A", "5.1-ab", "5.1-a-b", "v5.1", "5.l",
    ] {
        assert!(!is_requirement_id(text), "{text}");
    }
}

/// The catalogue parser takes the first cell of every table row, skips headers and separators,
/// and refuses rows that do not start with an ID and IDs given twice.
#[test]
fn catalogue_parser_reads_ids_and_refuses_odd_rows() {
    let text = "# Catalogue\n\n| ID | requirement | note |\n|---|---|---|\n\
                | 4-a | Classes. | |\n| 5.2.1.1-d2 | SMS `codes` \\| OTP. | 6 digits |\n\ntext\n";
    let ids = catalogue_ids(text).expect("parses");
    assert_eq!(
        ids,
        vec![("4-a".to_string(), 5), ("5.2.1.1-d2".to_string(), 6)]
    );
    let odd = "| ID | r |\n|---|---|\n| 4-a | x |\n| 4-a | again |\n| note | y |\n";
    let errors = catalogue_ids(odd).expect_err("refused");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains(":4:") && errors[0].contains("twice"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains(":5:") && errors[1].contains("'note'"),
        "{errors:?}"
    );
}

/// The matrix parser reads only tables with the matrix header, keeps the Tests column's
/// `file::function` references, reads the counts table, and reports wrong statuses, wrong cell
/// counts, non-IDs and duplicates with their line numbers.
#[test]
fn matrix_parser_reads_rows_and_reports_mistakes() {
    let text = "Intro.\n\n| Status | IDs |\n|---|---|\n| met | 1 |\n| total | 3 |\n\n\
                | ID | Requirement (short) | Status | Where met | Tests |\n|---|---|---|---|---|\n\
                | `5.3.4` | Rollback. | met | `a.rs` | `crates/x/tests/y.rs::first`, crates/x/src/z.rs::second<br>none yet |\n\
                | 5.1-a | Basic. | Planned | issue 3 | |\n\
                | 5.1-b | Enhanced. | planned | issue 3 |\n\
                | oops | x | met | y | z |\n\
                | 5.3.4 | Again. | partial | x | |\n\n\
                | Other | table |\n|---|---|\n| met | 9 |\n";
    let matrix = parse_matrix(text);
    assert_eq!(
        matrix.counts,
        vec![("met".to_string(), 1, 5), ("total".to_string(), 3, 6)]
    );
    assert_eq!(matrix.rows.len(), 2, "{:?}", matrix.rows);
    assert_eq!(
        matrix.rows[0],
        Row {
            id: "5.3.4".into(),
            status: "met".into(),
            tests: vec![
                "crates/x/tests/y.rs::first".into(),
                "crates/x/src/z.rs::second".into()
            ],
            line: 10,
        }
    );
    assert_eq!(matrix.rows[1].status, "Planned");
    let errors = matrix.errors.join("\n");
    assert_eq!(matrix.errors.len(), 4, "{errors}");
    for expected in [
        ":11: 5.1-a has status 'Planned'",
        ":12: a matrix row has 4 cells",
        ":13: 'oops'",
        ":14: 5.3.4 is listed twice (also at line 10)",
    ] {
        assert!(errors.contains(expected), "{expected} not in:\n{errors}");
    }
}

/// Tag IDs may be separated by commas, spaces or slashes and quoted in backticks; a token that
/// is not an ID, or no ID at all, is an error naming the token.
#[test]
fn tag_ids_are_split_and_checked() {
    let ids = |text| tag_ids(text).expect(text);
    assert_eq!(ids(" 5.6.3.2, 5.6.5-a2"), ["5.6.3.2", "5.6.5-a2"]);
    assert_eq!(ids(" 5.6.3.2 / 5.6.5-a2"), ["5.6.3.2", "5.6.5-a2"]);
    assert_eq!(ids(" `5.5.1.2` 5.5.1.3."), ["5.5.1.2", "5.5.1.3"]);
    assert!(
        tag_ids(" 5.5.1.2 (weak algorithms)")
            .expect_err("prose")
            .contains("'(weak'")
    );
    assert!(tag_ids(" 5.5.l.2").is_err());
    assert!(tag_ids("   ").expect_err("empty").contains("no ID"));
}

/// The source scanner attaches tag lines (several per doc comment, on any line of it) to the
/// test function that follows, across multi-line test attributes and other attributes, records
/// untagged tests too, and reports tags on non-test functions, on other items and in module
/// docs, and malformed tags, each with its line.
#[test]
fn source_scanner_attaches_tags_to_tests() {
    let tag = TAG;
    let source = [
        "//! Module doc.".to_string(),
        "/// Proves two things.".into(),
        format!("/// {tag} 5.6.3.2"),
        "/// More prose.".into(),
        format!("/// {tag} 5.6.5-a2 / 5.6.5-a1"),
        "#[tokio::test(".into(),
        "    flavor = \"multi_thread\"".into(),
        ")]".into(),
        "#[ignore]".into(),
        "async fn first_test() {}".into(),
        String::new(),
        "#[test]".into(),
        "fn untagged_test() {}".into(),
        format!("/// {tag} 5.3.4"),
        "pub fn helper() {}".into(),
        format!("/// {tag} 5.3.4"),
        "struct Thing;".into(),
        format!("//! {tag} 5.3.4"),
        format!("/// Prose then {tag} 5.3.4"),
        format!("/// {tag} five"),
        "#[test]".into(),
        "fn last() {}".into(),
    ]
    .join("\n");
    let mut scan = Scan::default();
    scan_source("crates/x/tests/t.rs", &source, &mut scan);
    let tags: Vec<(&str, usize, &str)> = scan
        .tags
        .iter()
        .map(|tag| (tag.id.as_str(), tag.line, tag.test.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("5.6.3.2", 3, "first_test"),
            ("5.6.5-a2", 5, "first_test"),
            ("5.6.5-a1", 5, "first_test")
        ]
    );
    let tests: Vec<&str> = scan.tests.iter().map(String::as_str).collect();
    assert_eq!(
        tests,
        [
            "crates/x/tests/t.rs::first_test",
            "crates/x/tests/t.rs::last",
            "crates/x/tests/t.rs::untagged_test"
        ]
    );
    let errors = scan.errors.join("\n");
    assert_eq!(scan.errors.len(), 5, "{errors}");
    for expected in [
        "t.rs:14: tag on function helper",
        "t.rs:16: tag on the item at line 17",
        "t.rs:18: a tag in a module's doc comment",
        "t.rs:19: malformed tag",
        "t.rs:20: malformed tag: 'five'",
    ] {
        assert!(errors.contains(expected), "{expected} not in:\n{errors}");
    }
}

/// The checks report, with file and line, each kind of disagreement: a catalogue ID missing
/// from the matrix, a matrix ID not in the catalogue, a tag naming an unknown ID, an ID marked
/// met that no test names, a listed test that does not exist, a met row whose listed tests do
/// not carry its tag, and wrong counts. A consistent set passes.
#[test]
fn checks_report_every_kind_of_disagreement() {
    let catalogue = vec![
        ("4-a".to_string(), 10),
        ("5.3.4".to_string(), 11),
        ("6.2.2".to_string(), 12),
    ];
    let row = |id: &str, status: &str, tests: &[&str], line| Row {
        id: id.into(),
        status: status.into(),
        tests: tests.iter().map(|test| test.to_string()).collect(),
        line,
    };
    let tag = |id: &str, test: &str| Tag {
        id: id.into(),
        file: "crates/t.rs".into(),
        line: 7,
        test: test.into(),
    };
    let counts = |met, planned, total| {
        vec![
            ("met".to_string(), met, 1),
            ("partial".to_string(), 0, 2),
            ("planned".to_string(), planned, 3),
            ("not applicable".to_string(), 0, 4),
            ("total".to_string(), total, 5),
        ]
    };
    let good = Matrix {
        rows: vec![
            row("4-a", "planned", &[], 20),
            row("5.3.4", "met", &["crates/t.rs::kill"], 21),
            row("6.2.2", "met", &["crates/t.rs::docs"], 22),
        ],
        counts: counts(2, 1, 3),
        errors: vec![],
    };
    let scan = Scan {
        tags: vec![tag("5.3.4", "kill"), tag("6.2.2", "docs")],
        tests: ["crates/t.rs::kill", "crates/t.rs::docs"]
            .map(String::from)
            .into(),
        errors: vec![],
    };
    assert!(
        findings(&catalogue, &good, &scan).is_empty(),
        "{}",
        report(&findings(&catalogue, &good, &scan))
    );

    let bad = Matrix {
        rows: vec![
            row("5.3.4", "met", &["crates/t.rs::gone"], 21),
            row("6.2.2", "met", &["crates/t.rs::kill"], 22),
            row("9.9", "partial", &[], 23),
        ],
        counts: counts(2, 1, 3),
        errors: vec![],
    };
    let scan = Scan {
        tags: vec![tag("5.3.4", "kill"), tag("7.1", "kill")],
        ..scan
    };
    let text = report(&findings(&catalogue, &bad, &scan));
    for expected in [
        "4-a (../shared/spec/requirements.md:10)",
        "9.9 (docs/compliance.md:23)",
        "7.1 (crates/t.rs:7, test kill)",
        "IDs marked met that no test names (1):\n  6.2.2 (docs/compliance.md:22)",
        "5.3.4 (docs/compliance.md:21): no test function crates/t.rs::gone",
        "5.3.4 (docs/compliance.md:21): marked met, but none",
        "6.2.2 (docs/compliance.md:22): marked met, but none",
        "docs/compliance.md:3: planned is counted as 1; the matrix has 0",
        "docs/compliance.md:2: partial is counted as 0; the matrix has 1",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
}

/// docs/architecture.md describes every crate of the workspace: each directory under crates/
/// is named in it, so a crate cannot be added without its place in the overall design.
/// req: 6.1.1
#[test]
fn architecture_names_every_crate() {
    let root = repository_root();
    let design = read(&root.join(ARCHITECTURE));
    let mut crates: Vec<String> = std::fs::read_dir(root.join(SOURCES))
        .expect("crates/ lists")
        .flatten()
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    assert!(crates.len() >= 6, "only {crates:?} found under {SOURCES}/");
    let missing: Vec<&String> = crates
        .iter()
        .filter(|name| !design.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "{ARCHITECTURE} does not describe these crates (write each name in backticks): {missing:?}"
    );
}

/// Every stable error code of the server's catalogue is explained in the operator guide's
/// error catalogue, so an integrator never meets a code the manual does not describe.
/// req: 6.2.3
#[test]
fn operator_guide_explains_every_error_code() {
    let root = repository_root();
    let codes = error_codes(&read(&root.join(ERROR_CATALOGUE)));
    assert!(
        codes.len() >= 10,
        "only {codes:?} found in {ERROR_CATALOGUE}: the code reader is broken"
    );
    let guide = read(&root.join(OPERATOR_GUIDE));
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !guide.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "{OPERATOR_GUIDE} does not explain these error codes (write each in backticks): {missing:?}"
    );
}

/// The error-code reader finds each code literal once, and not prefixes, placeholders or
/// codes written outside string literals.
#[test]
fn error_codes_are_read_from_string_literals() {
    let source = r#"A => ("INSPAY-REQ-001", BAD_REQUEST, "Bad."), B => ("INSPAY-SYS-001", X, "INSPAY down"), C => ("INSPAY-REQ-001", Y, "again"), strip_prefix("INSPAY-"), expect("INSPAY-FAMILY-NNN"), // INSPAY-XYZ-9"#;
    assert_eq!(error_codes(source), ["INSPAY-REQ-001", "INSPAY-SYS-001"]);
    assert!(!is_error_code("INSPAY-REQ-01") && !is_error_code("INSPAY-req-001"));
}

/// CI runs the attack tools against running servers: `.ci/run` calls
/// `scripts/security-tests.sh` as a checked step, and the script runs schemathesis from the
/// server's own OpenAPI description, sqlmap and testssl.sh, each under a time limit, and fails
/// the run on any finding.
/// req: 5.4.3.3
#[test]
fn ci_runs_the_attack_tools() {
    let root = repository_root();
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    // Started in the background beside the PostgreSQL tests, waited for, and its exit status
    // checked like any step.
    let step = ci
        .lines()
        .position(|line| line.trim_start().starts_with("env INSPAY_BIN="))
        .expect("a step with INSPAY_BIN");
    assert!(
        ci.lines()
            .nth(step + 1)
            .is_some_and(|line| line.contains("bash scripts/security-tests.sh")),
        "the step runs scripts/security-tests.sh"
    );
    let started = ci
        .lines()
        .skip(step)
        .take(4)
        .any(|line| line.trim() == "attack_pid=$!");
    assert!(started, "the step's process is kept as attack_pid");
    for needle in [
        "wait \"$attack_pid\" || attack_status=$?",
        "check test \"$attack_status\" -eq 0",
    ] {
        assert!(ci.contains(needle), ".ci/run lacks {needle}");
    }
    let script =
        std::fs::read_to_string(root.join("scripts/security-tests.sh")).expect("the script");
    for needle in [
        "schemathesis",
        "/v1/openapi.json",
        "sqlmap",
        "testssl",
        "timeout",
        "RESULT: FAIL",
        "exit 1",
    ] {
        assert!(script.contains(needle), "the script lacks {needle}");
    }
}
