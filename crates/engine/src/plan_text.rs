//! The Terraform-like text of a plan: one block per sync with `+` creates, `~` updates (each
//! changed field before → after), the list's `+`/`-` members (a sample of five with the
//! count) or an ODP field's joining, changing and cleared profiles (a sample of ten), then rejected rows, warnings, guardrails and refusals, and a summary line with the
//! request count and the time the rate limit makes them take.
//!
//! A huge plan is summarised: each section (creates, updates, skipped rows, rejected rows)
//! shows its first [`SECTION_LIMIT`] items and then how many more there are, so a plan of two
//! million rows prints a few pages rather than hundreds of megabytes. `--output json` and
//! `plan --out` always hold everything.

use std::fmt::Write;
use std::time::Duration;

use optisync_core::{Change, Field, FieldValue, Fields, Ids, SyncPlan};
use optisync_optimizely::RateLimit;

/// How many member ids a list block shows.
pub const SAMPLE: usize = 5;

/// How many items of each section (creates, updates, skipped rows, rejected rows) the text
/// shows before it summarises the rest.
pub const SECTION_LIMIT: usize = 200;

/// Counts what a section leaves out, for the "… and N more" line.
#[derive(Default)]
struct Section {
    shown: usize,
    hidden: u64,
}

impl Section {
    /// Whether the next item is shown (counting it either way).
    fn show(&mut self) -> bool {
        if self.shown < SECTION_LIMIT {
            self.shown += 1;
            true
        } else {
            self.hidden += 1;
            false
        }
    }

    fn more_line(&self, out: &mut String, what: &str) {
        if self.hidden > 0 {
            let _ = writeln!(
                out,
                "  … and {} more {what} (use --output json or plan --out to see all)",
                thousands(self.hidden)
            );
        }
    }
}

/// The text of one sync's plan.
pub fn render(plan: &SyncPlan, limit: RateLimit) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sync {} ({} {}): {} read",
        plan.sync,
        plan.kind.object(),
        plan.kind.mode(),
        count(plan.rows_read, "row")
    );
    if let Some(list) = plan.list() {
        let before = list
            .before_count
            .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        if list.patch {
            let _ = writeln!(
                out,
                "  ~ list attribute {}: {before} → {} members",
                list.list_attribute_id, list.after_count
            );
        } else {
            let _ = writeln!(
                out,
                "    list attribute {}: {} members, unchanged",
                list.list_attribute_id, list.after_count
            );
        }
        member_line(&mut out, '+', "added", &list.added);
        member_line(&mut out, '-', "removed", &list.removed);
        if list.duplicates > 0 {
            let _ = writeln!(out, "      {} duplicate ids counted once", list.duplicates);
        }
        if let Some(drift) = &list.drift {
            let _ = writeln!(
                out,
                "  ! drift: the list holds {} members, optisync delivered {}: {} missing, {} not written by optisync (edited by hand?)",
                drift.remote_count,
                drift.delivered_count,
                drift.missing_count,
                drift.unexpected_count
            );
        }
    }
    if let Some(body) = plan.profiles() {
        profiles_block(&mut out, body);
    }
    let (mut creates, mut updates) = (Section::default(), Section::default());
    for change in plan.changes() {
        match change {
            Change::Create {
                primary_key,
                fields,
                ..
            } => {
                if !creates.show() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "  + {} {}",
                    plan.kind.object(),
                    identity(fields, primary_key)
                );
                for (field, value) in fields.iter() {
                    let _ = writeln!(out, "      {field}: {}", show(value));
                }
            }
            Change::Update {
                primary_key,
                remote_id,
                changed,
                unarchive,
                fields,
                ..
            } => {
                if !updates.show() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "  ~ {} {} (id {remote_id})",
                    plan.kind.object(),
                    identity(fields, primary_key)
                );
                for c in changed {
                    let before = c.before.as_ref().map_or_else(|| "(unset)".to_owned(), show);
                    let _ = writeln!(out, "      {}: {before} → {}", c.field, show(&c.after));
                }
                if *unarchive {
                    let _ = writeln!(out, "      archived: true → false");
                }
            }
        }
    }
    creates.more_line(&mut out, "creates");
    updates.more_line(&mut out, "updates");
    let mut skipped = Section::default();
    for skip in plan.skipped() {
        let optisync_core::Skip::AlreadyExists { message, .. } = skip;
        if skipped.show() {
            let _ = writeln!(out, "  = skipped: {message}");
        }
    }
    skipped.more_line(&mut out, "skipped rows");
    if !plan.record_only().is_empty() {
        let _ = writeln!(
            out,
            "    {} rows matched existing objects (recorded in state, nothing sent)",
            plan.record_only().len()
        );
    }
    let mut rejected = Section::default();
    for row in &plan.rejected {
        if !rejected.show() {
            continue;
        }
        let key = row.primary_key.as_deref().unwrap_or("(no key)");
        let field = row.field.as_deref().unwrap_or("row");
        let _ = writeln!(out, "  ! rejected {key:?} ({field}): {}", row.reason);
    }
    rejected.more_line(&mut out, "rejected rows");
    for warning in &plan.warnings {
        let _ = writeln!(out, "  ! warning: {warning}");
    }
    for guardrail in &plan.guardrails {
        let _ = writeln!(out, "  ✗ blocked: {guardrail}");
    }
    if let Some(refusal) = &plan.refusal {
        let _ = writeln!(out, "  ✗ refused: {refusal}");
    }
    let creates = plan
        .changes()
        .iter()
        .filter(|c| matches!(c, Change::Create { .. }))
        .count();
    let requests = if plan.refusal.is_some() {
        // A refused plan sends nothing, whatever it would have taken.
        "nothing will be sent".to_owned()
    } else {
        requests_line(plan.request_count(), limit)
    };
    if let Some(body) = plan.profiles() {
        let _ = writeln!(
            out,
            "  {} to send, {} unchanged, {} rejected; {requests}",
            count(body.upserts.len() as u64, "profile"),
            plan.unchanged(),
            plan.rejected.len(),
        );
        return out;
    }
    let _ = writeln!(
        out,
        "  {creates} to create, {} to update, {} unchanged, {} rejected; {requests}",
        plan.changes().len() - creates,
        plan.unchanged(),
        plan.rejected.len(),
    );
    out
}

/// An ODP plan's block: the field, the counts, a sample of the profiles sent.
fn profiles_block(out: &mut String, body: &optisync_core::ProfilePlan) {
    let target = format!(
        "ODP customer field {:?} (users by {})",
        body.field, body.identifier
    );
    if body.upserts.is_empty() {
        let _ = writeln!(out, "    {target}: unchanged");
    } else {
        let _ = writeln!(
            out,
            "  ~ {target}: {} joining, {} changing, {} cleared",
            body.joiners, body.changed, body.leavers
        );
    }
    for sample in &body.samples {
        let line = match (&sample.before, &sample.after) {
            (_, optisync_core::ProfileValue::Cleared) => format!("- {}: cleared", sample.id),
            (Some(before), after) if *before != optisync_core::ProfileValue::Cleared => {
                format!("~ {}: {before} → {after}", sample.id)
            }
            (_, after) => format!("+ {}: {after}", sample.id),
        };
        let _ = writeln!(out, "      {line}");
    }
    let shown = body.samples.len();
    if body.upserts.len() > shown {
        let _ = writeln!(
            out,
            "      … and {} more profiles",
            thousands((body.upserts.len() - shown) as u64)
        );
    }
    if let Some(before) = body.set_before {
        let _ = writeln!(
            out,
            "      {} held a value from this sync before the run",
            count(before, "user")
        );
    }
    if body.duplicates > 0 {
        let _ = writeln!(out, "      {} duplicate ids counted once", body.duplicates);
    }
}

/// "N requests, about T at the rate limit of …".
pub fn requests_line(requests: u64, limit: RateLimit) -> String {
    if requests == 0 {
        return "no requests: nothing to change".to_owned();
    }
    format!(
        "{requests} write request{}, about {} at {}",
        if requests == 1 { "" } else { "s" },
        human(estimate(requests, limit)),
        describe(limit)
    )
}

/// The time `requests` take under `limit` (after the reads, which are few).
pub fn estimate(requests: u64, limit: RateLimit) -> Duration {
    let n = requests.saturating_sub(1) as f64;
    let by_second = limit.per_second.map_or(0.0, |s| n / f64::from(s));
    let by_minute = limit
        .per_minute
        .map_or(0.0, |m| (requests / u64::from(m)) as f64 * 60.0);
    Duration::from_secs_f64(by_second.max(by_minute))
}

fn describe(limit: RateLimit) -> String {
    match (limit.per_second, limit.per_minute) {
        (Some(s), Some(m)) => format!("{s}/s and {m}/min"),
        (Some(s), None) => format!("{s}/s"),
        (None, Some(m)) => format!("{m}/min"),
        (None, None) => "no rate limit".to_owned(),
    }
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 1 {
        "1s".to_owned()
    } else if secs < 120 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

fn member_line(out: &mut String, sign: char, what: &str, ids: &Ids) {
    if ids.is_empty() {
        return;
    }
    let sample = ids.iter().take(SAMPLE).collect::<Vec<_>>().join(", ");
    let more = ids.len().saturating_sub(SAMPLE);
    let tail = if more > 0 {
        format!(" … ({more} more)")
    } else {
        String::new()
    };
    let _ = writeln!(out, "      {sign} {} {what}: {sample}{tail}", ids.len());
}

fn identity(fields: &Fields, primary_key: &str) -> String {
    let id = fields
        .text(Field::Key)
        .or_else(|| fields.text(Field::Name))
        .unwrap_or(primary_key);
    if id == primary_key {
        format!("{id:?}")
    } else {
        format!("{id:?} (row {primary_key})")
    }
}

fn show(value: &FieldValue) -> String {
    match value {
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Text(s) => format!("{s:?}"),
        FieldValue::Conditions(c) => c.as_json().to_string(),
    }
}

/// `n` and the noun, singular for one: `1 row`, `2 rows`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `n` with a comma between each group of three digits: `1,999,800`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_knows_the_per_minute_quota() {
        let web = RateLimit {
            per_second: None,
            per_minute: Some(100),
        };
        assert_eq!(estimate(1, web), Duration::ZERO);
        assert_eq!(estimate(250, web), Duration::from_secs(120));
        let fx = RateLimit {
            per_second: Some(2),
            per_minute: Some(120),
        };
        assert_eq!(estimate(11, fx), Duration::from_secs(5));
        assert!(requests_line(3, fx).contains("3 write requests"));
    }

    fn plan_of(creates: usize, updates: usize) -> SyncPlan {
        let mut plan: SyncPlan = serde_json::from_value(serde_json::json!({
            "sync": "s", "object": "attribute", "mode": "upsert", "rows_read": creates + updates,
            "body": {"type": "definitions", "unchanged": 0, "changes": [], "skipped": [],
                "record_only": []},
            "rejected": [], "warnings": [], "guardrails": [], "refusal": null
        }))
        .unwrap();
        let optisync_core::PlanBody::Definitions(body) = &mut plan.body else {
            unreachable!("an attribute plan has a definitions body");
        };
        for n in 0..creates {
            let key = format!("c{n:07}");
            body.changes.push(
                serde_json::from_value(serde_json::json!({
                    "action": "create", "primary_key": key, "fields": {"key": key},
                    "hash": "0000000000000001"
                }))
                .unwrap(),
            );
        }
        for n in 0..updates {
            let key = format!("u{n:07}");
            body.changes.push(
                serde_json::from_value(serde_json::json!({
                    "action": "update", "primary_key": key, "remote_id": n, "unarchive": false,
                    "changed": [{"field": "description", "before": "a", "after": "b"}],
                    "fields": {"key": key}, "hash": "0000000000000001"
                }))
                .unwrap(),
            );
        }
        plan
    }

    #[test]
    fn sections_past_the_limit_are_summarised() {
        let limit = RateLimit {
            per_second: None,
            per_minute: None,
        };
        let text = render(&plan_of(SECTION_LIMIT + 1_234, 3), limit);
        let shown = text
            .lines()
            .filter(|l| l.starts_with("  + attribute"))
            .count();
        assert_eq!(shown, SECTION_LIMIT);
        assert!(
            text.contains(
                "  … and 1,234 more creates (use --output json or plan --out to see all)"
            ),
            "{text}"
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("  ~ attribute"))
                .count(),
            3
        );
        assert!(!text.contains("more updates"), "{text}");
        // The summary line still counts everything.
        assert!(
            text.contains(&format!("{} to create, 3 to update", SECTION_LIMIT + 1_234)),
            "{text}"
        );

        let small = render(&plan_of(SECTION_LIMIT, 0), limit);
        assert!(!small.contains("more creates"), "{small}");
    }
}
