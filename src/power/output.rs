//! `rollsim power`'s table: one row per analysis configuration, missing values as "—".

use super::{PowerReport, Rate, Spread};

fn num(x: f64) -> String {
    // Whole numbers and large values without decimals; seconds to 0.1.
    if x.fract() == 0.0 || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn rate(r: &Option<Rate>) -> (String, String) {
    match r {
        Some(Rate {
            count,
            n,
            rate: Some(p),
            ci95: Some([l, h]),
        }) => (format!("{count}/{n} = {p:.2}"), format!("{l:.2}–{h:.2}")),
        _ => ("—".into(), "—".into()),
    }
}

fn spread(s: &Spread) -> String {
    let f = |x: Option<f64>| x.map_or("—".to_string(), num);
    if s.n == 0 {
        return "—".into();
    }
    format!("{} / {} / {}", f(s.median), f(s.p90), f(s.max))
}

/// The report as an aligned text table with a header line and notes.
pub(super) fn table(r: &PowerReport) -> String {
    let mut out = format!(
        "power: {} — bad release {}, {} runs per twin on seeds {}–{} (paired)\n\n",
        r.scenario,
        r.bad_versions.join(", "),
        r.runs,
        r.seeds[0],
        r.seeds[1]
    );
    let header = [
        "analysis",
        "power",
        "95 % CI",
        "false alarms",
        "95 % CI",
        "detect s",
        "bad requests",
        "users exposed",
        "time added s",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    rows.push(
        [
            "",
            "",
            "",
            "",
            "",
            "med / p90 / max",
            "med / p90 / max",
            "med / p90 / max",
            "med / p90 / max",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect(),
    );
    for row in &r.rows {
        let (p, pci) = rate(&row.power);
        let (f, fci) = rate(&row.false_alarms);
        rows.push(vec![
            row.analysis.clone(),
            p,
            pci,
            f,
            fci,
            spread(&row.detect_s),
            spread(&row.bad_requests),
            spread(&row.users_exposed),
            row.time_added_s.as_ref().map_or("—".into(), spread),
        ]);
    }
    let cols = header.len();
    let width: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let inconclusive: u32 = r
        .rows
        .iter()
        .map(|x| x.inconclusive.iter().sum::<u32>())
        .sum();
    out.push_str(
        "\npower: bad runs whose analysis failed (Wilson 95 % interval); false alarms: healthy-twin runs it failed;\n\
         detect s: rollout.detect_s of detected runs; bad requests, users exposed: every bad run (a missed one counts all it served);\n\
         time added: healthy twin's rollout duration minus the same twin's without analysis, per seed where both completed.\n",
    );
    if inconclusive > 0 {
        out.push_str(&format!(
            "{inconclusive} run(s) ended paused on an inconclusive analysis (counted neither as detected nor as false alarms; see --json).\n"
        ));
    }
    out
}
