//! JUnit XML for CI systems (GitLab's `artifacts:reports:junit`, GitHub's test-report
//! actions, Jenkins): one `<testsuite>` per scenario, one `<testcase>` per expectation, a
//! `<failure>` carrying the actual value(s) and seeds.
//!
//! The de-facto schema (Jenkins' / Ant's `junit-4.xsd`, which GitLab documents as its input):
//! `testsuites` > `testsuite name tests failures` > `testcase name classname [file line]` >
//! `failure message type` with text. No timestamps or durations, so the report is
//! byte-identical for the same scenarios and seeds.

use super::Report;

/// Escapes text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML.
pub fn junit_xml(report: &Report) -> String {
    let tests: usize = report.scenarios.iter().map(|s| s.results.len()).sum();
    let failures: usize = report
        .scenarios
        .iter()
        .map(|s| s.results.iter().filter(|r| !r.verdict.passed).count())
        .sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"rollsim check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"
    ));
    for s in &report.scenarios {
        let f = s.results.iter().filter(|r| !r.verdict.passed).count();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"0\" file=\"{}\">\n",
            escape(&s.name),
            s.results.len(),
            escape(&s.file)
        ));
        x.push_str(&format!(
            "    <properties>\n      <property name=\"runs\" value=\"{}\"/>\n      <property name=\"seeds\" value=\"{}\"/>\n    </properties>\n",
            s.seeds.len(),
            match s.seeds.as_slice() {
                [a, .., b] => format!("{a}-{b}"),
                [a] => a.to_string(),
                [] => String::new(),
            }
        ));
        for r in &s.results {
            let e = &r.expectation;
            let name = format!("{} {}", e.path, r.shown_expr());
            let open = format!(
                "    <testcase name=\"{}\" classname=\"rollsim.{}\" file=\"{}\" line=\"{}\"",
                escape(&name),
                escape(&s.name),
                escape(&s.file),
                e.line
            );
            if r.verdict.passed {
                x.push_str(&format!("{open}/>\n"));
            } else {
                x.push_str(&format!(
                    "{open}>\n      <failure type=\"expectation\" message=\"{}\">{}:{}: {} = \"{}\": {}</failure>\n    </testcase>\n",
                    escape(&r.verdict.message),
                    escape(&s.file),
                    e.line,
                    escape(&e.path),
                    escape(&r.shown_expr()),
                    escape(&r.verdict.message)
                ));
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            escape("<= 1.2 * baseline & 'x' \"y\""),
            "&lt;= 1.2 * baseline &amp; &apos;x&apos; &quot;y&quot;"
        );
        assert_eq!(escape("a\u{1}b"), "a b");
    }
}
