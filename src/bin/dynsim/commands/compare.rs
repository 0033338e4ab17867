//! `dynsim compare X Y [fit options] [score options]` (spec/cli.md §3.3).

use std::path::Path;

use dynsim::dsa::{compare, with_threads};
use serde_json::json;

use crate::options::{FitArgs, ScoreArgs};
use crate::{json, systems, Failure};

/// Fits (or loads) both systems and prints their distance with its certificate.
pub fn run(x: &Path, y: &Path, fit: &FitArgs, score: &ScoreArgs) -> Result<(), Failure> {
    let params = fit.params()?;
    let options = score.options()?;
    let (ox, oy, s) = with_threads(score.threads, || -> Result<_, Failure> {
        let ox = systems::load_one(x, &params, fit.budget())?;
        let oy = systems::load_one(y, &params, fit.budget())?;
        // Name the systems in errors about "operator A" / "operator B" (e.g. a zero operator).
        let s = compare(&ox.operator, &oy.operator, &options).map_err(|e| Failure {
            code: 1,
            message: e
                .to_string()
                .replace("operator A", &format!("{} (operator A)", ox.name))
                .replace("operator B", &format!("{} (operator B)", oy.name)),
        })?;
        Ok((ox, oy, s))
    })??;
    let mut v = json!({
        "x": ox.name,
        "y": oy.name,
        "score": options.score.name(),
        "distance": json::num(s.value),
        "rank_x": ox.operator.rank(),
        "rank_y": oy.operator.rank(),
        "r2_x": json::num(ox.operator.r2()),
        "r2_y": json::num(oy.operator.r2()),
        "options": json::score_options(&options),
    });
    match &s.alignment {
        Some(al) => {
            let lb = if options.score == dynsim::dsa::Score::Euclidean {
                al.certificate.euclidean_lower_bound
            } else {
                al.certificate.angular_lower_bound
            };
            crate::commands::align::merge_into(&mut v, json!({ "lower_bound": json::num(lb) }));
            crate::commands::align::merge_into(&mut v, json::alignment(al));
        }
        None => crate::commands::align::merge_into(
            &mut v,
            json!({ "lower_bound": json::num(s.value), "certificate": null }),
        ),
    }
    json::print(&v)
}
