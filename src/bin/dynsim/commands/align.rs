//! `dynsim align A.npy B.npy [score options]` (spec/cli.md §3.2): two operators given directly.

use std::path::Path;

use dynsim::alignment::{align, spectral_distance_operators};
use dynsim::dsa::with_threads;
use serde_json::json;

use crate::options::ScoreArgs;
use crate::{json, Failure};

/// Aligns two square matrices and prints the scores, the certificate and C.
pub fn run(a_path: &Path, b_path: &Path, score: &ScoreArgs) -> Result<(), Failure> {
    let options = score.options()?;
    let a = dynsim::io::npy::read_matrix(a_path)?;
    let b = dynsim::io::npy::read_matrix(b_path)?;
    // Name the files in errors about "operator A" / "operator B".
    let name = |e: dynsim::Error| Failure {
        code: 1,
        message: e
            .to_string()
            .replace("operator A", &format!("{} (operator A)", a_path.display()))
            .replace("operator B", &format!("{} (operator B)", b_path.display())),
    };
    let (al, distance) = with_threads(score.threads, || -> Result<_, Failure> {
        // PAVF is always run (its keys are always reported); padding to the larger size is done by
        // `align` (spec/alignment.md §1).
        let al = align(a.as_ref(), b.as_ref(), &options.pavf).map_err(name)?;
        let distance = match options.score.spectral() {
            Some(s) => spectral_distance_operators(a.as_ref(), b.as_ref(), s, options.unequal)
                .map_err(name)?,
            None if options.score == dynsim::dsa::Score::Euclidean => al.euclidean,
            None => al.angular,
        };
        Ok((al, distance))
    })??;
    let lower_bound = match options.score {
        dynsim::dsa::Score::Angular => al.certificate.angular_lower_bound,
        dynsim::dsa::Score::Euclidean => al.certificate.euclidean_lower_bound,
        // The spectral scores are solved exactly: the value is its own lower bound.
        _ => distance,
    };
    let mut v = json!({
        "a": a_path.display().to_string(),
        "b": b_path.display().to_string(),
        "score": options.score.name(),
        "distance": json::num(distance),
        "lower_bound": json::num(lower_bound),
        "options": json::score_options(&options),
    });
    merge_into(&mut v, json::alignment(&al));
    json::print(&v)
}

/// Adds the keys of `extra` (an object) to `v` (an object).
pub fn merge_into(v: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
}
