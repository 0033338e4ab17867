//! JSON views of library results (spec/cli.md §4). Floats are written in the shortest form that reads
//! back to the same f64; non-finite floats (which JSON cannot hold) become `null`.

use crate::Failure;
use dynsim::alignment::{Alignment, PavfCertificate, PavfOptions};
use dynsim::dsa::ScoreOptions;
use dynsim::faer::MatRef;
use serde_json::{json, Value};

/// A float, or `null` if it is not finite.
pub fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// A matrix as a list of rows.
pub fn rows(a: MatRef<'_, f64>) -> Value {
    Value::Array(
        (0..a.nrows())
            .map(|i| Value::Array((0..a.ncols()).map(|j| num(a[(i, j)])).collect()))
            .collect(),
    )
}

/// `CamelCase(..)` Debug names as `snake_case` (e.g. `LowerBoundMet` → `lower_bound_met`,
/// `Random(3)` → `random_3`).
pub fn snake(debug: &str) -> String {
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch.is_ascii_alphanumeric() {
            out.push(ch);
        } else if ch == '(' {
            out.push('_');
        }
    }
    out
}

/// The PAVF certificate (spec/alignment.md §8).
pub fn certificate(c: &PavfCertificate) -> Value {
    json!({
        "method": snake(&format!("{:?}", c.method)),
        "euclidean_lower_bound": num(c.euclidean_lower_bound),
        "angular_lower_bound": num(c.angular_lower_bound),
        "iterations": c.iterations,
        "total_iterations": c.total_iterations,
        "hessian_products": c.hessian_products,
        "grad_norm": num(c.gradient_norm),
        "converged": c.converged,
        "starts_tried": c.starts_tried,
        "starts_at_best": c.starts_at_best,
        "best_start": snake(&format!("{:?}", c.best_start)),
        "stop": snake(&format!("{:?}", c.stop)),
        "size": c.size,
    })
}

/// An alignment: scores, bounds, certificate and C.
pub fn alignment(al: &Alignment) -> Value {
    json!({
        "angular": num(al.angular),
        "euclidean": num(al.euclidean),
        "angular_lower_bound": num(al.certificate.angular_lower_bound),
        "euclidean_lower_bound": num(al.certificate.euclidean_lower_bound),
        "grad_norm": num(al.certificate.gradient_norm),
        "certificate": certificate(&al.certificate),
        "c": rows(al.c.as_ref()),
    })
}

/// The PAVF options.
pub fn pavf_options(p: &PavfOptions) -> Value {
    json!({
        "normalize": p.normalize,
        "seed": p.seed,
        "restarts": p.restarts,
        "agreement": p.agreement,
        "gradient_tolerance": num(p.gradient_tolerance),
        "max_iterations": p.max_iterations,
    })
}

/// The score options.
pub fn score_options(o: &ScoreOptions) -> Value {
    json!({
        "score": o.score.name(),
        "pavf": pavf_options(&o.pavf),
        "unequal": snake(&format!("{:?}", o.unequal)),
    })
}

/// Writes a JSON value to stdout (pretty, one trailing newline).
pub fn print(v: &Value) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    text.push('\n');
    emit(&text)
}

/// Writes `text` to stdout. A reader that closed the pipe early (`dynsim fit X | head`) ends the
/// output quietly, like other command-line tools; any other write error is an error (exit code 1).
pub fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            code: 1,
            message: format!("cannot write to standard output: {e}"),
        }),
    }
}
