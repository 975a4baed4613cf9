//! Reading each process's `/metrics`, and printing the results as tables and a JSON line.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

/// The samples of a `/metrics` scrape by series, `name{labels}` exactly as rendered (`# `
/// comment lines skipped); empty when the process does not answer.
pub async fn scrape(base: &str) -> HashMap<String, f64> {
    let Ok(res) = reqwest::get(format!("{base}/metrics")).await else {
        return HashMap::new();
    };
    let text = res.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(series, value)| Some((series.to_owned(), value.parse::<f64>().ok()?)))
        .collect()
}

/// The value of label `label` in a rendered series (`name{a="x",b="y"}`).
fn label<'a>(series: &'a str, label: &str) -> Option<&'a str> {
    let labels = series.split_once('{')?.1.strip_suffix('}')?;
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == label).then(|| v.trim_matches('"'))
    })
}

/// What one process's metrics say about where its time went: per group-commit writer, the
/// claims, the attempts and the deliveries by outcome.
pub fn profile(process: &str, samples: &HashMap<String, f64>) -> Vec<Value> {
    let mut rows = Vec::new();
    let round = |x: f64, places: i32| (x * 10f64.powi(places)).round() / 10f64.powi(places);
    // Counters and histogram counts are whole numbers, rendered as floats.
    let whole = |n: f64| n.round() as u64;
    let mean = |sum: Option<&f64>, count: f64| sum.map(|s| if count > 0.0 { s / count } else { 0.0 });
    let writers: BTreeMap<&str, f64> = samples
        .iter()
        .filter(|(k, _)| k.starts_with("herald_group_commit_size_count{"))
        .filter_map(|(k, v)| Some((label(k, "writer")?, *v)))
        .collect();
    for (writer, count) in writers {
        let labels = format!("{{writer=\"{writer}\"}}");
        let size = mean(samples.get(&format!("herald_group_commit_size_sum{labels}")), count);
        let secs = mean(samples.get(&format!("herald_group_commit_seconds_sum{labels}")), count);
        rows.push(
            json!({"process": process, "what": format!("group commit {writer}"), "count": whole(count),
            "mean_size": size.map(|x| round(x, 2)), "mean_ms": secs.map(|x| round(x * 1000.0, 3))}),
        );
    }
    if let Some(&count) = samples.get("herald_queue_claim_seconds_count") {
        let rows_mean = mean(samples.get("herald_queue_claim_rows_sum"), count);
        let secs = mean(samples.get("herald_queue_claim_seconds_sum"), count);
        rows.push(json!({"process": process, "what": "queue claim", "count": whole(count),
            "mean_size": rows_mean.map(|x| round(x, 2)), "mean_ms": secs.map(|x| round(x * 1000.0, 3))}));
    }
    if let Some(&count) = samples.get("herald_attempt_duration_seconds_count") {
        let secs = mean(samples.get("herald_attempt_duration_seconds_sum"), count);
        rows.push(json!({"process": process, "what": "attempt", "count": whole(count),
            "mean_size": null, "mean_ms": secs.map(|x| round(x * 1000.0, 3))}));
    }
    let outcomes: BTreeMap<&str, f64> = samples
        .iter()
        .filter(|(k, _)| k.starts_with("herald_deliveries_total{"))
        .filter_map(|(k, v)| Some((label(k, "outcome")?, *v)))
        .collect();
    for (outcome, count) in outcomes {
        rows.push(
            json!({"process": process, "what": format!("deliveries {outcome}"), "count": whole(count),
            "mean_size": null, "mean_ms": null}),
        );
    }
    if let Some(&events) = samples.get("herald_events_ingested_total") {
        rows.push(
            json!({"process": process, "what": "events ingested", "count": whole(events),
            "mean_size": null, "mean_ms": null}),
        );
    }
    rows
}

/// The `p` quantile (0..=1) of `sorted`, nearest rank; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints `result` as a table of metrics, `profiles` as a table of what the processes counted,
/// then `result` again as one JSON line for scripts.
pub fn print(result: &Value, profiles: &[Value]) {
    println!("| metric | value |\n|---|---|");
    for (k, v) in result
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "profile")
    {
        println!("| {k} | {v} |");
    }
    println!("\n| process | what (from /metrics) | count | mean size | mean ms |\n|---|---|---|---|---|");
    for row in profiles {
        let cell = |k: &str| match &row[k] {
            Value::Null => "–".to_owned(),
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            cell("process"),
            cell("what"),
            cell("count"),
            cell("mean_size"),
            cell("mean_ms")
        );
    }
    println!("{result}");
}
